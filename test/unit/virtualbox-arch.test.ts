import { promises as fs } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { GuestArch } from '../../src/core/arch.js';
import type { MachineError } from '../../src/core/errors.js';
import type { System } from '../../src/core/system.js';
import { chooseDefaultDriver } from '../../src/drivers/registry.js';
import { checkArmVersion } from '../../src/drivers/virtualbox/arch.js';
import type { VmSpec } from '../../src/drivers/virtualbox/backend.js';
import { vboxDriverCheck } from '../../src/drivers/virtualbox/doctor.js';
import { VirtualBoxDriver, type VirtualBoxConfig } from '../../src/drivers/virtualbox/driver.js';
import { configFromFlags } from '../../src/drivers/virtualbox/index.js';
import { parseVersion, vmInfoFromMachineReadable } from '../../src/drivers/virtualbox/parse.js';
import { VBoxManage, VBoxManageBackend } from '../../src/drivers/virtualbox/vboxmanage.js';
import type { DoctorSystem } from '../../src/core/check.js';
import { baseDriverConfig } from '../../src/store/config.js';
import { Store } from '../../src/store/store.js';
import { createMachine } from '../../src/tasks/create.js';
import { createRequest } from '../../src/tasks/create-request.js';
import type { Progress } from '../../src/tasks/progress.js';
import { tempStore } from '../helpers/cli.js';
import { fakeHost, recorded, Replay, text } from '../helpers/vboxReplay.js';

/**
 * Which driver a create without -d gets and which VM VirtualBox makes, on every kind of host: the
 * platform, Node's architecture (an x64 Node under Rosetta included) and the VirtualBox installed.
 * The VM definitions are pinned call by call; test/integration/virtualbox-arm.test.ts runs the ARM
 * one against the real VBoxManage 7.2.
 */

const VBM = '/opt/vbox/VBoxManage';
type Installed = 'absent' | '7.0' | '7.1' | '7.2';
const VERSIONS: Record<Exclude<Installed, 'absent'>, string> = {
  '7.0': '7.0.14r161095\n',
  '7.1': '7.1.6r167084\n',
  '7.2': recorded('VBoxManage_--version').stdout,
};

/** A host: `rosetta` is an x64 Node on Apple Silicon (sysctl.proc_translated=1), else an Intel Mac. */
function host(platform: NodeJS.Platform, arch: 'x64' | 'arm64', vbox: Installed, rosetta = false): System {
  const r = new Replay()
    .on('sysctl -n sysctl.proc_translated', rosetta ? text('1\n') : text('', 'sysctl: unknown oid', 1))
    .on(/^reg query /, text('', 'ERROR: The system was unable to find the specified registry key or value.', 1));
  if (vbox !== 'absent') r.on('VBoxManage --version', text(VERSIONS[vbox]));
  const present = vbox === 'absent' ? {} : { env: { VBOX_MANAGE: VBM }, files: { [VBM]: '' } };
  return fakeHost(platform, { exec: r.exec, arch, ...present });
}

