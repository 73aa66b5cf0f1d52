import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * What machine asks of the computer it runs on: the platform, the environment, how programs run,
 * what files say, PATH. Injectable (HostEnv), so that the Windows and macOS logic of the drivers
 * and doctor runs, and is tested, on Linux.
 */

export interface ExecResult {
  stdout: string;
  stderr: string;
  exitCode: number;
  /** Set when the program could not be run at all (ENOENT, EACCES). */
  spawnError?: string;
  timedOut?: boolean;
}

export interface ExecOptions {
  input?: string | Buffer;
  timeoutMs?: number;
  cwd?: string;
}

export type Exec = (file: string, args: string[], opts?: ExecOptions) => Promise<ExecResult>;

export interface System {
  platform: NodeJS.Platform;
  arch: string;
  env: NodeJS.ProcessEnv;
  exec: Exec;
  /** undefined when the file does not exist or cannot be read. */
  readFile(file: string): Promise<string | undefined>;
  isFile(file: string): Promise<boolean>;
  cpus: number;
  homedir: string;
  /** Host interfaces (for the host-only CIDR collision check). */
  networkInterfaces(): NodeJS.Dict<os.NetworkInterfaceInfo[]>;
}

/**
 * Run a program to its end; never throws (a failure to start is spawnError). node's own spawn, not
 * execa: process lookups run on the way to every lock, and loading execa costs more than they do.
 */
export const exec: Exec = (file, args, opts = {}) =>
  new Promise((resolve) => {
    const child = spawn(file, args, {
      cwd: opts.cwd,
      // Messages we parse are English; VBoxManage translates them otherwise (and ps its dates).
      env: { ...process.env, LC_ALL: 'C', LANG: 'C' },
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      windowsHide: true,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (d: Buffer) => out.push(d));
    child.stderr!.on('data', (d: Buffer) => err.push(d));
    let timedOut = false;
    const timer =
      opts.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            child.kill('SIGTERM');
            setTimeout(() => child.kill('SIGKILL'), 5000).unref();
          }, opts.timeoutMs);
    let settled = false;
    const settle = (r: ExecResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(r);
    };
    child.once('error', (e: NodeJS.ErrnoException) => settle({ stdout: '', stderr: '', exitCode: 127, spawnError: e.code ?? e.message }));
    child.once('close', (code, signal) => {
      const stderr = Buffer.concat(err).toString();
      if (code === null && !timedOut) return settle({ stdout: '', stderr, exitCode: 127, spawnError: `killed by ${signal}` });
      settle({ stdout: Buffer.concat(out).toString(), stderr, exitCode: code ?? 1, timedOut });
    });
    if (opts.input !== undefined) {
      child.stdin!.on('error', () => undefined); // it exited without reading all of it: its exit code tells
      child.stdin!.end(opts.input);
    }
  });

export function realSystem(): System {
  return {
    platform: process.platform,
    arch: process.arch,
    env: process.env,
    exec,
    readFile: (file) => fs.readFile(file, 'utf8').catch(() => undefined),
    isFile: (file) =>
      fs.stat(file).then(
        (s) => s.isFile(),
        () => false,
      ),
    cpus: os.cpus().length,
    homedir: os.homedir(),
    networkInterfaces: () => os.networkInterfaces(),
  };
}

/** The directories of PATH (Windows: Path, ";"-separated, quotes around a directory dropped). */
export function pathDirs(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string[] {
  const pathVar = env.PATH ?? env.Path ?? '';
  return pathVar
    .split(platform === 'win32' ? ';' : ':')
    .filter(Boolean)
    .map((d) => d.replace(/^"(.*)"$/, '$1'));
}

/** The first of `names` found in a directory of PATH. */
export async function which(host: System, names: string[]): Promise<string | undefined> {
  const p = host.platform === 'win32' ? path.win32 : path.posix;
  for (const dir of pathDirs(host.env, host.platform)) {
    for (const name of names) {
      const file = p.join(dir, name);
      if (await host.isFile(file)) return file;
    }
  }
  return undefined;
}

/** A program on PATH, with Windows' .exe. */
export function findProgram(host: System, name: string): Promise<string | undefined> {
  return which(host, host.platform === 'win32' ? [`${name}.exe`, name] : [name]);
}
