import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inspect } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { freePort } from '../../src/core/ports.js';
import { VirtualBoxDriver, type VirtualBoxConfig } from '../../src/drivers/virtualbox/driver.js';
import { configFromFlags } from '../../src/drivers/virtualbox/index.js';
import { redactUrl, soapTarget } from '../../src/drivers/virtualbox/soap/transport.js';
import { passwordHash, SECRET_FILE, storeSecret, webUser } from '../../src/drivers/virtualbox/weblogin.js';
import { baseDriverConfig } from '../../src/store/config.js';
import { Store } from '../../src/store/store.js';
import { fakeHost, Replay } from '../helpers/vboxReplay.js';

/**
 * The pieces of the web service's safety that need no VirtualBox (the real vboxwebsrv is in
 * test/e2e/virtualbox-websrv.test.ts): credentials out of the config and out of messages, and the
 * store secret file.
 */

let dir: string;
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'machine-websrv-'));
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

const mode = async (file: string) => (await fs.stat(file)).mode & 0o777;

describe('--virtualbox-soap-url credentials', () => {
  it('never appear in a message: an unparseable URL is shown with everything before its "@" hidden', async () => {
    expect(redactUrl('http://alice:s3cret@10.1.2.3:18083/')).toBe('http://***@10.1.2.3:18083/');
    expect(redactUrl('http://alice:p@ss/w@host:99999/')).toBe('http://***@host:99999/');
    expect(redactUrl('alice:s3cret@host')).toBe('***@host');
    expect(redactUrl('http://127.0.0.1:18083/')).toBe('http://127.0.0.1:18083/');
    const base = baseDriverConfig('x', '/s', '/k');
    const err = await configFromFlags({ 'virtualbox-soap-url': 'http://alice:s3cret@host:99999/' }, base).catch((e: Error) => e);
    expect((err as { line: string }).line).toBe(
      '--virtualbox-soap-url http://***@host:99999/ is not a URL: give it as http://127.0.0.1:18083/',
    );
    // Credentials given apart replace the URL's, and count for the remote-service rule.
    expect(soapTarget('http://10.1.2.3:18083/', { username: 'bob', password: 'pw' })).toEqual({
      endpoint: 'http://10.1.2.3:18083/',
      username: 'bob',
      password: 'pw',
    });
  });

  it('move out of config.json into a 0600 file, which later drivers log on with; a failed logon does not show the password', async () => {
    const store = new Store(dir);
    const machineDir = store.machineDir('m');
    const port = await freePort(); // nothing listens there
    const password = 'p@ss:w/rd?x';
    const flags = await configFromFlags(
      { 'virtualbox-api': 'soap', 'virtualbox-soap-url': `http://alice:${encodeURIComponent(password)}@127.0.0.1:${port}/` },
      baseDriverConfig('m', dir, path.join(machineDir, 'id_ed25519')),
    );
    const host = fakeHost('linux', { exec: new Replay().exec }); // no VBoxManage here
    const driver = new VirtualBoxDriver(flags, { store, machineDir }, { host });
    expect(flags.SoapURL).toBe(`http://127.0.0.1:${port}/`);
    expect(flags.SoapUser).toBe('alice');
    expect(JSON.stringify(flags)).not.toContain('p%40ss');
    expect(JSON.stringify(flags)).not.toContain(password);
    expect((await driver.backend()).kind).toBe('soap');
    const file = path.join(machineDir, 'soap-password');
    expect(await fs.readFile(file, 'utf8')).toBe(password);
    expect(await mode(file)).toBe(0o600);

    // A later command: the config as saved, the password from its file.
    const saved = JSON.parse(JSON.stringify(flags)) as VirtualBoxConfig;
    const later = new VirtualBoxDriver(saved, { store, machineDir }, { host });
    const err = await (await later.backend()).version().catch((e: Error) => e);
    expect((err as { line: string }).line).toMatch(
      new RegExp(`^Could not log on to the VirtualBox web service at http://127\\.0\\.0\\.1:${port}/: .*ECONNREFUSED`),
    );
    expect(inspect(err, { depth: 10 })).not.toContain(password);
  });
});

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
