import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { MachineError } from '../../core/errors.js';
import { poll } from '../../core/wait.js';
import type { VBoxManage } from './vboxmanage.js';

/**
 * The logon of our own vboxwebsrv. It runs with `--authentication VBoxAuthSimple` (websrv.ts puts
 * the global websrvauthlibrary property back after): VBoxAuthSimple accepts user U with password P when
 * the global extradata "VBoxAuthSimple/users/U" is the SHA-256 of P in lower-case hex (what
 * `VBoxManage internalcommands passwordhash P` prints). P is random and kept in
 * <store>/vboxwebsrv.secret (0600); U is derived from the store path, so several stores coexist.
 * The hash is set with VBoxManage, so it shows in the process list for a moment: it is not the
 * password, and 256 random bits cannot be recovered from it.
 */

export interface WebLogin {
  username: string;
  password: string;
}

export const SECRET_FILE = 'vboxwebsrv.secret';

export function passwordHash(password: string): string {
  return createHash('sha256').update(password, 'utf8').digest('hex');
}

/** The VBoxAuthSimple user of a store. */
export function webUser(storeRoot: string): string {
  return `machine-${createHash('sha256').update(path.resolve(storeRoot)).digest('hex').slice(0, 16)}`;
}

const extraDataKey = (user: string) => `VBoxAuthSimple/users/${user}`;

/** A secret file we must not use: not a regular file of ours, or one others can read. */
async function untrusted(file: string): Promise<boolean> {
  const st = await fs.lstat(file).catch(() => undefined);
  if (!st) return false; // none yet
  if (!st.isFile()) return true;
  return process.platform !== 'win32' && (st.uid !== process.getuid?.() || (st.mode & 0o077) !== 0);
}

/**
 * The store's secret, made on first use. Made with O_EXCL, so two first commands at once agree on
 * one; one that others could read (or that is not ours) is replaced, as they may know it.
 */
export async function storeSecret(storeRoot: string): Promise<string> {
  const file = path.join(storeRoot, SECRET_FILE);
  await fs.mkdir(storeRoot, { recursive: true, mode: 0o700 });
  if (await untrusted(file)) await fs.rm(file, { force: true });
  const secret = randomBytes(32).toString('base64url');
  try {
    await fs.writeFile(file, secret, { flag: 'wx', mode: 0o600 });
    return secret;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  // Another command made it: read it once its single write has landed.
  return poll(async () => (await fs.readFile(file, 'utf8')).trim() || undefined, {
    timeoutMs: 2000,
    intervalMs: 20,
    what: `${file} to be written`,
    fix: `delete ${file} (a new one is made)`,
  });
}

/** The user and secret of this store, with VirtualBox told the secret's hash (only when it differs). */
export async function ownLogin(vbm: VBoxManage, storeRoot: string): Promise<WebLogin> {
  const username = webUser(storeRoot);
  const password = await storeSecret(storeRoot);
  const key = extraDataKey(username);
  const hash = passwordHash(password);
  try {
    const have = /^Value: (.*)$/m.exec(await vbm.run(['getextradata', 'global', key]))?.[1]?.trim();
    if (have !== hash) await vbm.run(['setextradata', 'global', key, hash]);
  } catch (err) {
    throw new MachineError(`Could not set the password of our VirtualBox web service: ${(err as Error).message}`, {
      fix: 'check that VBoxManage works ("VBoxManage list vms"), or use --virtualbox-api vboxmanage',
      cause: err,
    });
  }
  return { username, password };
}
