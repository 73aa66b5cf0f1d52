import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ssh2, { type FileEntryWithStats, type SFTPWrapper, type Stats } from 'ssh2';
import { MachineError } from '../core/errors.js';
import { tempSibling } from '../core/files.js';
import { Machine } from '../machine/machine.js';
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

interface Options {
  recursive?: boolean;
  delta?: boolean;
  quiet?: boolean;
}

/**
 * `machine scp [-r] SRC DST` over SFTP on the machine's SSH connection: local↔machine, and
 * machine↔machine through this host. No scp or rsync binary needed on either side.
 *
 * The machine is not trusted: the names it lists must be plain names (see safeName), nothing
 * here is written through a symbolic link below the destination, and no copy keeps a setuid,
 * setgid or sticky bit.
 */
export async function scp(store: Store, src: string, dst: string, opts: Options, warning: (line: string) => void): Promise<void> {
  if (opts.delta) throw new MachineError('--delta (rsync) is not supported', { fix: 'copy without -d; scp transfers over SFTP' });
  const [from, to] = [parseEndpoint(src), parseEndpoint(dst)];
  if (!from.machine && !to.machine) {
    throw new MachineError(`Both "${src}" and "${dst}" are local paths`, {
      fix: 'one side must be MACHINE:PATH (use cp to copy on this computer)',
    });
  }
  const sessions: SshSession[] = [];
  const open = async (ep: Endpoint): Promise<Place> => {
    if (!ep.machine) return local;
    const machine = await Machine.loadRunning(store, ep.machine, notRunning(ep.machine));
    const target = await machine.sshTarget();
    if (ep.user) target.user = ep.user;
    const session = await SshSession.connect(target);
    sessions.push(session);
    return new MachinePlace(ep.machine, await session.sftp());
  };
  const warn = opts.quiet ? () => undefined : warning;
  try {
    const [a, b] = [await open(from), await open(to)];
    if (a === local || b === local) return await copy(a, from.path, b, to.path, opts, warn);
    // machine → machine: through a private (0700) local temporary directory.
    const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'machine-scp-'));
    try {
      const copied = path.join(tmp, 'copy');
      await copy(a, from.path, local, copied, opts, warn);
      await copy(local, copied, b, to.path, opts, warn, a.basename(from.path));
    } finally {
      await fs.rm(tmp, { recursive: true, force: true });
    }
  } finally {
    for (const session of sessions) session.close();
  }
}

/** What a copy needs to know of a file: its kind and the permission bits the copy gets. */
interface Entry {
  kind: 'dir' | 'file' | 'other';
  mode: number;
}

/** Permission bits only: a copy never carries setuid, setgid or sticky (a machine could plant a setuid-root file here). */
function entryOf(st: { mode: number; isDirectory(): boolean; isFile(): boolean }): Entry {
  return { kind: st.isDirectory() ? 'dir' : st.isFile() ? 'file' : 'other', mode: st.mode & 0o777 };
}

/** A side of the copy: this computer or a machine. Every path is in that side's own syntax. */
interface Place {
  describe(p: string): string;
  join(dir: string, name: string): string;
  basename(p: string): string;
  /** Following symbolic links; undefined when nothing is there. */
  stat(p: string): Promise<Entry | undefined>;
  /** A directory's entries, symbolic links followed. */
  list(dir: string): Promise<(Entry & { name: string })[]>;
  /** Make a directory for the copy, private until chmod; false when a directory is there already. */
  mkdir(p: string): Promise<boolean>;
  chmod(p: string, mode: number): Promise<void>;
}

const isMissing = (err: unknown) => (err as NodeJS.ErrnoException).code === 'ENOENT';
const inTheWay = (p: string, what: string) => new MachineError(`${p} ${what}`, { fix: 'remove it or copy to another destination' });
const noParent = (p: string) => new MachineError(`${path.dirname(p)}: No such file or directory`);
const throughLink = (p: string) =>
  new MachineError(`Refusing to write through the symbolic link ${p}`, { fix: 'remove it or copy to another destination' });

/**
 * This computer. The destination the user typed is taken as typed (a link in it is the user's
 * choice); everything made below it is made without following a link, so a listing cannot steer
 * a write out of the destination through one that is already there.
 */
class LocalPlace implements Place {
  describe = (p: string) => p;
  join = (dir: string, name: string) => path.join(dir, name);
  basename = (p: string) => path.basename(p);

