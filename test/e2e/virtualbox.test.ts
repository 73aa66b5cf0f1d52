import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { MachineError } from '../../src/core/errors.js';
import { exists } from '../../src/core/files.js';
import { VirtualBoxDriver } from '../../src/drivers/virtualbox/driver.js';
import { configFromFlags } from '../../src/drivers/virtualbox/index.js';
import { closeSoapConnections } from '../../src/drivers/virtualbox/soap/transport.js';
import { ownWebService, stopOwnWebService } from '../../src/drivers/virtualbox/websrv.js';
import { diskHead } from '../../src/iso/userdata.js';
import { generateKeyPair } from '../../src/ssh/keys.js';
import { baseDriverConfig } from '../../src/store/config.js';
import { Store } from '../../src/store/store.js';
import { fixture } from '../helpers/fixtures.js';
import { makeIso, registry } from '../helpers/vboxChroot.js';
import { vboxChrootSuite } from '../helpers/vboxSuite.js';

/**
 * The driver's whole create path against the REAL VirtualBox 7.2 (VBoxManage, VBoxSVC, vboxwebsrv
 * from Debian sid in a chroot, no kernel module), through both backends; then the start that fails
 * the way it fails on a host without vboxdrv, and remove(), which must leave nothing behind.
 */

const vb = vboxChrootSuite('VirtualBox e2e', async () => {
  await closeSoapConnections();
  await stopOwnWebService();
});

/** showvminfo --machinereadable as a user reads it: the raw lines. */
async function showvminfo(vm: string): Promise<string> {
  const r = await vb.c!.vbm('showvminfo', vm, '--machinereadable');
  expect(r.exitCode, r.stderr).toBe(0);
  return r.stdout;
}

async function newMachine(api: string, flags: Record<string, unknown>) {
  const name = `vb-${api}-${randomBytes(3).toString('hex')}`;
  const store = new Store(path.join(vb.c!.work, `store-${api}`));
  const machineDir = store.machineDir(name);
  await fs.mkdir(machineDir, { recursive: true });
  const config = await configFromFlags(
    { 'virtualbox-api': api, 'virtualbox-no-vtx-check': true, ...flags } as never,
    baseDriverConfig(name, store.root, path.join(machineDir, 'id_ed25519')),
  );
  const driver = new VirtualBoxDriver(config, { store, machineDir }, { host: vb.c!.host, pollIntervalMs: 100 });
  // Whatever an assertion leaves, the VM goes (as the create pipeline's rollback would do it).
  onTestFinished(() => driver.remove().catch(() => undefined));
  return { name, store, machineDir, config, driver };
}

