import { describe, expect, it } from 'vitest';
import { MachineError } from '../../src/core/errors.js';
import { checkVersion, checkVirtualization, WINDOWS_PROBE } from '../../src/drivers/virtualbox/checks.js';
import { VirtualBoxDriver, type VirtualBoxConfig } from '../../src/drivers/virtualbox/driver.js';
import { findSibling, findVBoxManage } from '../../src/drivers/virtualbox/hostenv.js';
import { configFromFlags } from '../../src/drivers/virtualbox/index.js';
import { parseVersion } from '../../src/drivers/virtualbox/parse.js';
import { sharesFromConfig } from '../../src/drivers/virtualbox/shares.js';
import { soapTarget } from '../../src/drivers/virtualbox/soap/transport.js';
import { VBoxManage, VBoxManageBackend } from '../../src/drivers/virtualbox/vboxmanage.js';
import { baseDriverConfig } from '../../src/store/config.js';
import { Store } from '../../src/store/store.js';
import { fixture } from '../helpers/fixtures.js';
import * as dm from '../helpers/vboxFormats.js';
import { RECORDED } from '../helpers/vboxRecorded.js';
import { fakeHost, recorded, Replay, text } from '../helpers/vboxReplay.js';

/**
 * The driver's lifecycle against recorded VirtualBox 7.2 outputs replayed through its exec: the
 * decisions (state mapping, start diagnosis, stop timeout, remove order, IP discovery) on what
 * VirtualBox really prints, including what cannot happen on this host.
 */

const VBM = '/opt/VirtualBox/VBoxManage';
const V72 = parseVersion('7.2.22_Debianr175245')!;

async function driverFor(
  replay: Replay,
  config: Partial<VirtualBoxConfig> = {},
  opts: { platform?: NodeJS.Platform; files?: Record<string, string>; guest?: (cmd: string) => Promise<string> } = {},
) {
  const platform = opts.platform ?? 'linux';
  const base = baseDriverConfig('test', '/store', '/store/machines/test/id_ed25519');
  const flags = await configFromFlags({ 'virtualbox-no-hostonly': true }, base);
  const c = {
    ...flags,
    UUID: '75a22ca9-739f-464b-b432-c9606d641bd3',
    DiskPath: '/store/machines/test/disk.vdi',
    SSHPort: 2222,
    DockerPort: 2376,
    ...config,
  } as VirtualBoxConfig;
  const headless = platform === 'win32' ? 'C:\\VBox\\VBoxHeadless.exe' : '/opt/VirtualBox/VBoxHeadless';
  const vbm = platform === 'win32' ? 'C:\\VBox\\VBoxManage.exe' : VBM;
  const host = fakeHost(platform, { exec: replay.exec, env: { VBOX_MANAGE: vbm }, files: { [vbm]: '', [headless]: '', ...opts.files } });
  const lines: string[] = [];
  const driver = new VirtualBoxDriver(
    c,
    { store: new Store('/store'), machineDir: '/store/machines/test', guest: opts.guest },
    { host, pollIntervalMs: 5 },
  );
  return { driver, config: c, lines, report: (l: string) => lines.push(l) };
}

const SHOW = /^VBoxManage showvminfo \S+ --machinereadable$/;

describe('state', () => {
  it('maps the recorded states and says "machine does not exist" for a VM VirtualBox does not know', async () => {
    const r = new Replay().on(SHOW, recorded('showvminfo'));
    const { driver } = await driverFor(r);
    expect(await driver.state()).toBe('Stopped');
    r.on(SHOW, recorded('VBoxManage_showvminfo_running_driverless'));
    expect(await driver.state()).toBe('Running');
    r.on(SHOW, recorded('VBoxManage_showvminfo_missing'));
    await expect(driver.state()).rejects.toThrow('machine does not exist: VirtualBox has no VM "test"');
    // By UUID for our VMs; by name for docker-machine's (no UUID in its config).
    expect(r.lines[0]).toBe('VBoxManage showvminfo 75a22ca9-739f-464b-b432-c9606d641bd3 --machinereadable');
    const { driver: dmDriver } = await driverFor(r, { UUID: undefined });
    await dmDriver.state().catch(() => undefined);
    expect(r.lines.at(-1)).toBe('VBoxManage showvminfo test --machinereadable');
  });
});