describe('the default driver and the VirtualBox VM architecture, host by host', () => {
  const cases: [string, System, string, string, GuestArch][] = [
    ['linux/x64, VirtualBox 7.2', host('linux', 'x64', '7.2'), 'qemu', 'the default on Linux', 'amd64'],
    ['linux/x64, no VirtualBox', host('linux', 'x64', 'absent'), 'qemu', 'the default on Linux', 'amd64'],
    ['linux/arm64', host('linux', 'arm64', 'absent'), 'qemu', 'the default on Linux', 'arm64'],
    ['darwin/x64 (Intel), VirtualBox 7.0', host('darwin', 'x64', '7.0'), 'virtualbox', 'the default on macOS', 'amd64'],
    ['darwin/x64 (Intel), no VirtualBox', host('darwin', 'x64', 'absent'), 'virtualbox', 'the default on macOS', 'amd64'],
    ['darwin/arm64, no VirtualBox', host('darwin', 'arm64', 'absent'), 'qemu', 'VirtualBox is not installed', 'arm64'],
    [
      'darwin/arm64, VirtualBox 7.0',
      host('darwin', 'arm64', '7.0'),
      'qemu',
      'VirtualBox 7.0.14r161095 runs no ARM VMs; 7.1 or later would',
      'arm64',
    ],
    [
      'darwin/arm64, VirtualBox 7.1',
      host('darwin', 'arm64', '7.1'),
      'virtualbox',
      'VirtualBox 7.1.6r167084 runs ARM VMs on Apple Silicon',
      'arm64',
    ],
    [
      'darwin/arm64, VirtualBox 7.2',
      host('darwin', 'arm64', '7.2'),
      'virtualbox',
      'VirtualBox 7.2.22_Debianr175245 runs ARM VMs on Apple Silicon',
      'arm64',
    ],
    ['darwin/x64 under Rosetta, no VirtualBox', host('darwin', 'x64', 'absent', true), 'qemu', 'VirtualBox is not installed', 'arm64'],
    [
      'darwin/x64 under Rosetta, VirtualBox 7.0',
      host('darwin', 'x64', '7.0', true),
      'qemu',
      'VirtualBox 7.0.14r161095 runs no ARM VMs; 7.1 or later would',
      'arm64',
    ],
    [
      'darwin/x64 under Rosetta, VirtualBox 7.1',
      host('darwin', 'x64', '7.1', true),
      'virtualbox',
      'VirtualBox 7.1.6r167084 runs ARM VMs on Apple Silicon',
      'arm64',
    ],
    ['win32/x64, VirtualBox 7.2', host('win32', 'x64', '7.2'), 'virtualbox', 'the default on Windows', 'amd64'],
    ['win32/x64, no VirtualBox', host('win32', 'x64', 'absent'), 'virtualbox', 'the default on Windows', 'amd64'],
    ['win32/arm64, VirtualBox 7.0', host('win32', 'arm64', '7.0'), 'virtualbox', 'the default on Windows', 'arm64'],
  ];

  it.each(cases)('%s', async (_what, h, driver, reason, arch) => {
    expect(await chooseDefaultDriver(h)).toEqual({ name: driver, reason });
    const config = await configFromFlags({}, baseDriverConfig('m', '/s', '/s/machines/m/id_ed25519'), undefined, h);
    expect(config.Arch).toBe(arch);
    // docker-machine's e1000 on x86; the arm64 ISO's virtio-net on ARM; a flag still wins.
    expect([config.NatNicType, config.HostOnlyNicType]).toEqual(arch === 'arm64' ? ['virtio', 'virtio'] : ['82540EM', '82540EM']);
  });

  it('an explicit NIC type wins on ARM too', async () => {
    const config = await configFromFlags(
      { 'virtualbox-nat-nictype': '82540EM' },
      baseDriverConfig('m', '/s', '/k'),
      undefined,
      host('darwin', 'arm64', '7.2'),
    );
    expect(config.NatNicType).toBe('82540EM');
  });
});

describe('create without -d', () => {
  it('says which driver and why before anything else; a driver the user named is never second-guessed', async () => {
    const store = new Store(await tempStore());
    const notices: string[] = [];
    const progress: Progress = {
      run: async () => {
        throw new Error('no steps in this test');
      },
      result: () => undefined,
      notice: (l) => notices.push(l),
    };
    const appleSilicon70 = host('darwin', 'arm64', '7.0');
    await expect(createMachine(store, createRequest('m', {}, {}), progress, appleSilicon70)).rejects.toThrow('no steps in this test');
    expect(notices).toEqual(['Driver: qemu (VirtualBox 7.0.14r161095 runs no ARM VMs; 7.1 or later would)']);
    notices.length = 0;
    await expect(createMachine(store, createRequest('n', { driver: 'qemu' }, {}), progress, appleSilicon70)).rejects.toThrow();
    expect(notices).toEqual([]);
    await fs.rm(store.root, { recursive: true, force: true });
  });
});