describe.each(['vboxmanage', 'soap'] as const)('VirtualBox driver, %s backend, real VirtualBox 7.2', (api) => {
  it('creates the VM docker-machine made (NAT forwards, disk, ISO, shares), fails to start in one clear line, and removes everything', async (ctx) => {
    if (!vb.c) return ctx.skip(vb.skipReason);
    const c = vb.c;
    const share = path.join(c.work, `share ${api}`);
    await fs.mkdir(share, { recursive: true });
    const m = await newMachine(api, {
      'virtualbox-no-hostonly': true,
      'virtualbox-memory': 1536,
      'virtualbox-cpu-count': 2,
      'virtualbox-disk-size': 5000,
      'virtualbox-share-folder': `${share}:My Share`,
      'virtualbox-nat-nictype': 'virtio',
    });
    const lines: string[] = [];
    const report = (l: string) => lines.push(l);

    await m.driver.preCreateCheck(report);
    expect(lines.join('\n')).toMatch(/VirtualBox 7\.2\.\d+\S* \(API 7_2\)/);
    if (api === 'soap') expect(ownWebService()?.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);

    const isoPath = path.join(m.machineDir, 'boot2docker.iso');
    await makeIso(c, isoPath);
    const head = await diskHead(generateKeyPair().publicKey, [{ path: 'profile', content: 'EXTRA_ARGS=""\n', mode: 0o644 }]);
    const t0 = Date.now();
    await m.driver.create({ head, isoPath }, report);
    console.log(`[${api}] create: ${Date.now() - t0} ms`);

    // What a user checks in showvminfo.
    const info = await showvminfo(m.name);
    expect(info).toContain(`UUID="${m.config.UUID}"`);
    expect(info).toContain(`CfgFile="${path.join(m.machineDir, m.name, `${m.name}.vbox`)}"`);
    expect(info).toMatch(/^memory=1536$/m);
    expect(info).toMatch(/^cpus=2$/m);
    expect(info).toContain('ostype="Linux 2.6 / 3.x / 4.x / 5.x (64-bit)"');
    expect(info).toContain('firmware="BIOS"');
    expect(info).toContain('longmode="on"');
    expect(info).toContain('ioapic="on"');
    expect(info).toContain('rtcuseutc="on"');
    expect(info).toContain('hpet="on"');
    expect(info).toContain('pae="on"');
    expect(info).toContain('acpi="on"');
    expect(info).toContain('bootmenu="disabled"');
    expect(info).toContain('boot1="dvd"');
    expect(info).toContain('boot2="disk"');
    expect(info).toContain('nic1="nat"');
    expect(info).toContain('nictype1="virtio"');
    expect(info).toContain('cableconnected1="on"');
    expect(info).toContain('nic2="none"');
    expect(m.config.SSHPort).toBeGreaterThan(0);
    expect(m.config.DockerPort).toBeGreaterThan(0);
    expect(info).toContain(`="ssh,tcp,127.0.0.1,${m.config.SSHPort},,22"`);
    expect(info).toContain(`="docker,tcp,127.0.0.1,${m.config.DockerPort},,2376"`);
    expect(info).toContain('storagecontrollername0="SATA"');
    expect(info).toContain(`"SATA-0-0"="${isoPath}"`);
    expect(info).toContain(`"SATA-1-0"="${m.driver.diskPath}"`);
    // An SSD that takes TRIM: the guest's fstrim shrinks the VDI.
    expect(info).toContain('"SATA-nonrotational-1-0"="on"');
    expect(info).toContain('"SATA-discard-1-0"="on"');
    expect(info).toContain('"SATA-discard-0-0"="off"');
    expect(info).toContain('SharedFolderNameMachineMapping1="My_Share"');
    expect(info).toContain(`SharedFolderPathMachineMapping1="${share}"`);
    expect(info).toContain('uart1="0x03f8,4"');
    expect(info).toContain(`uartmode1="file,${m.driver.consoleLog()}"`);
    // VirtualBox refuses spaces in share names: the name has none, the guest path keeps them.
    expect(m.driver.guestMounts()).toEqual([{ type: 'vboxsf', source: 'My_Share', target: '/My Share' }]);
    expect(await m.driver.state()).toBe('Stopped');
    expect(await m.driver.dockerEndpoint()).toEqual({ host: '127.0.0.1', port: m.config.DockerPort });
    expect(await m.driver.ip()).toBe('127.0.0.1');

    // The disk: 5000 MB, VDI, and only the head written (no gigabytes of zeros).
    const medium = await c.vbm('showmediuminfo', 'disk', m.driver.diskPath);
    expect(medium.stdout).toMatch(/^Storage format:\s+VDI$/m);
    expect(medium.stdout).toMatch(/^Capacity:\s+5000 MBytes$/m);
    expect((await fs.stat(m.driver.diskPath)).size).toBeLessThan(8 * 1024 * 1024);
    const usage = await m.driver.diskUsage();
    expect(usage).toMatchObject({ path: m.driver.diskPath, size: 5000 * 1024 * 1024 });
    expect(usage!.allocated).toBeLessThan(8 * 1024 * 1024);
    const dump = path.join(c.work, `head-${api}.bin`);
    const io = await c.vbm('mediumio', `--disk=${m.driver.diskPath}`, 'cat', '--offset=0', `--size=${head.length}`, `--output=${dump}`);
    expect(io.exitCode, io.stderr).toBe(0);
    expect((await fs.readFile(dump)).equals(head)).toBe(true);

    // start fails like it does on a host without vboxdrv: one line, VirtualBox's own cause, the fix.
    const err = await m.driver.start(report).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(MachineError);
    const line = (err as MachineError).line;
    console.log(`[${api}] start: ${line}`);
    expect(line).not.toContain('\n');
    expect(line).toContain(
      `VirtualBox could not start machine "${m.name}": Kernel driver not installed (VERR_VM_DRIVER_NOT_INSTALLED, rc=-1908)`,
    );
    expect(line).toMatch(/modprobe vboxdrv/);

    // remove(): no VM, no media, no files of ours.
    await m.driver.remove();
    const reg = await registry(c);
    expect(reg.vms).not.toContain(m.config.UUID);
    expect(reg.hdds).not.toContain(m.driver.diskPath);
    expect(reg.dvds).not.toContain(isoPath);
    expect(await exists(m.driver.diskPath)).toBe(false);
    expect(await exists(path.join(m.machineDir, m.name))).toBe(false);
    expect(await exists(`${m.driver.diskPath}.raw`)).toBe(false);
    // A VM already gone is not an error.
    await m.driver.remove();
  });

  it('refuses a machine name VirtualBox already uses (exit code 3) and never deletes that VM', async (ctx) => {
    if (!vb.c) return ctx.skip(vb.skipReason);
    const c = vb.c;
    const m = await newMachine(api, { 'virtualbox-no-hostonly': true });
    const created = await c.vbm('createvm', '--name', m.name, '--basefolder', path.join(c.work, 'other'), '--register');
    expect(created.exitCode, created.stderr).toBe(0);
    const err = await m.driver.preCreateCheck(() => undefined).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MachineError);
    expect((err as MachineError).exitCode).toBe(3);
    expect((err as MachineError).line).toContain(`VirtualBox already has a VM named "${m.name}"`);
    // The create pipeline removes on failure: the other VM must survive it.
    await m.driver.remove();
    expect((await registry(c)).vms).toContain(`"${m.name}"`);
    await c.vbm('unregistervm', m.name, '--delete');
  });
});