describe('start', () => {
  const replayStart = (headless: string) =>
    new Replay()
      .on(SHOW, recorded('showvminfo'))
      .on(/^VBoxManage modifyvm \S+ --natpf1 /, recorded('VBoxManage_modifyvm_natpf1'))
      .on(/^VBoxManage startvm \S+ --type headless$/, recorded('VBoxManage_startvm_headless_no-vboxdrv'))
      .on('VBoxHeadless --help', recorded(headless));

  it('turns "terminated unexpectedly" into the cause the frontend gives (no kernel driver), in one line with the fix', async () => {
    const r = replayStart('VBoxHeadless_startvm_no-vboxdrv');
    const { driver, report } = await driverFor(r);
    const err = (await driver.start(report).catch((e: unknown) => e)) as MachineError;
    expect(err.line).toBe(
      'VirtualBox could not start machine "test": Kernel driver not installed (VERR_VM_DRIVER_NOT_INSTALLED, rc=-1908): load the VirtualBox kernel module: "sudo modprobe vboxdrv" (install virtualbox-dkms and your kernel\'s headers first, or run "sudo /sbin/vboxconfig" with Oracle\'s package; with Secure Boot the module must be signed)',
    );
    // The ssh forward of the recorded VM was replaced, the docker one added, in one modifyvm.
    expect(r.lines).toContain('VBoxManage modifyvm 75a22ca9-739f-464b-b432-c9606d641bd3 --natpf1 docker,tcp,127.0.0.1,2376,,2376');
  });

  it('names the other /dev/vboxdrv failures (ENXIO, a wrong node) with their own fix', async () => {
    const enxio = (await (
      await driverFor(replayStart('VBoxHeadless_devvboxdrv-enxio'))
    ).driver
      .start(() => undefined)
      .catch((e: unknown) => e)) as MachineError;
    expect(enxio.line).toMatch(
      /Kernel driver could not be loaded \(VERR_VM_DRIVER_LOAD_ERROR, rc=-1910\): the vboxdrv module does not load/,
    );
    const mismatch = (await (
      await driverFor(replayStart('VBoxHeadless_devvboxdrv-devnull'))
    ).driver
      .start(() => undefined)
      .catch((e: unknown) => e)) as MachineError;
    expect(mismatch.line).toMatch(
      /Kernel driver version mismatch \(VERR_VM_DRIVER_VERSION_MISMATCH, rc=-1912\): the loaded vboxdrv module belongs to another VirtualBox version/,
    );
  });

  it('gives the macOS and Windows fixes for the same failure', async () => {
    const mac = (await (
      await driverFor(replayStart('VBoxHeadless_startvm_no-vboxdrv'), {}, { platform: 'darwin' })
    ).driver
      .start(() => undefined)
      .catch((e: unknown) => e)) as MachineError;
    expect(mac.fix).toMatch(/System Settings > Privacy & Security/);
    const win = (await (
      await driverFor(replayStart('VBoxHeadless_startvm_no-vboxdrv'), {}, { platform: 'win32' })
    ).driver
      .start(() => undefined)
      .catch((e: unknown) => e)) as MachineError;
    expect(win.fix).toMatch(/sc query vboxsup/);
  });

  it('reports VT-x from VBox.log (docker-machine vtx_test.go line) instead of the generic failure', async () => {
    const r = replayStart('VBoxHeadless_startvm_no-vboxdrv');
    const { driver } = await driverFor(r, {}, { files: { '/root/VirtualBox VMs/test/Logs/VBox.log': `${dm.VBOXLOG_NO_VMX}\n` } });
    const err = (await driver.start(() => undefined).catch((e: unknown) => e)) as MachineError;
    expect(err.message).toBe(
      'VirtualBox could not start machine "test": This computer doesn\'t have VT-X/AMD-v enabled. Enabling it in the BIOS is mandatory (VERR_VMX_NO_VMX)',
    );
    expect(r.lines).not.toContain('VBoxHeadless --help');
  });

  it('Windows: attaches NIC2 to the adapter (a name with spaces), starts, and puts back the address VirtualBox lost on start', async () => {
    const lost = dm.HOSTONLYIFS_WINDOWS.replace('192.168.99.1', '0.0.0.0').replace('255.255.255.0', '15.0.0.0');
    const r = new Replay()
      .on(SHOW, recorded('showvminfo'))
      .on('VBoxManage --version', recorded('VBoxManage_--version'))
      .on('VBoxManage list hostonlyifs', (_a, n) => text(n === 1 ? dm.HOSTONLYIFS_WINDOWS : lost))
      .on('VBoxManage list dhcpservers', text(dm.DHCPSERVERS_PRE_61))
      .on(/^VBoxManage dhcpserver add /, recorded('VBoxManage_dhcpserver_add'))
      .on(/^VBoxManage modifyvm \S+ --nic2 /, text(''))
      .on(/^VBoxManage modifyvm \S+ --natpf1 /, recorded('VBoxManage_modifyvm_natpf1'))
      // VBoxManage's success text (no successful start could be recorded without a kernel driver).
      .on(/^VBoxManage startvm /, text('Waiting for VM "test" to power on...\nVM "test" has been successfully started.\n'))
      .on(/^VBoxManage hostonlyif ipconfig /, text(''));
    const { driver, lines, report } = await driverFor(r, { NoHostOnly: false, HostOnlyCIDR: '192.168.99.1/24' }, { platform: 'win32' });
    await driver.start(report);
    const id = '75a22ca9-739f-464b-b432-c9606d641bd3';
    expect(r.calls).toContainEqual([
      'VBoxManage',
      'modifyvm',
      id,
      '--nic2',
      'hostonly',
      '--hostonlyadapter2',
      'VirtualBox Host-Only Ethernet Adapter',
      '--nictype2',
      '82540EM',
      '--nicpromisc2',
      'deny',
      '--cableconnected2',
      'on',
    ]);
    expect(r.lines.slice(-2)).toEqual([
      'VBoxManage list hostonlyifs',
      'VBoxManage hostonlyif ipconfig VirtualBox Host-Only Ethernet Adapter --ip 192.168.99.1 --netmask 255.255.255.0',
    ]);
    expect(lines).toContain(
      'VirtualBox lost the address of VirtualBox Host-Only Ethernet Adapter (0.0.0.0/15.0.0.0); restoring 192.168.99.1/24',
    );
  });

  it('does nothing for a running VM', async () => {
    const r = new Replay().on(SHOW, recorded('VBoxManage_showvminfo_running_driverless'));
    const { driver } = await driverFor(r);
    await driver.start(() => undefined);
    expect(r.lines).toHaveLength(1);
  });
});

