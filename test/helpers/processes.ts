import { promises as fs } from 'node:fs';

/** Pids of processes whose command line mentions `needle` (e.g. a store path): orphan checks. */
export async function processesMentioning(needle: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await fs.readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const cmdline = await fs.readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes(needle)) pids.push(Number(entry));
  }
  return pids;
}

/** Parse `machine env` (bash syntax) output into variables. */
export function parseExports(text: string): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const m of text.matchAll(/^export (\w+)="(.*)"$/gm)) vars[m[1]!] = m[2]!;
  return vars;
}
