import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

export async function timeAsync<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
}

/** Median wall time of a command over `runs` runs (after one warm-up). */
export async function timeCommand(cmd: string, args: string[], runs: number, env: NodeJS.ProcessEnv = {}): Promise<number> {
  const opts = { env: { ...process.env, ...env } };
  await run(cmd, args, opts);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push((await timeAsync(() => run(cmd, args, opts))).ms);
  return median(times);
}

/** Results of every section, printed as a table and as JSON. */
export type Results = Record<string, Record<string, number | string>>;

export function printTable(results: Results): void {
  const rows: [string, string, string][] = [];
  for (const [section, values] of Object.entries(results)) {
    for (const [key, value] of Object.entries(values)) {
      const shown =
        typeof value === 'number'
          ? key.endsWith('_ms')
            ? `${value.toFixed(value < 10 ? 1 : 0)} ms`
            : String(Math.round(value * 100) / 100)
          : value;
      rows.push([section, key, shown]);
    }
  }
  const w = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i]!.length), ['section', 'measure', 'value'][i]!.length));
  const line = (r: string[]) => r.map((c, i) => (i === 2 ? c.padStart(w[i]!) : c.padEnd(w[i]!))).join('  ');
  console.log(line(['section', 'measure', 'value']));
  console.log(w.map((n) => '-'.repeat(n)).join('  '));
  for (const r of rows) console.log(line(r));
}