describe('stop, kill, remove', () => {
  it('stop: ACPI power button, then waits for poweroff', async () => {
    const r = new Replay()
      .on(SHOW, (_a, n) => recorded(n < 4 ? 'VBoxManage_showvminfo_running_driverless' : 'VBoxManage_showvminfo_after_poweroff'))
      .on(/^VBoxManage controlvm \S+ acpipowerbutton$/, recorded('VBoxManage_controlvm_acpipowerbutton'));
    const { driver, lines, report } = await driverFor(r);
    await driver.stop(report);
    expect(lines).toEqual(['Sending the ACPI power button']);
    expect(r.lines.filter((l) => l.includes('poweroff'))).toEqual([]);
  });

  it('stop: powers off when the guest ignores ACPI (docker-machine waited forever)', async () => {
    const r = new Replay()
      .on(SHOW, recorded('VBoxManage_showvminfo_running_driverless'))
      .on(/^VBoxManage controlvm \S+ acpipowerbutton$/, recorded('VBoxManage_controlvm_acpipowerbutton'))
      .on(/^VBoxManage controlvm \S+ poweroff$/, recorded('VBoxManage_controlvm_poweroff'));
    const { driver, lines, report } = await driverFor(r, { StopTimeout: 0.2 });
    await driver.stop(report);
    expect(lines).toEqual(['Sending the ACPI power button', 'The VM did not power off within 0.2s; turning it off']);
    expect(r.lines.at(-1)).toBe('VBoxManage controlvm 75a22ca9-739f-464b-b432-c9606d641bd3 poweroff');
  });

  it('stop: a VM that vanishes while powering off is an error, not a hard power-off', async () => {
    const r = new Replay()
      .on(SHOW, (_a, n) => recorded(n < 2 ? 'VBoxManage_showvminfo_running_driverless' : 'VBoxManage_showvminfo_missing'))
      .on(/^VBoxManage controlvm \S+ acpipowerbutton$/, recorded('VBoxManage_controlvm_acpipowerbutton'));
    const { driver, lines, report } = await driverFor(r);
    await expect(driver.stop(report)).rejects.toThrow('machine does not exist: VirtualBox has no VM "test"');
    expect(lines).toEqual(['Sending the ACPI power button']);
    expect(r.lines.filter((l) => l.includes('poweroff'))).toEqual([]);
  });

  it('kill of a VM that is not running is not an error (recorded "is not currently running")', async () => {
    const r = new Replay().on(/poweroff$/, recorded('VBoxManage_controlvm_poweroff_notrunning'));
    await (await driverFor(r)).driver.kill();
  });

  it('remove: powers off a running VM, unregisters with --delete, forgets our disk and the ISO', async () => {
    const r = new Replay()
      .on(SHOW, recorded('VBoxManage_showvminfo_running_driverless'))
      .on(/poweroff$/, recorded('VBoxManage_controlvm_poweroff'))
      .on(/^VBoxManage unregistervm \S+ --delete$/, recorded('VBoxManage_unregistervm_delete'))
      .on(/^VBoxManage closemedium /, RECORDED.closemedium_missing ? recorded('closemedium_missing') : text(''));
    const { driver } = await driverFor(r);
    await driver.remove();
    const id = '75a22ca9-739f-464b-b432-c9606d641bd3';
    expect(r.lines).toEqual([
      `VBoxManage showvminfo ${id} --machinereadable`,
      `VBoxManage controlvm ${id} poweroff`,
      `VBoxManage unregistervm ${id} --delete`,
      'VBoxManage closemedium disk /store/machines/test/disk.vdi --delete',
      'VBoxManage closemedium dvd /store/machines/test/boot2docker.iso',
    ]);
  });

  it('remove: an inaccessible VM (folder deleted) is still unregistered, through the recorded "object is not ready"', async () => {
    const r = new Replay()
      .on(SHOW, recorded('showvminfo_inaccessible'))
      .on(/poweroff$/, recorded('VBoxManage_controlvm_poweroff_notrunning'))
      .on(/^VBoxManage unregistervm \S+ --delete$/, (_a, n) =>
        recorded(n === 1 ? 'unregistervm_delete_inaccessible' : 'unregistervm_missing'),
      )
      .on(/^VBoxManage closemedium /, recorded('closemedium_missing'));
    await (await driverFor(r)).driver.remove();
    expect(r.lines.filter((l) => l.startsWith('VBoxManage unregistervm'))).toHaveLength(2);
  });

  it('remove: a VM already gone is not an error; a create that never registered one touches no VM of that name', async () => {
    const gone = new Replay()
      .on(SHOW, recorded('VBoxManage_showvminfo_missing'))
      .on(/^VBoxManage closemedium /, recorded('closemedium_missing'));
    await (await driverFor(gone)).driver.remove();
    expect(gone.lines.some((l) => l.includes('unregistervm'))).toBe(false);
    const never = new Replay().on(/^VBoxManage closemedium /, recorded('closemedium_missing'));
    await (await driverFor(never, { UUID: '' })).driver.remove();
    expect(never.lines.every((l) => l.startsWith('VBoxManage closemedium'))).toBe(true);
  });
});

