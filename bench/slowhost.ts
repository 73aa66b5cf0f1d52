import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ensureClientCerts, certPathsIn } from '../src/certs/bootstrap.js';
import { ensureServerCert, machineCertPaths } from '../src/certs/server.js';
import { VirtualBoxDriver } from '../src/drivers/virtualbox/driver.js';
import { configFromFlags } from '../src/drivers/virtualbox/index.js';
import { diskHead } from '../src/iso/userdata.js';
import { preseedFiles } from '../src/provision/preseed.js';
import { renderProfile } from '../src/provision/profile.js';
import { ensureKeyPair, generateKeyPair } from '../src/ssh/keys.js';
import { baseDriverConfig, defaultEngineOptions } from '../src/store/config.js';
import { Store } from '../src/store/store.js';
import { setupVBoxChroot, startDriverless } from '../test/helpers/vboxChroot.js';
import { testIso } from '../test/helpers/vm.js';

/**
 * A slow host: the ISO in a VM defined by our VirtualBox driver, run by VirtualBox 7.2's
 * driverless frontend in its instruction interpreter (about 100x slower than QEMU's TCG). Host
 * seconds from the frontend's start to each boot milestone the guest prints on its serial console
 * (and the guest's own uptime there), until dockerd serves or the guest gives up on something.
 * An hour or more: not in the default sections. Needs root (the VirtualBox chroot).
 * MACHINE_BENCH_SLOWHOST_MINUTES bounds the wait (default 180).
 */
export async function benchSlowHost(): Promise<Record<string, number | string>> {
  const c = await setupVBoxChroot();
  if ('skip' in c) {
    console.error(`bench slowhost: skipped: ${c.skip}`);
    return {};
  }
  const name = `slow-${randomBytes(2).toString('hex')}`;
  const store = new Store(path.join(c.work, 'store'));
  const dir = store.machineDir(name);
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const key = await ensureKeyPair(path.join(dir, 'id_ed25519'));
  const client = await ensureClientCerts(certPathsIn(store.certsDir));
  await ensureServerCert(machineCertPaths(dir), client, name, ['localhost', '127.0.0.1', name]);
  const config = await configFromFlags(
    {
      'virtualbox-no-hostonly': true,
      'virtualbox-no-vtx-check': true,
      'virtualbox-no-share': true,
      'virtualbox-memory': 1024,
      'virtualbox-cpu-count': 1,
      'virtualbox-disk-size': 4096,
    },
    baseDriverConfig(name, store.root, path.join(dir, 'id_ed25519')),
  );
  const driver = new VirtualBoxDriver(config, { store, machineDir: dir }, { host: c.host });
  const isoPath = path.join(dir, 'boot2docker.iso');
  await fs.copyFile(await testIso(), isoPath);
  const pem = (f: string) => fs.readFile(path.join(dir, f), 'utf8');
  const preseed = preseedFiles({
    hostname: name,
    profile: renderProfile(defaultEngineOptions(), 'virtualbox'),
    caCertPem: await pem('ca.pem'),
    serverCertPem: await pem('server.pem'),
    serverKeyPem: await pem('server-key.pem'),
    hostKeyPrivate: generateKeyPair().privateKey,
  });
  await driver.create({ head: await diskHead(key.publicKey, preseed), isoPath }, () => undefined);
  const serial = driver.consoleLog();
  const limitMs = Number(process.env.MACHINE_BENCH_SLOWHOST_MINUTES ?? 180) * 60_000;
  const out: Record<string, number | string> = {};
  const t0 = performance.now();
  const vm = await startDriverless(c, config.UUID!);
  try {
    const seen = new Set<string>();
    for (;;) {
      const text = await fs.readFile(serial, 'utf8').catch(() => '');
      const secs = Math.round((performance.now() - t0) / 1000);
      for (const m of text.matchAll(/machine-boot: (\w+) ([\d.]+)/g)) {
        if (seen.has(m[1]!)) continue;
        seen.add(m[1]!);
        out[`host_to_${m[1]}_s`] = secs;
        out[`guest_${m[1]}_s`] = Number(m[2]);
        console.error(`bench slowhost: ${m[1]} after ${secs} s (guest uptime ${m[2]} s)`);
      }
      const gaveUp = /machine-boot: gave up[^\n]*/.exec(text) ?? /Kernel panic[^\n]*/.exec(text);
      if (gaveUp) {
        out.gave_up = gaveUp[0];
        break;
      }
      if (seen.has('dockerd')) break;
      if (performance.now() - t0 > limitMs) {
        out.gave_up = `the bench stopped waiting after ${limitMs / 60_000} min; last console line: ${text.trim().split('\n').at(-1)}`;
        break;
      }
      await new Promise((r) => setTimeout(r, 5000));
    }
    out.console_lines = (await fs.readFile(serial, 'utf8').catch(() => '')).split('\n').length;
    await fs.copyFile(serial, 'bench-slowhost-console.log').catch(() => undefined);
  } finally {
    await driver.kill().catch(() => undefined);
    await vm.stop(15_000);
    await driver.remove().catch(() => undefined);
    await c.cleanup();
  }
  return out;
}
