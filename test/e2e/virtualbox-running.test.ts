import { freePort } from '../../src/core/ports.js';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { poll } from '../../src/core/wait.js';
import { VirtualBoxDriver } from '../../src/drivers/virtualbox/driver.js';
import { configFromFlags } from '../../src/drivers/virtualbox/index.js';
import { closeSoapConnections } from '../../src/drivers/virtualbox/soap/transport.js';
import { stopOwnWebService } from '../../src/drivers/virtualbox/websrv.js';
import { diskHead } from '../../src/iso/userdata.js';
import { generateKeyPair } from '../../src/ssh/keys.js';
import { baseDriverConfig } from '../../src/store/config.js';
import { Store } from '../../src/store/store.js';
import { type DriverlessVm, makeIso, registry, startDriverless } from '../helpers/vboxChroot.js';
import { vboxChrootSuite } from '../helpers/vboxSuite.js';

/**
 * State, stop, kill and remove of a VM that really runs in VirtualBox 7.2: the driverless Qt
 * frontend under Xvfb runs it in the instruction interpreter (it reaches the BIOS, which ignores the
 * ACPI power button: exactly the guest docker-machine's stop waited for forever).
 */

const started: DriverlessVm[] = [];

const vb = vboxChrootSuite(
  'VirtualBox running-VM e2e',
  async () => {
    for (const s of started) await s.stop();
    await closeSoapConnections();
    await stopOwnWebService();
  },
  120_000,
);

describe('a VM really running in VirtualBox 7.2 (driverless, interpreted)', () => {
  it('state Running through both backends; stop powers it off after the timeout; kill; remove of a running VM leaves nothing', async (ctx) => {
    if (!vb.c) return ctx.skip(vb.skipReason);
    const c = vb.c;
    const name = `run-${randomBytes(3).toString('hex')}`;
    const store = new Store(path.join(c.work, 'store'));
    const machineDir = store.machineDir(name);
    await fs.mkdir(machineDir, { recursive: true });
    const base = baseDriverConfig(name, store.root, path.join(machineDir, 'id_ed25519'));
    const config = await configFromFlags(
      {
        'virtualbox-no-hostonly': true,
        'virtualbox-no-vtx-check': true,
        'virtualbox-memory': 256,
        'virtualbox-disk-size': 1024,
        'virtualbox-stop-timeout': 3,
        'virtualbox-no-share': true,
      },
      base,
    );
    const driver = new VirtualBoxDriver(config, { store, machineDir }, { host: c.host, pollIntervalMs: 200 });
    onTestFinished(async () => {
      for (const s of started) await s.stop();
      await driver.remove().catch(() => undefined);
    });
    const isoPath = path.join(machineDir, 'boot2docker.iso');
    await makeIso(c, isoPath);
    await driver.create({ head: await diskHead(generateKeyPair().publicKey), isoPath }, () => undefined);
    // The same machine through the web service.
    const viaSoap = new VirtualBoxDriver({ ...config, API: 'soap' }, { store, machineDir }, { host: c.host, pollIntervalMs: 200 });

    let current: DriverlessVm | undefined;
    const run = async () => {
      // The previous frontend exits by itself after the power-off; wait for it before the next one.
      await current?.stop(15_000);
      const t0 = Date.now();
      current = await startDriverless(c!, config.UUID!);
      started.push(current);
      console.log(`driverless VM running after ${Date.now() - t0} ms`);
    };

    await run();
    expect(await driver.state()).toBe('Running');
    expect(await viaSoap.state()).toBe('Running');
    expect((await c.vbm('list', 'runningvms')).stdout).toContain(config.UUID);
    // A published container port becomes a NAT rule of the running VM, through either backend.
    const rules = async () => (await vb.c!.vbm('showvminfo', config.UUID!, '--machinereadable')).stdout;
    const viaCli = { proto: 'tcp' as const, hostPort: await freePort(), guestPort: 8080 };
    const viaWeb = { proto: 'udp' as const, hostPort: await freePort(), guestPort: 53 };
    await driver.addForward(viaCli);
    await viaSoap.addForward(viaWeb);
    expect(await rules()).toContain(`="docker-tcp-${viaCli.hostPort},tcp,127.0.0.1,${viaCli.hostPort},,8080"`);
    expect(await rules()).toContain(`="docker-udp-${viaWeb.hostPort},udp,127.0.0.1,${viaWeb.hostPort},,53"`);
    await viaSoap.removeForward(viaCli);
    await driver.removeForward(viaWeb);
    expect(await rules()).not.toMatch(/docker-(tcp|udp)-/);
    const lines: string[] = [];
    let t0 = Date.now();
    await driver.stop((l) => lines.push(l));
    console.log(`stop (ACPI ignored by the BIOS, then power off): ${Date.now() - t0} ms`);
    expect(lines).toEqual(['Sending the ACPI power button', 'The VM did not power off within 3s; turning it off']);
    expect(await driver.state()).toBe('Stopped');

    await run();
    t0 = Date.now();
    await viaSoap.kill();
    console.log(`kill through the web service: ${Date.now() - t0} ms`);
    await poll(async () => ((await driver.state()) === 'Stopped' ? true : undefined), { timeoutMs: 20_000, what: 'the VM to stop' });
    // Killing a stopped VM is not an error.
    await driver.kill();

    await run();
    t0 = Date.now();
    await driver.remove();
    console.log(`remove of a running VM: ${Date.now() - t0} ms`);
    const reg = await registry(c);
    expect(reg.vms).not.toContain(config.UUID);
    expect(reg.hdds).not.toContain(driver.diskPath);
    expect(reg.dvds).not.toContain(isoPath);
    await expect(driver.state()).rejects.toThrow(/machine does not exist/);
  }, 300_000);
});