describe('addresses', () => {
  // The recorded running VM, with NIC2 attached as in docker-machine's TestGetHostOnlyMACAddress vector.
  const runningWithHostOnly = () => {
    const r = recorded('VBoxManage_showvminfo_running_driverless');
    return { ...r, stdout: r.stdout.replace('nic2="none"', 'nic2="hostonly"') + dm.SHOWVMINFO_HOSTONLY_MAC };
  };

  it("ip(): NIC2's MAC found in the guest's `ip addr show` over SSH; certHosts() covers it", async () => {
    const r = new Replay().on(SHOW, runningWithHostOnly());
    const guestCalls: string[] = [];
    const guest = async (cmd: string) => (guestCalls.push(cmd), dm.IP_ADDR_SHOW);
    const { driver, config } = await driverFor(r, { NoHostOnly: false }, { guest });
    expect(await driver.ip()).toBe('1.2.3.4');
    expect(config.IPAddress).toBe('1.2.3.4');
    expect(await driver.certHosts()).toEqual(['1.2.3.4']);
    expect(guestCalls).toEqual(['ip addr show', 'ip addr show']);
    // Docker goes through the 127.0.0.1 forward, not the host-only address.
    expect(await driver.dockerEndpoint()).toEqual({ host: '127.0.0.1', port: 2376 });
  });

  it('a docker-machine machine not yet restarted by us keeps tcp://<host-only IP>:2376', async () => {
    const r = new Replay().on(SHOW, runningWithHostOnly());
    const { driver } = await driverFor(r, { NoHostOnly: undefined, DockerPort: undefined }, { guest: async () => dm.IP_ADDR_SHOW });
    expect(await driver.dockerEndpoint()).toEqual({ host: '1.2.3.4', port: 2376 });
  });

  it('before create (certificates come first in the pipeline) asks VirtualBox nothing: 127.0.0.1, no host-only address yet', async () => {
    const r = new Replay();
    const { driver } = await driverFor(r, { NoHostOnly: false, UUID: '', DockerPort: 0 });
    expect(await driver.dockerEndpoint()).toEqual({ host: '127.0.0.1', port: 0 });
    expect(await driver.certHosts()).toEqual([]);
    expect(r.calls).toEqual([]);
  });

  it('ip() of a stopped VM is docker-machine\'s "Host is not running"; NAT-only machines answer 127.0.0.1', async () => {
    const r = new Replay().on(SHOW, recorded('showvminfo'));
    const { driver } = await driverFor(r, { NoHostOnly: false }, { guest: async () => '' });
    await expect(driver.ip()).rejects.toThrow('Host is not running');
    expect(await driver.certHosts()).toEqual([]);
    const nat = (await driverFor(new Replay())).driver;
    expect(await nat.ip()).toBe('127.0.0.1');
    expect(await nat.certHosts()).toEqual([]);
  });
});

