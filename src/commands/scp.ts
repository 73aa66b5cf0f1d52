import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { SFTPWrapper } from 'ssh2';
import { MachineError } from '../core/errors.js';
import { Host } from '../host/host.js';
import { SshSession } from '../ssh/client.js';
import type { Store } from '../store/store.js';
import { notRunning } from './info.js';

/** One side of a copy: a local path, or [user@]machine:path. */
interface Endpoint {
  machine?: string;
  user?: string;
  path: string;
}

/** docker-machine's rule: "name:path" is remote unless name is localhost; no colon is local. */
export function parseEndpoint(arg: string): Endpoint {
  const m = /^(?:([^@:/\\]+)@)?([a-zA-Z0-9][a-zA-Z0-9.-]*):(.*)$/.exec(arg);
  if (!m || m[2] === 'localhost' || (process.platform === 'win32' && /^[a-zA-Z]$/.test(m[2]!))) {
    return { path: m && m[2] === 'localhost' ? m[3]! : arg };
  }
  return { machine: m[2], user: m[1], path: m[3] || '.' };
}

interface Side {
  ep: Endpoint;
  sftp?: SFTPWrapper;
  session?: SshSession;
}

/**
 * `machine scp [-r] SRC DST` over SFTP on the machine's SSH connection: local↔machine, and
 * machine↔machine through this host. No scp or rsync binary needed on either side.
 */
export async function scp(store: Store, src: string, dst: string, opts: { recursive?: boolean; delta?: boolean }): Promise<void> {
  if (opts.delta) throw new MachineError('--delta (rsync) is not supported', { fix: 'copy without -d; scp transfers over SFTP' });
  const sides: Side[] = [{ ep: parseEndpoint(src) }, { ep: parseEndpoint(dst) }];
  try {
    for (const side of sides) {
      if (!side.ep.machine) continue;
      const host = await Host.load(store, side.ep.machine);
      if ((await host.driver.state()) !== 'Running') throw notRunning(side.ep.machine);
      const target = await host.sshTarget();
      if (side.ep.user) target.user = side.ep.user;
      side.session = await SshSession.connect(target);
      side.sftp = await side.session.sftp();
    }
    const [from, to] = sides as [Side, Side];
    if (from.sftp && to.sftp) {
      // machine → machine: through a local temporary directory.
      const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'machine-scp-'));
      try {
        const local = path.join(tmp, path.posix.basename(from.ep.path) || 'data');
        await copy(from, { ep: { path: local } }, opts.recursive);
        await copy({ ep: { path: local } }, to, opts.recursive);
      } finally {
        await fs.rm(tmp, { recursive: true, force: true });
      }
    } else await copy(from, to, opts.recursive);
  } finally {
    for (const side of sides) side.session?.close();
  }
}

interface Stat {
  isDir: boolean;
  mode: number;
}

async function statOf(side: Side, p: string): Promise<Stat | undefined> {
  try {
    if (side.sftp) {
      const st = await promisify<import('ssh2').Stats>((cb) => side.sftp!.stat(p, cb));
      return { isDir: st.isDirectory(), mode: st.mode & 0o7777 };
    }
    const st = await fs.stat(p);
    return { isDir: st.isDirectory(), mode: st.mode & 0o7777 };
  } catch {
    return undefined;
  }
}

function promisify<T>(fn: (cb: (err: Error | null | undefined, v: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v))));
}

const join = (side: Side, a: string, b: string) => (side.sftp ? path.posix.join(a, b) : path.join(a, b));
const base = (side: Side, p: string) => (side.sftp ? path.posix.basename(p) : path.basename(p));

async function copy(from: Side, to: Side, recursive?: boolean): Promise<void> {
  const src = await statOf(from, from.ep.path);
  if (!src) throw new MachineError(`${describe(from)}: No such file or directory`);
  if (src.isDir && !recursive) throw new MachineError(`${describe(from)}: is a directory`, { fix: 'use -r to copy directories' });
  let dest = to.ep.path;
  const destStat = await statOf(to, dest);
  if (destStat?.isDir) dest = join(to, dest, base(from, from.ep.path));
  await copyTree(from, from.ep.path, to, dest, src);
}

async function copyTree(from: Side, src: string, to: Side, dest: string, st: Stat): Promise<void> {
  if (!st.isDir) return copyFile(from, src, to, dest, st.mode);
  if (to.sftp)
    await promisify<void>((cb) =>
      to.sftp!.mkdir(dest, { mode: st.mode }, (err) => cb(err && (err as { code?: number }).code !== 4 ? err : null, undefined)),
    );
  else await fs.mkdir(dest, { recursive: true, mode: st.mode });
  const names = from.sftp
    ? (await promisify<import('ssh2').FileEntry[]>((cb) => from.sftp!.readdir(src, cb))).map((e) => e.filename)
    : await fs.readdir(src);
  for (const name of names) {
    const child = join(from, src, name);
    const childStat = await statOf(from, child);
    if (childStat) await copyTree(from, child, to, join(to, dest, name), childStat);
  }
}

async function copyFile(from: Side, src: string, to: Side, dest: string, mode: number): Promise<void> {
  if (from.sftp) await promisify<void>((cb) => from.sftp!.fastGet(src, dest, (err) => cb(err, undefined)));
  else await promisify<void>((cb) => to.sftp!.fastPut(src, dest, { mode }, (err) => cb(err, undefined)));
  if (!to.sftp) await fs.chmod(dest, mode);
}

function describe(side: Side): string {
  return side.ep.machine ? `${side.ep.machine}:${side.ep.path}` : side.ep.path;
}