describe('pre-create on Apple Silicon', () => {
  it('says in one line which VirtualBox is needed when it is older than 7.1', () => {
    let err: MachineError | undefined;
    try {
      checkArmVersion(parseVersion('7.0.14r161095')!);
    } catch (e) {
      err = e as MachineError;
    }
    expect(err?.line).toBe(
      'VirtualBox 7.0.14r161095 runs no ARM VMs: install VirtualBox 7.1 or later (https://www.virtualbox.org/wiki/Downloads), or create the machine with -d qemu',
    );
    expect(err?.exitCode).toBe(3);
    expect(() => checkArmVersion(parseVersion('7.1.0r164728')!)).not.toThrow();
  });

  it('the driver refuses an ARM machine on VirtualBox 7.0 before creating anything, and lets 7.2 through', async () => {
    const preCreate = async (version: string) => {
      const r = new Replay()
        .on('VBoxManage --version', text(version))
        .on(/^VBoxManage showvminfo m /, recorded('VBoxManage_showvminfo_missing'));
      const h = fakeHost('darwin', { exec: r.exec, arch: 'arm64', env: { VBOX_MANAGE: VBM }, files: { [VBM]: '' } });
      const config = await configFromFlags(
        { 'virtualbox-no-hostonly': true, 'virtualbox-no-vtx-check': true },
        baseDriverConfig('m', '/s', '/k'),
        undefined,
        h,
      );
      const driver = new VirtualBoxDriver(config, { store: new Store('/s'), machineDir: '/s/machines/m' }, { host: h });
      const lines: string[] = [];
      await driver.preCreateCheck((l) => lines.push(l));
      return { lines, calls: r.lines };
    };
    await expect(preCreate('7.0.14r161095\n')).rejects.toMatchObject({ message: 'VirtualBox 7.0.14r161095 runs no ARM VMs', exitCode: 3 });
    const ok = await preCreate(VERSIONS['7.2']);
    expect(ok.lines).toContain(`VirtualBox 7.2.22_Debianr175245 (API 7_2) through ${VBM}`);
    expect(ok.calls).toEqual(['VBoxManage --version', 'VBoxManage showvminfo m --machinereadable']);
  });

  it('doctor: VirtualBox 7.1+ needs no kernel extension there; an older one is a warning with the fix', async () => {
    const doctorHost = (arch: 'x64' | 'arm64') =>
      ({ ...host('darwin', arch, 'absent', arch === 'x64'), exists: async () => false }) as unknown as DoctorSystem;
    const found = (raw: string) => ({ path: VBM, raw, version: parseVersion(raw) });
    expect(await vboxDriverCheck(doctorHost('arm64'), found('7.2.4r170995'))).toMatchObject({
      status: 'ok',
      message: 'Apple Silicon: VirtualBox 7.2.4r170995 runs ARM machines through Hypervisor.framework',
    });
    // Under Rosetta too (host.arch is x64): the same verdict, not the Intel kext check.
    expect(await vboxDriverCheck(doctorHost('x64'), found('7.0.14r161095'))).toMatchObject({
      status: 'warn',
      message: 'Apple Silicon: VirtualBox 7.0.14r161095 runs no ARM VMs',
      fix: expect.stringContaining('install VirtualBox 7.1 or later'),
    });
  });
});

