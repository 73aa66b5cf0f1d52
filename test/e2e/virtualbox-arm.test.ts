import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { VirtualBoxDriver } from '../../src/drivers/virtualbox/driver.js';
import { configFromFlags } from '../../src/drivers/virtualbox/index.js';
import { closeSoapConnections } from '../../src/drivers/virtualbox/soap/transport.js';
import { stopOwnWebService } from '../../src/drivers/virtualbox/websrv.js';
import { diskHead } from '../../src/iso/userdata.js';
import { generateKeyPair } from '../../src/ssh/keys.js';
import { baseDriverConfig } from '../../src/store/config.js';
import { Store } from '../../src/store/store.js';
import { makeIso, registry } from '../helpers/vboxChroot.js';
import { vboxChrootSuite } from '../helpers/vboxSuite.js';

/**
 * The ARM VM definition (the driver on Apple Silicon) against the REAL VirtualBox 7.2 of the test
 * chroot, through both backends. This host is amd64, and VirtualBox registers and configures an ARM
 * VM on it all the same; what it refuses for that reason alone is only running it:
 *   startvm: "VBoxManage: error: Cannot run the machine because its platform architecture ARM is not
 *   supported on x86" (VBOX_E_PLATFORM_ARCH_NOT_SUPPORTED, recorded in
 *   test/fixtures/virtualbox-7.2/VBoxManage_startvm_arm_on_x86.*, tested in test/unit/virtualbox-arch.test.ts).
 * `list systemproperties` here says "Supported platform architectures: x86". No VM is started.
 */

const vb = vboxChrootSuite('VirtualBox ARM integration', async () => {
  await closeSoapConnections();
  await stopOwnWebService();
});

describe.each(['vboxmanage', 'soap'] as const)('the ARM VM, %s backend, real VirtualBox 7.2 on an amd64 host', (api) => {
  it('is registered as the driver defines it: ARM platform, armv8virtual, EFI, virtio-net, CD and disk on virtio-scsi, forwards, share', async (ctx) => {
    if (!vb.c) return ctx.skip(vb.skipReason);
    const c = vb.c;
    const name = `arm-${api}-${randomBytes(3).toString('hex')}`;
    const store = new Store(path.join(c.work, `store-${api}`));
    const machineDir = store.machineDir(name);
    await fs.mkdir(machineDir, { recursive: true });
    const share = path.join(c.work, `Users-${api}`);
    await fs.mkdir(share);
    // The host as Apple Silicon would show it to configFromFlags; the driver runs on the real one.
    const appleSilicon = { ...c.host, platform: 'darwin' as const, arch: 'arm64' };
    const config = await configFromFlags(
      {
        'virtualbox-api': api,
        'virtualbox-no-vtx-check': true,
        'virtualbox-no-hostonly': true,
        'virtualbox-cpu-count': 2,
        'virtualbox-share-folder': `${share}:Users`,
      },
      baseDriverConfig(name, store.root, path.join(machineDir, 'id_ed25519')),
      undefined,
      appleSilicon,
    );
    expect(config).toMatchObject({ Arch: 'arm64', NatNicType: 'virtio' });
    const driver = new VirtualBoxDriver(config, { store, machineDir }, { host: c.host, pollIntervalMs: 100 });
    onTestFinished(() => driver.remove().catch(() => undefined));
    const lines: string[] = [];
    await driver.preCreateCheck((l) => lines.push(l));
    const isoPath = path.join(machineDir, 'boot2docker.iso');
    await makeIso(c, isoPath);
    await driver.create({ head: await diskHead(generateKeyPair().publicKey), isoPath }, (l) => lines.push(l));
    expect(lines).toContain(
      'The arm64 ISO has no vboxsf (Linux builds it for x86 only): the shared folders are in the VM but not mounted in the machine',
    );

    const shown = await c.vbm('showvminfo', config.UUID!, '--machinereadable');
    expect(shown.exitCode, shown.stderr).toBe(0);
    const info = shown.stdout;
    for (const line of [
      'platformArchitecture="ARM"',
      'ostype="Other Linux (ARM 64-bit)"',
      'chipset="armv8virtual"',
      'firmware="EFI"',
      'cpus=2',
      'graphicscontroller="qemuramfb"',
      'hidpointing="none"',
      'hidkeyboard="none"',
      'boot1="dvd"',
      'boot2="disk"',
      'nic1="nat"',
      'nictype1="virtio"',
      'cableconnected1="on"',
      `Forwarding(0)="docker,tcp,127.0.0.1,${config.DockerPort},,2376"`,
      `Forwarding(1)="ssh,tcp,127.0.0.1,${config.SSHPort},,22"`,
      'storagecontrollername0="VirtioSCSI"',
      'storagecontrollertype0="VirtioSCSI"',
      `"VirtioSCSI-0-0"="${isoPath}"`,
      `"VirtioSCSI-1-0"="${driver.diskPath}"`,
      '"VirtioSCSI-nonrotational-1-0"="on"',
      '"VirtioSCSI-discard-1-0"="on"',
      'SharedFolderNameMachineMapping1="Users"',
      `SharedFolderPathMachineMapping1="${share}"`,
      'uart1="0x03f8,4"',
      `uartmode1="file,${driver.consoleLog()}"`,
    ])
      expect(info.split('\n'), line).toContain(line);
    // None of the x86-only settings (an ARM VM refuses them) and no SATA controller.
    expect(info).not.toMatch(/^(pae|longmode|hpet|hwvirtex|nestedpaging)=/m);
    expect(info).not.toContain('SATA');

    // Host-only networking is attached at start, the same call on both platforms: NIC 2 takes it.
    const be = await driver.backend();
    await be.attachHostOnly(config.UUID!, 2, { kind: 'hostonlyif', name: 'vboxnet0', nicType: 'virtio', promisc: 'deny' });
    const nic2 = (await be.vmInfo(config.UUID!))!.nics.find((n) => n.slot === 2);
    expect(nic2).toMatchObject({ attachment: 'hostonly', hostOnlyAdapter: 'vboxnet0', adapterType: expect.stringMatching(/^virtio$/i) });

    await driver.remove();
    const reg = await registry(c);
    expect(reg.vms).not.toContain(config.UUID);
    expect(reg.hdds).not.toContain(driver.diskPath);
    expect(reg.dvds).not.toContain(isoPath);
  });
});