  async stat(p: string): Promise<Entry | undefined> {
    try {
      return entryOf(await fs.stat(p));
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  async list(dir: string): Promise<(Entry & { name: string })[]> {
    const names = await fs.readdir(dir);
    return Promise.all(names.map(async (name) => ({ name, ...((await this.stat(path.join(dir, name))) ?? DANGLING) })));
  }

  async mkdir(p: string): Promise<boolean> {
    try {
      await fs.mkdir(p, { mode: 0o700 });
      return true;
    } catch (err) {
      if (isMissing(err)) throw noParent(p);
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const st = await fs.lstat(p);
    if (st.isSymbolicLink()) throw throughLink(p);
    if (!st.isDirectory()) throw inTheWay(p, 'exists and is not a directory');
    return false;
  }

  chmod = (p: string, mode: number) => fs.chmod(p, mode);

  /**
   * Into a fresh file of ours (O_EXCL), then renamed over dest: never written through a link, nor
   * into a file that another name shares.
   */
  async download(machine: MachinePlace, src: string, dest: string, mode: number): Promise<void> {
    const st = await fs.lstat(dest).catch((err) => (isMissing(err) ? undefined : Promise.reject(err)));
    if (st?.isSymbolicLink()) throw throughLink(dest);
    if (st && !st.isFile()) throw inTheWay(dest, 'exists and is not a file');
    const tmp = tempSibling(dest);
    try {
      await (await fs.open(tmp, 'wx', 0o600)).close();
    } catch (err) {
      throw isMissing(err) ? noParent(dest) : err;
    }
    try {
      await machine.get(src, tmp);
      await fs.chmod(tmp, mode);
      await fs.rename(tmp, dest);
    } catch (err) {
      await fs.rm(tmp, { force: true });
      throw err;
    }
  }
}
const local = new LocalPlace();

/** A link to nothing (or to what the machine will not say) is skipped like any other special file. */
const DANGLING: Entry = { kind: 'other', mode: 0 };

const { STATUS_CODE } = ssh2.utils.sftp;
/** Our own words for the SFTP status codes: a hostile server's text could carry terminal escapes. */
const SFTP_STATUS: Record<number, string> = {
  [STATUS_CODE.NO_SUCH_FILE]: 'No such file or directory',
  [STATUS_CODE.PERMISSION_DENIED]: 'Permission denied',
  [STATUS_CODE.FAILURE]: 'Failure',
  [STATUS_CODE.OP_UNSUPPORTED]: 'Operation unsupported',
};
const statusOf = (err: unknown) => (err as { code?: unknown }).code;

function promisify<T = void>(fn: (cb: (err: Error | null | undefined, v?: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v as T))));
}

class MachinePlace implements Place {
  constructor(
    readonly name: string,
    private readonly sftp: SFTPWrapper,
  ) {}

  describe = (p: string) => `${this.name}:${p}`;
  join = (dir: string, name: string) => path.posix.join(dir, name);
  basename = (p: string) => path.posix.basename(p);

  /** An SFTP failure as one line naming the path (status codes in our words; ssh2's own errors as they are). */
  private error(p: string, err: unknown): MachineError {
    const code = statusOf(err);
    const text = typeof code === 'number' ? (SFTP_STATUS[code] ?? `SFTP status ${code}`) : (err as Error).message;
    return new MachineError(`${this.describe(p)}: ${text}`);
  }
  private call<T = void>(p: string, fn: (cb: (err: Error | null | undefined, v?: T) => void) => void): Promise<T> {
    return promisify(fn).catch((err) => Promise.reject(this.error(p, err)));
  }

  async stat(p: string): Promise<Entry | undefined> {
    try {
      return entryOf(await promisify<Stats>((cb) => this.sftp.stat(p, cb)));
    } catch (err) {
      if (statusOf(err) === STATUS_CODE.NO_SUCH_FILE) return undefined;
      throw this.error(p, err);
    }
  }

