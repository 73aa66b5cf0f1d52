import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Recorded real outputs (docker-machine 0.16.2 runs, VirtualBox 7.2), vendored from ../shared/fixtures. */
export const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');

export function fixture(rel: string): string {
  return readFileSync(path.join(FIXTURES, rel), 'utf8');
}

/** A docker-machine CLI run: its output without the trailing "rc=N" line, and N. */
export function cliRun(name: string): { output: string; rc: number } {
  const text = fixture(`docker-machine/cli-runs/${name}.txt`);
  const m = /rc=(\d+)\n?$/.exec(text);
  return { output: m ? text.slice(0, m.index) : text, rc: m ? Number(m[1]) : 0 };
}
