import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MachineError } from '../../src/core/errors.js';
import { Store, validateName } from '../../src/store/store.js';
import { FIXTURES } from '../helpers/fixtures.js';

let root: string;
beforeEach(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'store-test-'));
});
afterEach(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

const SAMPLE = path.join(FIXTURES, 'docker-machine/store-sample');

describe('store', () => {
  it('reads a docker-machine 0.16 store and writes the config back byte for byte', async () => {
    await fs.cp(SAMPLE, root, { recursive: true });
    await fs.chmod(path.join(root, 'machines/default'), 0o700);
    await fs.chmod(path.join(root, 'machines/default/config.json'), 0o600);
    const store = new Store(root);
    expect(await store.names()).toEqual(['default']);
    const host = await store.load('default');
    expect(host.DriverName).toBe('virtualbox');
    expect(host.Driver.SSHPort).toBe(40291);
    expect(host.HostOptions.AuthOptions.ServerCertPath).toBe('/home/alice/store2/machines/default/server.pem');
    const original = await fs.readFile(path.join(SAMPLE, 'machines/default/config.json'), 'utf8');
    await store.save(host);
    expect(await fs.readFile(store.configPath('default'), 'utf8')).toBe(original);
    expect((await fs.stat(store.configPath('default'))).mode & 0o777).toBe(0o600);
  });

  it('lists only non-hidden directories, byte-sorted', async () => {
    const store = new Store(root);
    for (const n of ['b', 'B', 'a10', 'a2', '.hidden']) await fs.mkdir(path.join(store.machinesDir, n), { recursive: true });
    await fs.writeFile(path.join(store.machinesDir, 'file'), '');
    expect(await store.names()).toEqual(['B', 'a10', 'a2', 'b']);
  });

  it('names a corrupt config.json, a config from the future and a missing machine in one line', async () => {
    const store = new Store(root);
    await expect(store.load('nosuch')).rejects.toThrow(
      'Docker machine "nosuch" does not exist. Use "machine ls" to list machines. Use "machine create" to add a new one.',
    );
    await fs.mkdir(store.machineDir('bad'), { recursive: true });
    await fs.writeFile(store.configPath('bad'), '{"ConfigVersion": 3, "Driver": {');
    const err = await store.load('bad').catch((e: MachineError) => e);
    expect(err).toBeInstanceOf(MachineError);
    expect((err as MachineError).line).toMatch(
      /^The config of machine "bad" is corrupt \(.*config\.json: .*\): fix the JSON by hand or remove the machine with "machine rm -f bad"$/,
    );
    await fs.writeFile(store.configPath('bad'), JSON.stringify({ ConfigVersion: 4, Driver: {}, HostOptions: {} }));
    await expect(store.load('bad')).rejects.toThrow('config version is from the future -- you should upgrade your Docker Machine client');
  });

  it('writes atomically: no temporary file is left and readers never see a partial file', async () => {
    await fs.cp(SAMPLE, root, { recursive: true });
    await fs.chmod(path.join(root, 'machines/default'), 0o700);
    const store = new Store(root);
    const host = await store.load('default');
    await Promise.all(Array.from({ length: 20 }, (_, i) => store.save({ ...host, Driver: { ...host.Driver, SSHPort: 1000 + i } })));
    const entries = await fs.readdir(store.machineDir('default'));
    expect(entries.filter((e) => e.includes('.tmp'))).toEqual([]);
    const saved = JSON.parse(await fs.readFile(store.configPath('default'), 'utf8'));
    expect(saved.Driver.SSHPort).toBeGreaterThanOrEqual(1000);
  });

  it('refuses a second create of the same name and recognises a half-created machine', async () => {
    const store = new Store(root);
    await store.beginCreate('m1');
    await expect(store.beginCreate('m1')).rejects.toThrow('Docker machine "m1" already exists');
    expect(await store.isHalfCreated('m1')).toBe(false); // we (the creating process) are alive
    await fs.writeFile(path.join(store.machineDir('m1'), '.creating'), '999999999');
    expect(await store.isHalfCreated('m1')).toBe(true);
    await expect(store.load('m1')).rejects.toThrow('Machine "m1" was not completely created');
    await store.endCreate('m1');
    expect(await store.isHalfCreated('m1')).toBe(false);
  });

  it('holds a per-machine lock: a second holder in the same process waits, then is told the machine is busy', async () => {
    const store = new Store(root);
    let release!: () => void;
    const held = store.withLock('m', () => new Promise<void>((r) => (release = r)));
    await new Promise((r) => setTimeout(r, 50));
    const err = await store.withLock('m', async () => 'never', { waitMs: 300 }).catch((e: MachineError) => e);
    expect((err as MachineError).line).toBe('Machine "m" is busy: this command is working on it: wait for it to finish and try again');
    release();
    await held;
    expect(await store.withLock('m', async () => 'ok')).toBe('ok');
    // Nested in the same call chain it is re-entrant (start -> bring-up -> forwarder).
    expect(await store.withLock('m', () => store.withLock('m', async () => 'nested'))).toBe('nested');
  });

  it('validates names like docker-machine', () => {
    for (const ok of ['default', 'dev-1', 'a.b', '9lives']) expect(() => validateName(ok)).not.toThrow();
    for (const bad of ['', '.', '..', '-x', '.x', 'a b', 'a/b', 'a/../..', '/etc', 'x_y', 'a'.repeat(64)])
      expect(() => validateName(bad)).toThrow(/Invalid machine name/);
  });
});
