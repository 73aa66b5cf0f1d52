import { existsSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { ROOT } from './cli.js';

/** A program on PATH, or undefined. */
export function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const file = path.join(dir, name);
    if (dir && existsSync(file)) return file;
  }
  return undefined;
}

/**
 * nushell: $NU, `nu` on PATH, or the binary the npm package "nushell" installs (its
 * @nushell/<platform> dependency). Undefined when none is there.
 */
export function findNu(): string | undefined {
  if (process.env.NU && existsSync(process.env.NU)) return process.env.NU;
  const fromPath = onPath('nu');
  if (fromPath) return fromPath;
  for (const candidate of [
    path.join(ROOT, 'node_modules', '.bin', 'nu'),
    path.join(ROOT, 'node_modules', '@nushell', `${process.platform}-${process.arch}`, 'bin', 'nu'),
  ]) {
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

/** NUL-separated `env -0` output as an object. */
export function parseEnv0(text: string): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const entry of text.split('\0')) {
    const eq = entry.indexOf('=');
    if (eq > 0) vars[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return vars;
}

/** A clean environment for a shell under test: no rc files, a known PATH. */
export function shellEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', LANG: 'C.UTF-8', ...extra };
}

export interface ShellRun {
  name: string;
  /** Program to run, or undefined when this machine does not have it. */
  bin: string | undefined;
  /** Arguments that evaluate the script in `file` the way the usage hint says, then print `env -0`. */
  args: (file: string, unset?: boolean) => string[];
}

/** The real shells of this machine and how each loads `machine env` output, as its hint line says. */
export function shellRuns(): Record<'bash' | 'zsh' | 'fish' | 'tcsh' | 'nushell', ShellRun> {
  return {
    bash: { name: 'bash', bin: onPath('bash'), args: (f) => ['--norc', '--noprofile', '-c', `eval $(cat '${f}'); env -0`] },
    zsh: { name: 'zsh', bin: onPath('zsh'), args: (f) => ['-f', '-c', `eval $(cat '${f}'); env -0`] },
    fish: { name: 'fish', bin: onPath('fish'), args: (f) => ['--no-config', '-c', `eval (cat '${f}'); env -0`] },
    tcsh: { name: 'tcsh', bin: onPath('tcsh'), args: (f) => ['-f', '-c', `eval \`cat '${f}'\`; env -0`] },
    nushell: {
      name: 'nu',
      bin: findNu(),
      args: (f, unset) => [
        '--no-config-file',
        '-c',
        `open --raw '${f}' | from nuon | ${unset ? 'hide-env --ignore-errors ...$in' : 'load-env'}; ^env -0`,
      ],
    },
  };
}

export async function runShell(
  bin: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ vars: Record<string, string>; stderr: string; exitCode: number }> {
  const res = await execa(bin, args, { env: shellEnv(env), extendEnv: false, reject: false, stdin: 'ignore', timeout: 20_000 });
  return { vars: parseEnv0(String(res.stdout)), stderr: String(res.stderr), exitCode: res.exitCode ?? -1 };
}