describe('the VM definition (VBoxManage calls)', () => {
  const spec = (arch: GuestArch, natNicType: string): VmSpec => ({
    name: 'test',
    arch,
    baseFolder: '/store/machines/test',
    memoryMB: 1024,
    cpus: 2,
    natNicType,
    dnsProxy: true,
    hostDnsResolver: false,
    forwards: [{ name: 'ssh', proto: 'tcp', hostIp: '127.0.0.1', hostPort: 2222, guestIp: '', guestPort: 22 }],
    isoPath: '/store/machines/test/boot2docker.iso',
    diskPath: '/store/machines/test/disk.vdi',
    shares: [{ name: 'Users', hostPath: '/Users' }],
    serialLog: '/store/machines/test/serial.log',
  });
  const create = async (s: VmSpec) => {
    const r = new Replay().on(/^VBoxManage /, text('')).on(/^VBoxManage createvm /, recorded('VBoxManage_createvm'));
    await new VBoxManageBackend(new VBoxManage('VBoxManage', r.exec)).createVm(s);
    return r.lines.map((l) => l.replace('75a22ca9-739f-464b-b432-c9606d641bd3', 'UUID'));
  };
  const shareCalls = [
    'VBoxManage sharedfolder add UUID --name Users --hostpath /Users --automount',
    'VBoxManage setextradata UUID VBoxInternal2/SharedFoldersEnableSymlinksCreate/Users 1',
    'VBoxManage guestproperty set UUID /VirtualBox/GuestAdd/SharedFolders/MountPrefix /',
    'VBoxManage guestproperty set UUID /VirtualBox/GuestAdd/SharedFolders/MountDir /',
  ];

  it('x86: exactly the calls made before ARM VMs existed (recorded from the previous commit)', async () => {
    expect(await create(spec('amd64', '82540EM'))).toEqual([
      'VBoxManage createvm --basefolder /store/machines/test --name test --register',
      'VBoxManage modifyvm UUID --firmware bios --bioslogofadein off --bioslogofadeout off --bioslogodisplaytime 0 --biosbootmenu disabled --ostype Linux26_64 --cpus 2 --memory 1024 --acpi on --ioapic on --rtcuseutc on --natdnshostresolver1 off --natdnsproxy1 on --cpuhotplug off --pae on --hpet on --hwvirtex on --nestedpaging on --largepages on --vtxvpid on --accelerate3d off --boot1 dvd --boot2 disk --boot3 none --boot4 none --nic1 nat --nictype1 82540EM --cableconnected1 on --natpf1 ssh,tcp,127.0.0.1,2222,,22 --uart1 0x3F8 4 --uartmode1 file /store/machines/test/serial.log',
      'VBoxManage storagectl UUID --name SATA --add sata --hostiocache on',
      'VBoxManage storageattach UUID --storagectl SATA --port 0 --device 0 --type dvddrive --medium /store/machines/test/boot2docker.iso',
      'VBoxManage storageattach UUID --storagectl SATA --port 1 --device 0 --type hdd --medium /store/machines/test/disk.vdi --nonrotational on --discard on',
      ...shareCalls,
    ]);
  });

  it('ARM: the arm platform, armv8virtual, EFI, no x86 settings, virtio-net, the CD and disk on virtio-scsi, the same forwards and share', async () => {
    expect(await create(spec('arm64', 'virtio'))).toEqual([
      'VBoxManage createvm --basefolder /store/machines/test --name test --platform-architecture arm --register',
      'VBoxManage modifyvm UUID --chipset armv8virtual --firmware efi --ostype Linux_arm64 --cpus 2 --memory 1024 --acpi on --rtcuseutc on --natdnshostresolver1 off --natdnsproxy1 on --cpuhotplug off --graphicscontroller qemuramfb --mouse none --keyboard none --accelerate3d off --boot1 dvd --boot2 disk --boot3 none --boot4 none --nic1 nat --nictype1 virtio --cableconnected1 on --natpf1 ssh,tcp,127.0.0.1,2222,,22 --uart1 0x3F8 4 --uartmode1 file /store/machines/test/serial.log',
      'VBoxManage storagectl UUID --name VirtioSCSI --add virtio --controller VirtIO --hostiocache on',
      'VBoxManage storageattach UUID --storagectl VirtioSCSI --port 0 --device 0 --type dvddrive --medium /store/machines/test/boot2docker.iso',
      'VBoxManage storageattach UUID --storagectl VirtioSCSI --port 1 --device 0 --type hdd --medium /store/machines/test/disk.vdi --nonrotational on --discard on',
      ...shareCalls,
    ]);
  });

  it('gives an ARM VM none of the x86 settings it refuses (recorded VBoxManage 7.2: "Invalid option case N"), and x86 all of them', async () => {
    expect(recorded('VBoxManage_modifyvm_arm_pae')).toMatchObject({
      exitCode: 1,
      stderr: expect.stringMatching(/^VBoxManage: error: Invalid option case \d+$/m),
    });
    const modifyvm = async (arch: GuestArch) =>
      (await create(spec(arch, 'virtio'))).find((l) => l.startsWith('VBoxManage modifyvm'))!.split(' ');
    const [arm, x86] = [await modifyvm('arm64'), await modifyvm('amd64')];
    for (const x86Only of ['--pae', '--hpet', '--hwvirtex', '--nestedpaging', '--largepages', '--vtxvpid', '--ioapic', '--biosbootmenu']) {
      expect(arm, x86Only).not.toContain(x86Only);
      expect(x86, x86Only).toContain(x86Only);
    }
  });
});