describe('preCreateCheck', () => {
  const replayCheck = () =>
    new Replay()
      .on('VBoxManage --version', recorded('wrapper_VBoxManage_--version'))
      .on('VBoxManage list hostinfo', recorded('VBoxManage_list_hostinfo'))
      .on('VBoxManage list hostonlyifs', recorded('VBoxManage_list_hostonlyifs'))
      .on(SHOW, recorded('VBoxManage_showvminfo_missing'));

  it('on this kind of host (a VM without nested VT-x; VirtualBox says so too) fails with exit code 3 and the fix', async () => {
    const { driver } = await driverFor(
      replayCheck(),
      { NoVTXCheck: false },
      { files: { '/proc/cpuinfo': 'processor\t: 0\nflags\t\t: fpu vme sse2 ht syscall nx lm hypervisor\n' } },
    );
    const err = (await driver.preCreateCheck(() => undefined).catch((e: unknown) => e)) as MachineError;
    expect(err.exitCode).toBe(3);
    expect(err.message).toBe("This computer doesn't have VT-X/AMD-v enabled: it is a virtual machine without nested virtualization");
    expect(err.fix).toMatch(/--virtualbox-no-vtx-check/);
  });

  it('with --virtualbox-no-vtx-check: reports the version, the wrapper banner, the default CIDR for VirtualBox 7.2 on Linux', async () => {
    const r = replayCheck();
    const { driver, lines, report, config } = await driverFor(r, { NoVTXCheck: true, NoHostOnly: false, HostOnlyCIDR: '' });
    await driver.preCreateCheck(report);
    expect(lines).toContain(`VirtualBox 7.2.22_Debianr175245 (API 7_2) through ${VBM}`);
    expect(lines).toContain('VBoxManage says: The character device /dev/vboxdrv does not exist.');
    expect(config.HostOnlyCIDR).toBe('192.168.59.1/24');
    expect(r.lines).not.toContain('VBoxManage list hostinfo');
  });

  it('refuses VirtualBox older than 5 as docker-machine did, warns for 4.3 and pre-6.1', () => {
    expect(() => checkVersion(parseVersion('4.2.36-104064'), '4.2.36-104064')).toThrow(
      'We support VirtualBox starting with version 5. Your VirtualBox install is "4.2.36-104064"',
    );
    expect(() => checkVersion(undefined, 'X.Y')).toThrow(MachineError);
    expect(checkVersion(parseVersion('4.3.1'), '4.3.1')[0]).toMatch(/^You are using version 4.3.1 of VirtualBox/);
    expect(checkVersion(parseVersion('6.0.24r139119'), '')[0]).toMatch(/old/);
    expect(checkVersion(V72, '')).toEqual([]);
  });
});

