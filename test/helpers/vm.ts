import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ensureClientCerts, certPathsIn } from '../../src/certs/bootstrap.js';
import { ensureServerCert, machineCertPaths } from '../../src/certs/server.js';
import { configFromFlags } from '../../src/drivers/qemu/index.js';
import { QemuDriver } from '../../src/drivers/qemu/driver.js';
import { builtIsoPath } from '../../src/iso/recipe.js';
import { diskHead, type TarFile } from '../../src/iso/userdata.js';
import { type SshTarget, waitForSsh } from '../../src/ssh/client.js';
import { ensureKeyPair } from '../../src/ssh/keys.js';
import { baseDriverConfig } from '../../src/store/config.js';
import { Store } from '../../src/store/store.js';
import { exists } from '../../src/core/files.js';
import type { GuestArch } from '../../src/core/arch.js';
import { tempStore } from './cli.js';

/** The ISO iso/build.sh made for this recipe (TEST_ISO: another amd64 one); the test script builds both before the suite. */
export async function testIso(arch: GuestArch = 'amd64'): Promise<string> {
  const iso = (arch === 'amd64' && process.env.TEST_ISO) || (await builtIsoPath(arch));
  if (!(await exists(iso)))
    throw new Error(`No ISO at ${iso}: run "npm run iso -- --arch ${arch}" (scripts/test.sh does) before the e2e tests`);
  return iso;
}

export interface TestVm {
  store: Store;
  dir: string;
  driver: QemuDriver;
  ssh: SshTarget;
  /** DOCKER_CERT_PATH: ca.pem, cert.pem, key.pem (and server.pem, server-key.pem). */
  certDir: string;
  /** performance.now() just before QEMU was started. */
  startedAt: number;
  dispose(): Promise<void>;
}

/**
 * A VM booted by the project's QEMU driver from the built ISO with a userdata disk made by the
 * project's own code, as the drivers make it, but without the create pipeline: tests drive it.
 */
export async function bootVm(
  name: string,
  opts: { preseed?: (certDir: string) => Promise<TarFile[]>; memory?: number; boot?: 'kernel' | 'iso'; arch?: GuestArch } = {},
): Promise<TestVm> {
  const root = await tempStore('vm-');
  const store = new Store(root);
  const dir = store.machineDir(name);
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const key = await ensureKeyPair(path.join(dir, 'id_ed25519'));
  const client = await ensureClientCerts(certPathsIn(store.certsDir));
  await ensureServerCert(machineCertPaths(dir), client, name, ['localhost', '127.0.0.1', name, '10.0.2.15']);
  const config = await configFromFlags(
    {
      'qemu-memory': opts.memory ?? 1024,
      'qemu-cpu-count': 1,
      'qemu-disk-size': 4096,
      'qemu-accel': 'tcg',
      'qemu-network': 'restricted',
      'qemu-no-share': true,
      'qemu-boot': opts.boot ?? 'kernel',
      'qemu-arch': opts.arch ?? 'amd64',
    },
    baseDriverConfig(name, root, path.join(dir, 'id_ed25519')),
  );
  const driver = new QemuDriver(config, { store, machineDir: dir });
  await fs.copyFile(await testIso(opts.arch), driver.isoPath);
  await driver.create({ head: await diskHead(key.publicKey, await opts.preseed?.(dir)), isoPath: driver.isoPath }, () => undefined);
  const startedAt = performance.now();
  await driver.start(() => undefined);
  const ssh: SshTarget = {
    host: '127.0.0.1',
    port: config.SSHPort,
    user: 'docker',
    privateKey: key.privateKey,
    knownHostsFile: path.join(dir, 'known_hosts'),
    name,
  };
  return {
    store,
    dir,
    driver,
    get ssh() {
      return { ...ssh, port: config.SSHPort };
    },
    certDir: dir,
    startedAt,
    async dispose() {
      await driver.remove().catch(() => undefined);
      await fs.rm(root, { recursive: true, force: true });
    },
  };
}

export async function sshReady(vm: TestVm, timeoutMs = 240_000) {
  return waitForSsh(vm.ssh, { timeoutMs });
}
