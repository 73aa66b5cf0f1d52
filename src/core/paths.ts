import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MachineError } from './errors.js';

/** Where machine keeps things outside the store: its own files, the run directory. */

/** The repository (or installed package) root: the nearest directory above us with package.json. */
export const PROJECT_ROOT = findRoot(path.dirname(fileURLToPath(import.meta.url)));

function findRoot(dir: string): string {
  for (let d = dir; ; d = path.dirname(d)) {
    if (existsSync(path.join(d, 'package.json'))) return d;
    if (path.dirname(d) === d) return dir;
  }
}

/**
 * This user's private run directory, for sockets and locks that cannot live in the store (a QMP
 * socket whose store path is too long, host-wide locks, web service logs): $XDG_RUNTIME_DIR/machine,
 * else <tmp>/machine-<uid>. In a shared /tmp another user may have made that name first: a
 * directory that is a symlink, not ours, or open to others is refused, never reused.
 */
export async function runDir(): Promise<string> {
  const uid = process.getuid?.();
  const xdg = process.env.XDG_RUNTIME_DIR;
  const dir = xdg && path.isAbsolute(xdg) ? path.join(xdg, 'machine') : path.join(os.tmpdir(), `machine-${uid ?? os.userInfo().username}`);
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const st = await fs.lstat(dir);
  const foreign = uid !== undefined && st.uid !== uid;
  if (!st.isDirectory() || foreign || (process.platform !== 'win32' && (st.mode & 0o077) !== 0)) {
    throw new MachineError(
      `The run directory ${dir} is ${!st.isDirectory() ? 'not a directory' : foreign ? `owned by another user (uid ${st.uid})` : 'open to other users'}: machine will not put its sockets there`,
      { fix: `remove it (if you trust nothing in it) or set XDG_RUNTIME_DIR to a private directory` },
    );
  }
  return dir;
}
