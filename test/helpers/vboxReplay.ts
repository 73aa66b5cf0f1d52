import { readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Exec, ExecResult, System } from '../../src/core/system.js';
import { FIXTURES, fixture } from './fixtures.js';
import { RECORDED } from './vboxRecorded.js';

/**
 * Replaying recorded VirtualBox outputs through the driver's injectable exec: what cannot run here for
 * real (host-only adapters without /dev/vboxnetctl, Windows, macOS) runs against what VirtualBox really
 * printed. Every call must match a route; an unexpected call fails the test.
 */

export const VBOX_FIXTURES = path.join(FIXTURES, 'virtualbox-7.2');

/** A recorded call from test/fixtures/virtualbox-7.2: <name>.stdout, .stderr, .rc. */
export function recorded(name: string): ExecResult {
  if (name in RECORDED) {
    const r = RECORDED[name]!;
    return { stdout: r.stdout, stderr: r.stderr, exitCode: r.rc };
  }
  const read = (ext: string) => fixture(`virtualbox-7.2/${name}.${ext}`);
  return { stdout: read('stdout'), stderr: read('stderr'), exitCode: Number(read('rc').trim()) };
}

/** Names of every recorded VirtualBox 7.2 call (the fixture directory's .rc files). */
export function recordedNames(): string[] {
  return readdirSync(VBOX_FIXTURES)
    .filter((f) => f.endsWith('.rc'))
    .map((f) => f.slice(0, -3))
    .sort();
}

/** A reply from literal text (the VirtualBox 5/6 formats docker-machine's tests quote). */
export function text(stdout: string, stderr = '', exitCode = 0): ExecResult {
  return { stdout, stderr, exitCode };
}

type Reply = ExecResult | ((args: string[], n: number) => ExecResult);

export class Replay {
  readonly calls: string[][] = [];
  private readonly routes: { match: RegExp; reply: Reply; count: number }[] = [];

  /** Reply to calls whose "program args..." line matches (the program's base name, then the args). */
  on(match: RegExp | string, reply: Reply): this {
    const re = typeof match === 'string' ? new RegExp(`^${match.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`) : match;
    this.routes.unshift({ match: re, reply, count: 0 });
    return this;
  }

  /** The argv lines of the calls so far (program base name first). */
  get lines(): string[] {
    return this.calls.map((c) => c.join(' '));
  }

  readonly exec: Exec = async (file, args) => {
    const argv = [path.win32.basename(file).replace(/\.exe$/i, ''), ...args];
    this.calls.push(argv);
    const line = argv.join(' ');
    const route = this.routes.find((r) => r.match.test(line));
    if (!route) throw new Error(`unexpected call: ${line}`);
    route.count++;
    return typeof route.reply === 'function' ? route.reply(args, route.count) : route.reply;
  };
}

/** A HostEnv for a given platform: files and programs exist only where the test says. */
export function fakeHost(
  platform: NodeJS.Platform,
  opts: {
    exec: Exec;
    env?: NodeJS.ProcessEnv;
    files?: Record<string, string>;
    arch?: string;
    interfaces?: NodeJS.Dict<os.NetworkInterfaceInfo[]>;
  },
): System {
  const files = opts.files ?? {};
  return {
    platform,
    arch: opts.arch ?? 'x64',
    env: opts.env ?? {},
    exec: opts.exec,
    readFile: async (f) => files[f],
    isFile: async (f) => f in files,
    cpus: 4,
    homedir: platform === 'win32' ? 'C:\\Users\\alice' : '/home/alice',
    networkInterfaces: () => opts.interfaces ?? {},
  };
}