describe('VirtualBox driver, remove() after the user deleted the machine folder', () => {
  it('unregisters the inaccessible VM and forgets its disk', async (ctx) => {
    if (!vb.c) return ctx.skip(vb.skipReason);
    const c = vb.c;
    const m = await newMachine('vboxmanage', { 'virtualbox-no-hostonly': true, 'virtualbox-disk-size': 2000 });
    const isoPath = path.join(m.machineDir, 'boot2docker.iso');
    await makeIso(c, isoPath);
    await m.driver.create({ head: await diskHead(generateKeyPair().publicKey), isoPath }, () => undefined);
    await fs.rm(m.machineDir, { recursive: true, force: true });
    expect((await registry(c)).vms).toContain(m.config.UUID);
    await m.driver.remove();
    const reg = await registry(c);
    expect(reg.vms).not.toContain(m.config.UUID);
    expect(reg.hdds).not.toContain(m.driver.diskPath);
    expect(reg.dvds).not.toContain(isoPath);
  });
});

describe('VirtualBox driver with a machine docker-machine created', () => {
  it('keeps working: state by VM name, the stored SSH port, remove', async (ctx) => {
    if (!vb.c) return ctx.skip(vb.skipReason);
    const c = vb.c;
    const name = `dm-${randomBytes(3).toString('hex')}`;
    const store = new Store(path.join(c.work, 'dm-store'));
    const machineDir = store.machineDir(name);
    await fs.mkdir(machineDir, { recursive: true });
    // docker-machine's own calls (vboxmanage-calls.log), minus the disk and ISO.
    const log = fixture('docker-machine/vboxmanage-calls.log');
    const calls = log
      .slice(log.indexOf('##### STEP 03-create-default'), log.indexOf('##### STEP 04'))
      .split('\n')
      .filter((l) => /^VBoxManage (createvm|modifyvm default --(firmware|nic1|natpf1 ssh)|storagectl|sharedfolder|setextradata)/.test(l));
    expect(calls.length).toBeGreaterThanOrEqual(6);
    for (const call of calls) {
      const args = call
        .replace(/^VBoxManage /, '')
        .replaceAll('/home/alice/store/machines/default', machineDir)
        .split(' ')
        .map((a) => (a === 'default' ? name : a));
      const r = await c.vbm(...args);
      expect(r.exitCode, `${call}: ${r.stderr}`).toBe(0);
    }
    const stored = JSON.parse(fixture('docker-machine/store-sample/machines/default/config.json')) as { Driver: Record<string, unknown> };
    const config = { ...stored.Driver, MachineName: name, StorePath: store.root } as never;
    const driver = new VirtualBoxDriver(config, { store, machineDir }, { host: c.host });
    expect(await driver.state()).toBe('Stopped');
    expect(driver.sshEndpoint()).toEqual({ host: '127.0.0.1', port: 40291 });
    expect(driver.guestMounts()).toEqual([{ type: 'vboxsf', source: 'hosthome', target: '/hosthome' }]);
    await driver.remove();
    expect((await registry(c)).vms).not.toContain(`"${name}"`);
    await expect(driver.state()).rejects.toThrow(/machine does not exist/);
  });
});
