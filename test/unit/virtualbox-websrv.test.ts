import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { passwordHash, SECRET_FILE, storeSecret, webUser } from '../../src/drivers/virtualbox/weblogin.js';

/**
 * The pieces of the web service's safety that need no VirtualBox (the real vboxwebsrv is in
 * test/e2e/virtualbox-websrv.test.ts): the store secret file and the password hash.
 */

let dir: string;
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'machine-websrv-'));
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

const mode = async (file: string) => (await fs.stat(file)).mode & 0o777;

describe('the store secret of our own web service', () => {
  it('is made once, 0600, the same for commands that start together, and a new one when others could read it', async () => {
    const all = await Promise.all([1, 2, 3, 4, 5].map(() => storeSecret(dir)));
    expect(new Set(all).size).toBe(1);
    const secret = all[0]!;
    expect(secret).toMatch(/^[\w-]{43}$/);
    const file = path.join(dir, SECRET_FILE);
    expect(await mode(file)).toBe(0o600);
    expect(await storeSecret(dir)).toBe(secret);
    await fs.chmod(file, 0o644);
    const renewed = await storeSecret(dir);
    expect(renewed).not.toBe(secret);
    expect(await mode(file)).toBe(0o600);
    // A symlink (someone else's file, perhaps) is not read: replaced by a file of ours.
    const elsewhere = path.join(dir, 'elsewhere');
    await fs.writeFile(elsewhere, 'known-to-someone-else', { mode: 0o600 });
    await fs.rm(file);
    await fs.symlink(elsewhere, file);
    expect(await storeSecret(dir)).not.toBe('known-to-someone-else');
    expect((await fs.lstat(file)).isFile()).toBe(true);
    expect(await fs.readFile(elsewhere, 'utf8')).toBe('known-to-someone-else');
  });

  it("has one VBoxAuthSimple user per store path, and VBoxManage's password hash (SHA-256, lower-case hex)", () => {
    expect(webUser('/a/store')).toBe(webUser('/a/store/'));
    expect(webUser('/a/store')).not.toBe(webUser('/b/store'));
    expect(webUser('/a/store')).toMatch(/^machine-[0-9a-f]{16}$/);
    // `VBoxManage internalcommands passwordhash hello` (7.2.22) prints this; the e2e test compares live.
    expect(passwordHash('hello')).toBe('2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824');
  });
});
