/**
 * Go's text/tabwriter as docker-machine configures it for `ls` (minwidth 5, tabwidth 1, padding 3,
 * pad ' ', no flags): tab-terminated cells are padded to their column's widest cell plus 3, at
 * least 5; the text after a line's last tab is not a cell and is printed as is.
 */
export function tabwrite(lines: string[], minwidth = 5, padding = 3): string {
  const rows = lines.map((l) => l.split('\t'));
  const widths: number[] = [];
  for (const row of rows) {
    for (let i = 0; i < row.length - 1; i++) widths[i] = Math.max(widths[i] ?? 0, [...row[i]!].length);
  }
  return rows
    .map((row) => row.map((cell, i) => (i < row.length - 1 ? cell.padEnd(Math.max(minwidth, widths[i]! + padding)) : cell)).join(''))
    .map((l) => `${l}\n`)
    .join('');
}
