import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { VirtualBoxDriver } from '../src/drivers/virtualbox/driver.js';
import { realSystem } from '../src/core/system.js';
import { configFromFlags } from '../src/drivers/virtualbox/index.js';
import { closeSoapConnections } from '../src/drivers/virtualbox/soap/transport.js';
import { stopOwnWebService } from '../src/drivers/virtualbox/websrv.js';
import { PROJECT_ROOT } from '../src/core/paths.js';
import { diskHead } from '../src/iso/userdata.js';
import { generateKeyPair } from '../src/ssh/keys.js';
import { baseDriverConfig } from '../src/store/config.js';
import { Store } from '../src/store/store.js';

/**
 * Both VirtualBox backends on the same work, against the real VirtualBox 7.2 of scripts/vbox-chroot.sh
 * (no kernel driver, so a start always fails there): the driver's create path up to that failing start,
 * its remove, and the state query of 10 VMs that `machine ls` makes. Milliseconds, medians of RUNS.
 * Needs root (the chroot); elsewhere it returns {} and says why on stderr.
 */

const run = promisify(execFile);
const SCRIPT = path.join(PROJECT_ROOT, 'scripts', 'vbox-chroot.sh');
const RUNS = 3;
const VMS = 10;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.floor(s.length / 2)]!);
}

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const v = await fn();
  return [v, performance.now() - t0];
}

export async function benchVirtualbox(): Promise<Record<string, number>> {
  if (process.getuid?.() !== 0) {
    console.error('bench virtualbox: skipped: the VirtualBox chroot needs root');
    return {};
  }
  let kv: Record<string, string>;
  try {
    const { stdout } = await run('bash', [SCRIPT, 'setup', '--hold', String(process.pid)], { timeout: 900_000, maxBuffer: 16 << 20 });
    kv = Object.fromEntries(
      stdout
        .split('\n')
        .filter((l) => l.includes('='))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
  } catch (err) {
    console.error(`bench virtualbox: skipped: scripts/vbox-chroot.sh setup failed: ${(err as Error).message.split('\n')[0]}`);
    return {};
  }
  const work = path.join(os.tmpdir(), `machine-vbox-bench-${process.pid}`);
  await fs.mkdir(work, { recursive: true });
  await run('bash', [SCRIPT, 'bind', work]);
  const host = { ...realSystem(), env: { ...process.env, VBOX_MANAGE: kv.VBOX_MANAGE, VBOX_WEBSRV: kv.VBOX_WEBSRV } };
  const out: Record<string, number> = {};
  const leftovers: VirtualBoxDriver[] = [];
  try {
    const iso = path.join(work, 'bench.iso');
    await fs.mkdir(`${iso}.d`, { recursive: true });
    await fs.writeFile(path.join(`${iso}.d`, 'README.TXT'), 'bench\n');
    await run(kv.VBOX_CHROOT_RUN!, ['xorriso', '-as', 'mkisofs', '-quiet', '-V', 'BENCH', '-o', iso, `${iso}.d`]);
    const head = await diskHead(generateKeyPair().publicKey, [{ path: 'profile', content: 'EXTRA_ARGS=""\n', mode: 0o644 }]);

    const driverFor = async (api: 'vboxmanage' | 'soap', tag: string) => {
      const name = `bench-${api}-${tag}-${randomBytes(2).toString('hex')}`;
      const store = new Store(path.join(work, `store-${api}`));
      const machineDir = store.machineDir(name);
      await fs.mkdir(machineDir, { recursive: true });
      await fs.copyFile(iso, path.join(machineDir, 'boot2docker.iso'));
      const config = await configFromFlags(
        { 'virtualbox-api': api, 'virtualbox-no-hostonly': true, 'virtualbox-no-vtx-check': true, 'virtualbox-no-share': true },
        baseDriverConfig(name, store.root, path.join(machineDir, 'id_ed25519')),
      );
      const driver = new VirtualBoxDriver(config, { store, machineDir }, { host });
      leftovers.push(driver);
      return { driver, isoPath: path.join(machineDir, 'boot2docker.iso') };
    };

    for (const api of ['vboxmanage', 'soap'] as const) {
      if (api === 'soap') {
        // First use in a process: start our vboxwebsrv, parse the WSDL, log on.
        const { driver } = await driverFor(api, 'connect');
        const [, ms] = await timed(() => driver.backend().then((b) => b.version()));
        out['soap.connect_ms'] = Math.round(ms);
      }
      const pre: number[] = [];
      const create: number[] = [];
      const start: number[] = [];
      const remove: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        const { driver, isoPath } = await driverFor(api, `c${i}`);
        pre.push((await timed(() => driver.preCreateCheck(() => undefined)))[1]);
        create.push((await timed(() => driver.create({ head, isoPath }, () => undefined)))[1]);
        start.push((await timed(() => driver.start(() => undefined).catch(() => undefined)))[1]);
        remove.push((await timed(() => driver.remove()))[1]);
      }
      out[`${api}.precreate_ms`] = median(pre);
      out[`${api}.create_ms`] = median(create);
      out[`${api}.start_fail_ms`] = median(start);
      out[`${api}.create_path_ms`] = median(pre.map((p, i) => p + create[i]! + start[i]!));
      out[`${api}.remove_ms`] = median(remove);
    }

    // `ls` of 10 machines: one driver per machine (as Host.load makes them), states queried concurrently.
    const fleet = [];
    for (let i = 0; i < VMS; i++) {
      const { driver, isoPath } = await driverFor('vboxmanage', `ls${i}`);
      await driver.create({ head, isoPath }, () => undefined);
      fleet.push(driver);
    }
    for (const api of ['vboxmanage', 'soap'] as const) {
      const times: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        const drivers = fleet.map(
          (d) => new VirtualBoxDriver({ ...d.config, API: api }, { store: new Store(work), machineDir: work }, { host }),
        );
        const [states, ms] = await timed(() => Promise.all(drivers.map((d) => d.state())));
        if (states.some((s) => s !== 'Stopped')) throw new Error(`unexpected states: ${states.join(', ')}`);
        times.push(ms);
      }
      out[`${api}.state_10vms_ms`] = median(times);
    }
    for (const d of fleet) await d.remove();
  } finally {
    for (const d of leftovers) await d.remove().catch(() => undefined);
    await closeSoapConnections();
    await stopOwnWebService();
    await run('bash', [SCRIPT, 'unbind', work]).catch(() => undefined);
    await fs.rm(work, { recursive: true, force: true });
    await run('bash', [SCRIPT, 'release', String(process.pid)]).catch(() => undefined);
  }
  return out;
}

// `node dist/bench/virtualbox.js` runs it alone.
if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  benchVirtualbox().then((r) => console.log(JSON.stringify(r, null, 2)));
}