describe('an ARM machine after create', () => {
  const driverFor = (config: Partial<VirtualBoxConfig>) =>
    new VirtualBoxDriver(
      { ...config, MachineName: 'm', Shares: [{ Name: 'Users', HostPath: '/Users', GuestPath: '/Users' }] } as VirtualBoxConfig,
      {
        store: new Store('/s'),
        machineDir: '/s/machines/m',
      },
    );

  it('mounts no vboxsf share (the arm64 ISO has none); x86 machines and stores without Arch (amd64) do', () => {
    expect(driverFor({ Arch: 'arm64' }).guestMounts()).toEqual([]);
    expect(driverFor({}).arch).toBe('amd64');
    expect(driverFor({}).guestMounts()).toEqual([{ type: 'vboxsf', source: 'Users', target: '/Users' }]);
  });

  it('reads the ARM VM VirtualBox 7.2 made (recorded showvminfo): its disk and CD on VirtioSCSI, the forwards, the share', () => {
    const info = vmInfoFromMachineReadable(recorded('VBoxManage_showvminfo_arm').stdout);
    expect(info.storage).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ controller: 'VirtioSCSI', port: 0, medium: expect.stringMatching(/boot2docker\.iso$/) }),
        expect.objectContaining({ controller: 'VirtioSCSI', port: 1, medium: expect.stringMatching(/disk\.vdi$/) }),
      ]),
    );
    expect(info.forwards.map((f) => f.name).sort()).toEqual(['docker', 'ssh']);
    expect(info.sharedFolders.map((s) => s.name)).toEqual(['Users']);
    expect(info.nics[0]).toMatchObject({ attachment: 'nat' });
  });

  it('started on an x86 host (a store moved there) says what it is in one line (recorded 7.2 startvm on amd64)', async () => {
    const r = new Replay()
      .on(/^VBoxManage showvminfo /, recorded('VBoxManage_showvminfo_arm'))
      .on(/^VBoxManage startvm /, recorded('VBoxManage_startvm_arm_on_x86'));
    const h = fakeHost('linux', { exec: r.exec, env: { VBOX_MANAGE: VBM }, files: { [VBM]: '' } });
    const config = { ...(await configFromFlags({ 'virtualbox-no-hostonly': true }, baseDriverConfig('m', '/s', '/k'), undefined, h)) };
    Object.assign(config, { Arch: 'arm64', UUID: 'c0ffee00-0000-4000-8000-000000000000', SSHPort: 2222, DockerPort: 2376 });
    const driver = new VirtualBoxDriver(config, { store: new Store('/s'), machineDir: '/s/machines/m' }, { host: h });
    const err = (await driver.start(() => undefined).catch((e: unknown) => e)) as MachineError;
    expect(err.line).toBe(
      'VirtualBox could not start machine "m": it is an ARM VM, and VirtualBox here runs x86 VMs only: create a new machine on this computer ("machine rm m", then "machine create")',
    );
  });
});
