/** Values users type for sizes, counts and timeouts; each parser throws an Error saying what is wrong. */

/** A size in MB: "2048", "2048M", "2G", "1.5g", "512MB". */
export function parseSizeMB(value: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*$/i.exec(value);
  if (!m) throw new Error(`"${value}" is not a size: use MB (2048) or a unit (2G, 512M)`);
  const n = Number(m[1]);
  const unit = (m[2] || 'm').toLowerCase();
  const mb = unit === 'k' ? n / 1024 : unit === 'g' ? n * 1024 : unit === 't' ? n * 1024 * 1024 : n;
  if (mb < 1 || !Number.isFinite(mb)) throw new Error(`"${value}" is too small`);
  return Math.round(mb);
}

/** A timeout: a whole number of seconds, at least 1. */
export function parseSeconds(value: string): number {
  const n = parseInteger(value);
  if (n < 1) throw new Error(`"${value}" is not a timeout: give a number of seconds, at least 1`);
  return n;
}

export function parseInteger(value: string): number {
  if (!/^-?\d+$/.test(value.trim())) throw new Error(`"${value}" is not a whole number`);
  return Number(value);
}

/** A byte count for people: "512 B", "4.9 MiB", "1.25 GiB" (three significant digits). */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let n = bytes;
  let i = 0;
  while (Math.abs(n) >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  if (i === 0) return `${n} B`;
  return `${Math.abs(n) >= 100 ? n.toFixed(0) : Math.abs(n) >= 10 ? n.toFixed(1) : n.toFixed(2)} ${units[i]}`;
}
