/** A value as one POSIX shell word: single-quoted, a quote inside written as '\''. */
export function shQuote(s: string): string {
  return `'${shQuoteBody(s)}'`;
}

/** What goes between single quotes for s to come out literal (for a quoted text built in parts). */
export function shQuoteBody(s: string): string {
  return s.replace(/'/g, `'\\''`);
}