describe('pre-create checks on other platforms (their probes replayed)', () => {
  const ps = (out: string) => new Replay().on(/^powershell -NoProfile/, text(out));

  it('Windows with Hyper-V/WSL2 and VirtualBox 7: a warning that it works, slowly; VirtualBox 5: an error', async () => {
    const r = ps('HypervisorPresent=True\r\nVirtualizationFirmwareEnabled=False\r\nVMMonitorModeExtensions=True\r\nVBSStatus=2\r\n');
    const host = fakeHost('win32', { exec: r.exec });
    const verdict = await checkVirtualization(host, V72, false);
    expect(verdict.warnings[0]).toMatch(
      /^Hyper-V \(or WSL2.*is active: VirtualBox 7\.2 runs on top of it through the Windows Hypervisor Platform, which works but is much slower/,
    );
    expect(r.calls[0]).toEqual(['powershell', '-NoProfile', '-NonInteractive', '-Command', WINDOWS_PROBE]);
    await expect(checkVirtualization(host, parseVersion('5.2.44r139111')!)).rejects.toThrow(/cannot run a 64-bit VM beside it/);
  });

  it('Windows with VT-x off in the firmware, and with PowerShell failing (a warning, not a refusal)', async () => {
    const off = fakeHost('win32', {
      exec: ps('HypervisorPresent=False\r\nVirtualizationFirmwareEnabled=False\r\nVMMonitorModeExtensions=True\r\nVBSStatus=0\r\n').exec,
    });
    await expect(checkVirtualization(off, V72)).rejects.toThrow("This computer doesn't have VT-X/AMD-v enabled");
    const broken = fakeHost('win32', { exec: new Replay().on(/^powershell/, text('', 'not recognized', 1)).exec });
    expect((await checkVirtualization(broken, V72)).warnings[0]).toMatch(/Could not check/);
  });

  it('Apple Silicon passes on Hypervisor.framework (its ARM VMs are checked by version, not refused); Intel Macs need kern.hv_support', async () => {
    const arm = new Replay().on('sysctl -n kern.hv_support', text('1\n'));
    expect(await checkVirtualization(fakeHost('darwin', { exec: arm.exec, arch: 'arm64' }), V72, true)).toEqual({ warnings: [] });
    expect(arm.lines).toEqual(['sysctl -n kern.hv_support']);
    const intel = new Replay().on('sysctl -n kern.hv_support', text('0\n'));
    await expect(checkVirtualization(fakeHost('darwin', { exec: intel.exec }), V72)).rejects.toThrow(/kern.hv_support is 0/);
    const ok = new Replay().on('sysctl -n kern.hv_support', text('1\n'));
    expect(await checkVirtualization(fakeHost('darwin', { exec: ok.exec }), V72, true)).toEqual({ warnings: [] });
  });
});

describe('finding VBoxManage', () => {
  const none = new Replay().on(/^reg query/, text('', 'ERROR: The system was unable to find the specified registry key or value.', 1));

  it('Windows: VBOX_INSTALL_PATH, VBOX_MSI_INSTALL_PATH, Program Files, the registry, PATH, in that order', async () => {
    const exe = 'D:\\Apps\\Oracle VM\\VBoxManage.exe';
    expect(
      await findVBoxManage(
        fakeHost('win32', { exec: none.exec, env: { VBOX_MSI_INSTALL_PATH: 'D:\\Apps\\Oracle VM\\' }, files: { [exe]: '' } }),
      ),
    ).toEqual({ path: exe, source: 'VBOX_MSI_INSTALL_PATH' });
    const pf = 'C:\\Program Files\\Oracle\\VirtualBox\\VBoxManage.exe';
    expect(
      (await findVBoxManage(fakeHost('win32', { exec: none.exec, env: { ProgramFiles: 'C:\\Program Files' }, files: { [pf]: '' } })))
        .source,
    ).toBe('Program Files');
    const reg = new Replay().on(
      /^reg query HKLM\\SOFTWARE\\Oracle\\VirtualBox \/v InstallDir$/,
      text('\r\nHKEY_LOCAL_MACHINE\\SOFTWARE\\Oracle\\VirtualBox\r\n    InstallDir    REG_SZ    E:\\VirtualBox\\\r\n\r\n'),
    );
    expect(await findVBoxManage(fakeHost('win32', { exec: reg.exec, files: { 'E:\\VirtualBox\\VBoxManage.exe': '' } }))).toEqual({
      path: 'E:\\VirtualBox\\VBoxManage.exe',
      source: 'registry',
    });
    const inPath = 'C:\\Tools\\VBox\\VBoxManage.exe';
    expect(
      (
        await findVBoxManage(
          fakeHost('win32', { exec: none.exec, env: { Path: 'C:\\Windows;"C:\\Tools\\VBox"' }, files: { [inPath]: '' } }),
        )
      ).path,
    ).toBe(inPath);
    const err = (await findVBoxManage(fakeHost('win32', { exec: none.exec })).catch((e: unknown) => e)) as MachineError;
    expect(err.exitCode).toBe(3);
    expect(err.line).toMatch(/^VBoxManage not found: install VirtualBox .* or set VBOX_MANAGE to the VBoxManage program$/);
  });

  it('macOS and Linux: PATH, then the usual folders; VBOX_MANAGE and the flag first; siblings next to it', async () => {
    const app = '/Applications/VirtualBox.app/Contents/MacOS/VBoxManage';
    expect(await findVBoxManage(fakeHost('darwin', { exec: none.exec, env: { PATH: '/usr/bin:/bin' }, files: { [app]: '' } }))).toEqual({
      path: app,
      source: 'install folder',
    });
    expect(
      (
        await findVBoxManage(
          fakeHost('linux', { exec: none.exec, env: { PATH: '/usr/local/bin:/usr/bin' }, files: { '/usr/bin/VBoxManage': '' } }),
        )
      ).source,
    ).toBe('PATH');
    const host = fakeHost('linux', {
      exec: none.exec,
      env: { VBOX_MANAGE: '/x/VBoxManage' },
      files: { '/x/VBoxManage': '', '/y/VBoxManage': '', '/x/vboxwebsrv': '' },
    });
    expect((await findVBoxManage(host)).source).toBe('VBOX_MANAGE');
    expect(await findVBoxManage(host, '/y/VBoxManage')).toEqual({ path: '/y/VBoxManage', source: '--virtualbox-vboxmanage' });
    await expect(findVBoxManage(host, '/nope/VBoxManage')).rejects.toThrow(
      'VBoxManage not found: /nope/VBoxManage (from --virtualbox-vboxmanage) does not exist',
    );
    expect(await findSibling(host, '/x/VBoxManage', 'vboxwebsrv')).toBe('/x/vboxwebsrv');
    const win = fakeHost('win32', { exec: none.exec, files: { 'C:\\VBox\\VBoxWebSrv.exe': '' } });
    expect(await findSibling(win, 'C:\\VBox\\VBoxManage.exe', 'vboxwebsrv')).toBe('C:\\VBox\\VBoxWebSrv.exe');
  });
});

describe('VBoxManage calls', () => {
  it('retries the transient errors and fails on "error:" even with exit code 0', async () => {
    const r = new Replay()
      .on('VBoxManage unregistervm x --delete', (_a, n) => recorded(n === 1 ? 'unregistervm_delete_inaccessible' : 'unregistervm_missing'))
      // The real stderr of a failed call, with the exit code 0 VBoxManage sometimes gives (vbm.go).
      .on('VBoxManage hostonlyif create', { ...recorded('VBoxManage_hostonlyif_create'), exitCode: 0 });
    const be = new VBoxManageBackend(new VBoxManage('VBoxManage', r.exec, { retryDelayMs: 1 }));
    expect(await be.unregisterDelete('x')).toBe('absent');
    await expect(be.createHostOnlyIf()).rejects.toThrow(
      'VBoxManage hostonlyif create failed: Failed to create the host-only adapter: VBoxNetAdpCtl: Error while adding new interface: failed to open /dev/vboxnetctl: No such file or directory',
    );
  });

  it('makes the userdata disk from a small raw file and --resizebyte (recorded: --resize refuses the factor)', async () => {
    expect(RECORDED.modifymedium_resize_refused!.stderr).toMatch(/Use --resizebyte if this is intended/);
    const r = new Replay()
      .on('VBoxManage --version', recorded('VBoxManage_--version'))
      .on(/^VBoxManage convertfromraw /, recorded('VBoxManage_convertfromraw'))
      .on(/^VBoxManage modifymedium disk /, recorded('modifymedium_resizebyte'));
    const be = new VBoxManageBackend(new VBoxManage('VBoxManage', r.exec));
    const os = await import('node:os');
    const { promises: fs } = await import('node:fs');
    const dir = await fs.mkdtemp(`${os.tmpdir()}/vbdisk-`);
    await be.makeDisk(`${dir}/disk.vdi`, Buffer.from('head'), 20000);
    expect(r.lines.slice(1)).toEqual([
      `VBoxManage convertfromraw ${dir}/disk.vdi.raw ${dir}/disk.vdi --format VDI`,
      `VBoxManage modifymedium disk ${dir}/disk.vdi --resizebyte 20971520000`,
    ]);
    expect(await fs.readdir(dir)).toEqual([]);
    await fs.rm(dir, { recursive: true });
  });
});

describe('configuration', () => {
  it("keeps every field of docker-machine's VirtualBox config.json, with its defaults", async () => {
    const stored = JSON.parse(fixture('docker-machine/store-sample/machines/default/config.json')) as { Driver: Record<string, unknown> };
    const c = await configFromFlags({}, baseDriverConfig('default', '/s', '/s/machines/default/id_rsa'));
    for (const key of Object.keys(stored.Driver)) expect(c, key).toHaveProperty(key);
    expect(c).toMatchObject({
      CPU: 1,
      Memory: 1024,
      DiskSize: 20000,
      NatNicType: '82540EM',
      HostOnlyNicType: '82540EM',
      HostOnlyPromiscMode: 'deny',
      UIType: 'headless',
      DNSProxy: true,
      NoShare: false,
      API: 'vboxmanage',
    });
  });

  it('validates flags with the fix in the message', async () => {
    const base = baseDriverConfig('x', '/s', '/k');
    await expect(configFromFlags({ 'virtualbox-hostonly-cidr': '192.168.99.0/24' }, base)).rejects.toThrow(/network address/);
    await expect(configFromFlags({ 'virtualbox-nat-nictype': 'e1000' }, base)).rejects.toMatchObject({
      line: '--virtualbox-nat-nictype "e1000" is not valid: use one of: Am79C970A, Am79C973, 82540EM, 82543GC, 82545EM, virtio',
    });
    await expect(configFromFlags({ 'virtualbox-share-folder': '/data' }, base)).rejects.toMatchObject({
      fix: expect.stringMatching(/DIR:NAME/),
    });
    await expect(configFromFlags({ 'virtualbox-soap-url': 'http://10.1.2.3:18083/' }, base)).rejects.toThrow(
      /not on this machine and no credentials/,
    );
    expect(soapTarget('http://alice:s%3Fcret@10.1.2.3:18083/')).toEqual({
      endpoint: 'http://10.1.2.3:18083/',
      username: 'alice',
      password: 's?cret',
    });
    expect(soapTarget('http://127.0.0.1:18083/').username).toBe('');
  });

  it("shares Toolbox's folders by default, and names with spaces mount where the user said", () => {
    expect(sharesFromConfig({ NoShare: false, ShareFolder: '' }, 'win32')).toEqual([
      { Name: 'c/Users', HostPath: '\\\\?\\c:\\Users', GuestPath: '/c/Users' },
    ]);
    expect(sharesFromConfig({ NoShare: false, ShareFolder: '' }, 'darwin')).toEqual([
      { Name: 'Users', HostPath: '/Users', GuestPath: '/Users' },
    ]);
    expect(sharesFromConfig({ NoShare: false, ShareFolder: '' }, 'linux')).toEqual([
      { Name: 'hosthome', HostPath: '/home', GuestPath: '/hosthome' },
    ]);
    expect(sharesFromConfig({ NoShare: false, ShareFolder: 'C:\\My Projects:My Projects' }, 'win32')).toEqual([
      { Name: 'My_Projects', HostPath: 'C:\\My Projects', GuestPath: '/My Projects' },
    ]);
    expect(sharesFromConfig({ NoShare: false, ShareFolder: '/data/src:' }, 'linux')).toEqual([
      { Name: 'data/src', HostPath: '/data/src', GuestPath: '/data/src' },
    ]);
    expect(sharesFromConfig({ NoShare: true, ShareFolder: '/x:y' }, 'linux')).toEqual([]);
  });
});