  /** Every name is checked before anything is made for the directory; links are resolved by the machine. */
  async list(dir: string): Promise<(Entry & { name: string })[]> {
    const listed = await this.call<FileEntryWithStats[]>(dir, (cb) => this.sftp.readdir(dir, cb));
    const entries = listed.filter((e) => e.filename !== '.' && e.filename !== '..'); // every server lists them; ssh2 drops them too
    const bad = entries.find((e) => !safeName(e.filename));
    if (bad) {
      throw new MachineError(`Machine "${this.name}" listed an unsafe file name ${quote(bad.filename)} in ${dir}`, {
        fix: 'the copy stopped; a sound SFTP server never sends such a name, so check what runs on the machine',
      });
    }
    const entry = async (e: FileEntryWithStats) =>
      e.attrs.isSymbolicLink() ? ((await this.stat(this.join(dir, e.filename))) ?? DANGLING) : entryOf(e.attrs);
    return Promise.all(entries.map(async (e) => ({ name: e.filename, ...(await entry(e)) })));
  }

  async mkdir(p: string): Promise<boolean> {
    try {
      await this.call(p, (cb) => this.sftp.mkdir(p, { mode: 0o700 }, cb));
      return true;
    } catch (err) {
      // SFTP v3 has no "already exists": look.
      if ((await this.stat(p).catch(() => undefined))?.kind === 'dir') return false;
      throw err;
    }
  }

  chmod = (p: string, mode: number) => this.call(p, (cb) => this.sftp.chmod(p, mode, cb));
  get = (src: string, localPath: string) => this.call(src, (cb) => this.sftp.fastGet(src, localPath, cb));
  upload = (src: string, dest: string, mode: number) => this.call(dest, (cb) => this.sftp.fastPut(src, dest, { mode }, cb));
}

/**
 * A name a machine lists must be one plain path component here too: not empty, ".", "..", no
 * separator of either system, no NUL or control character (those could also rewrite the terminal
 * when shown). On Windows also no ":" (drives, streams) and no trailing dot or space (Windows
 * strips them: ".. " would be "..").
 */
const UNSAFE = process.platform === 'win32' ? /[/\\:\x00-\x1f\x7f-\x9f]|[. ]$/ : /[/\\\x00-\x1f\x7f-\x9f]/;
export function safeName(name: string): boolean {
  return name !== '' && name !== '.' && name !== '..' && !UNSAFE.test(name);
}

/** A name quoted as JSON does, with DEL and C1 controls escaped too: printable as is. */
function quote(name: string): string {
  return JSON.stringify(name).replace(/[\x7f-\x9f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Deeper than this is a symbolic link loop (OpenSSH's scp stops at the same depth). */
const MAX_DEPTH = 64;

/**
 * Copy src to dst as cp does: into dst when it is a directory (under the source's name, unless the
 * source has none of its own, like "/" or "."), else to dst. One side is always this computer.
 */
async function copy(
  from: Place,
  src: string,
  to: Place,
  dst: string,
  opts: Options,
  warn: (msg: string) => void,
  name = from.basename(src),
): Promise<void> {
  const entry = await from.stat(src);
  if (!entry) throw new MachineError(`${from.describe(src)}: No such file or directory`);
  if (entry.kind === 'other') throw new MachineError(`${from.describe(src)}: not a regular file or directory`);
  if (entry.kind === 'dir' && !opts.recursive)
    throw new MachineError(`${from.describe(src)}: is a directory`, { fix: 'use -r to copy directories' });
  const into = (await to.stat(dst))?.kind === 'dir' && name !== '' && name !== '.' && name !== '..';
  await copyEntry(from, src, to, into ? to.join(dst, name) : dst, entry, warn, 0);
}

async function copyEntry(
  from: Place,
  src: string,
  to: Place,
  dest: string,
  entry: Entry,
  warn: (msg: string) => void,
  depth: number,
): Promise<void> {
  if (entry.kind === 'other') return warn(`Skipping ${from.describe(src)}: not a regular file or directory`);
  if (entry.kind === 'file') {
    return from instanceof MachinePlace ? local.download(from, src, dest, entry.mode) : (to as MachinePlace).upload(src, dest, entry.mode);
  }
  if (depth >= MAX_DEPTH) {
    throw new MachineError(`${from.describe(src)}: directories nested more than ${MAX_DEPTH} deep`, {
      fix: 'copy a part of the tree or look for a symbolic link loop',
    });
  }
  const children = await from.list(src);
  const made = await to.mkdir(dest);
  for (const child of children) await copyEntry(from, from.join(src, child.name), to, to.join(dest, child.name), child, warn, depth + 1);
  if (made) await to.chmod(dest, entry.mode);
}
