import { describe, expect, it } from 'vitest';
import { errorKind } from '../../src/drivers/virtualbox/backend.js';
import {
  dedupeHostOnlyIfs,
  errorLines,
  formatForward,
  hardeningProblem,
  hasError,
  isMachineNotFound,
  isTransient,
  lastLogError,
  machineState,
  parseCreatedHostOnlyIf,
  parseCreatedVmUuid,
  parseDhcpServers,
  parseForward,
  parseFrontendError,
  parseGuestProperty,
  parseHostInfo,
  parseHostOnlyIfs,
  parseHostOnlyNets,
  parseIpForMac,
  parseListVms,
  parseMachineReadable,
  parseNetworksConf,
  parseRegQuery,
  parseVersion,
  shortStateName,
  stripWrapperBanner,
  versionAtLeast,
  vmInfoFromMachineReadable,
  vtxProblemInLog,
} from '../../src/drivers/virtualbox/parse.js';
import { fixture } from '../helpers/fixtures.js';
import * as dm from '../helpers/vboxFormats.js';
import { RECORDED } from '../helpers/vboxRecorded.js';
import { recorded, recordedNames } from '../helpers/vboxReplay.js';

describe('every recorded VirtualBox 7.2 call', () => {
  const names = recordedNames();

  it('is judged as VirtualBox judged it: failed exactly when the exit code says so (progress and warnings on stderr are not errors)', () => {
    expect(names.length).toBeGreaterThan(80);
    for (const name of names) {
      const r = recorded(name);
      const failed = r.exitCode !== 0 || hasError(r.stderr);
      expect(failed, `${name}: ${r.stderr}`).toBe(r.exitCode !== 0);
    }
    for (const [name, r] of Object.entries(RECORDED)) expect(r.rc !== 0 || hasError(r.stderr), name).toBe(r.rc !== 0);
  });

  it('fails with one first error line that is not a Details/Context line', () => {
    for (const name of names.filter((n) => n.startsWith('VBoxManage') || n.startsWith('nonroot_VBoxManage'))) {
      const r = recorded(name);
      if (r.exitCode === 0) continue;
      const lines = errorLines(r.stderr);
      expect(lines.length, name).toBeGreaterThan(0);
      expect(lines[0], name).not.toMatch(/^(Details|Context):/);
    }
    expect(errorLines(recorded('VBoxManage_startvm_headless_no-vboxdrv').stderr)).toEqual([
      "The virtual machine 'test' has terminated unexpectedly during startup with exit code 1 (0x1)",
    ]);
    expect(errorLines(recorded('VBoxManage_hostonlyif_create').stderr)[0]).toBe('Failed to create the host-only adapter');
  });

  it('maps errors to kinds: not-found, not-running, access-denied', () => {
    expect(errorKind(recorded('VBoxManage_showvminfo_missing').stderr)).toBe('not-found');
    expect(errorKind(recorded('VBoxManage_startvm_missing').stderr)).toBe('not-found');
    expect(errorKind(RECORDED.unregistervm_missing!.stderr)).toBe('not-found');
    expect(isMachineNotFound(recorded('VBoxManage_showvminfo_missing').stderr)).toBe('doesnotexist');
    expect(errorKind(recorded('VBoxManage_controlvm_poweroff_notrunning').stderr)).toBe('not-running');
    expect(errorKind(RECORDED.controlvm_acpipowerbutton_notrunning!.stderr)).toBe('not-running');
    expect(errorKind(dm.IPCONFIG_ACCESS_DENIED)).toBe('access-denied');
    expect(errorKind(recorded('VBoxManage_hostonlyif_create').stderr)).toBe('failed');
    // The transient ones VBoxManage is retried on.
    expect(isTransient(RECORDED.unregistervm_delete_inaccessible!.stderr)).toBe(true);
    expect(isTransient('VBoxManage: error: Failed to create the VirtualBox object!')).toBe(true);
    expect(isTransient(recorded('VBoxManage_startvm_headless_no-vboxdrv').stderr)).toBe(false);
  });
});

describe('VBoxManage output hygiene', () => {
  it("drops the /usr/bin wrapper's WARNING banner from stdout and keeps its first line", () => {
    const r = recorded('wrapper_VBoxManage_--version');
    const { stdout, banner } = stripWrapperBanner(r.stdout);
    expect(stdout).toBe(recorded('VBoxManage_--version').stdout);
    expect(banner).toBe('The character device /dev/vboxdrv does not exist.');
    expect(stripWrapperBanner('7.2.22r1\n')).toEqual({ stdout: '7.2.22r1\n' });
  });

  it('reads "No value set!" as no value', () => {
    expect(parseGuestProperty(recorded('VBoxManage_guestproperty_get_missing').stdout)).toBeUndefined();
    expect(parseGuestProperty(recorded('VBoxManage_guestproperty_get').stdout)).toBe('/');
  });

  it('reads the UUID createvm prints, and the adapter hostonlyif create names', () => {
    expect(parseCreatedVmUuid(recorded('VBoxManage_createvm').stdout)).toBe('75a22ca9-739f-464b-b432-c9606d641bd3');
    expect(parseCreatedHostOnlyIf(dm.HOSTONLYIF_CREATED_WINDOWS)).toBe('VirtualBox Host-Only Ethernet Adapter');
    expect(parseCreatedHostOnlyIf(recorded('VBoxManage_hostonlyif_create').stdout)).toBeUndefined();
  });
});

describe('--version', () => {
  it('parses every recorded and docker-machine-tested version string', () => {
    expect(parseVersion(recorded('VBoxManage_--version').stdout)).toEqual({
      raw: '7.2.22_Debianr175245',
      major: 7,
      minor: 2,
      patch: 22,
      revision: 175245,
    });
    expect(parseVersion(recorded('nonroot_VBoxManage_--version').stdout)?.major).toBe(7);
    // The banner is stripped before, but the last line is the version anyway.
    expect(parseVersion(recorded('wrapper_VBoxManage_--version').stdout)?.minor).toBe(2);
    for (const v of ['5.1', '5.0.8r103449', '5.0', '4.10', '4.3.1', '6.0.24r139119']) expect(parseVersion(v), v).toBeDefined();
    for (const v of ['X.Y', '']) expect(parseVersion(v), v).toBeUndefined();
    const v = parseVersion('6.1.28r147628')!;
    expect(versionAtLeast(v, 6, 1, 28)).toBe(true);
    expect(versionAtLeast(parseVersion('6.1.26r145957')!, 6, 1, 28)).toBe(false);
  });
});

describe('showvminfo --machinereadable', () => {
  it('reads the VM docker-machine made (recorded 7.2): NIC1 NAT, the ssh forward, ISO on port 0, disk on port 1, the share', () => {
    const info = vmInfoFromMachineReadable(recorded('showvminfo').stdout);
    expect(info).toMatchObject({
      name: 'test',
      uuid: '75a22ca9-739f-464b-b432-c9606d641bd3',
      state: 'poweroff',
      memory: 1024,
      cpus: 1,
      cfgFile: '/root/VirtualBox VMs/test/test.vbox',
      logFolder: '/root/VirtualBox VMs/test/Logs',
      bootOrder: ['dvd', 'dvd', 'disk'],
      forwards: [{ name: 'ssh', proto: 'tcp', hostIp: '127.0.0.1', hostPort: 2222, guestIp: '', guestPort: 22 }],
      sharedFolders: [{ name: 'work-share', hostPath: '/vbox-data/share' }],
      uart1: 'off',
    });
    expect(info.nics[0]).toEqual({
      slot: 1,
      attachment: 'nat',
      adapterType: '82540EM',
      mac: '080027afe3d8',
      hostOnlyAdapter: undefined,
      hostOnlyNetwork: undefined,
      cableConnected: true,
      promisc: undefined,
    });
    expect(info.nics.slice(1).every((n) => n.attachment === 'none')).toBe(true);
    expect(info.storage).toEqual([
      { controller: 'SATA', port: 0, device: 0, medium: '/vbox-data/dummy.iso' },
      { controller: 'SATA', port: 1, device: 0, medium: '/vbox-data/disk.vmdk' },
      { controller: 'SATA', port: 2, device: 0, medium: '/vbox-data/disk100.vmdk' },
    ]);
    // The line without "=" (" rec_screen0") and the odd ones while running are skipped or kept raw.
    const running = parseMachineReadable(recorded('VBoxManage_showvminfo_running_driverless').stdout);
    expect(running.get('VMState')).toBe('running');
    expect(running.get('VRDEClients')).toBe('=0');
    expect(running.get('VideoMode')).toBe('"720,400,0"@0,0 1');
    expect(running.has(' rec_screen0')).toBe(false);
  });

  it('maps every recorded state, and the states of docker-machine TestState, to docker-machine states', () => {
    const states: Record<string, string> = {
      showvminfo: 'Stopped',
      VBoxManage_showvminfo_after_startvm: 'Stopped',
      VBoxManage_showvminfo_running_driverless: 'Running',
      VBoxManage_showvminfo_after_poweroff: 'Stopped',
      VBoxManage_showvminfo_aborted: 'Stopped',
      VBoxManage_showvminfo_uuid_machinereadable: 'Stopped',
    };
    for (const [name, want] of Object.entries(states))
      expect(machineState(vmInfoFromMachineReadable(recorded(name).stdout).state), name).toBe(want);
    const dmCases: [string, string][] = [
      ['running', 'Running'],
      ['paused', 'Paused'],
      ['saved', 'Saved'],
      ['poweroff', 'Stopped'],
      ['aborted', 'Stopped'],
      ['whatever', ''],
      ['', ''],
    ];
    for (const [raw, want] of dmCases) expect(machineState(vmInfoFromMachineReadable(`VMState="${raw}"\n`).state), raw).toBe(want);
    // What docker-machine left as None: transitions and the stuck VM.
    expect(machineState('starting')).toBe('Starting');
    expect(machineState('stopping')).toBe('Stopping');
    expect(machineState('saving')).toBe('Stopping');
    expect(machineState('restoring')).toBe('Starting');
    expect(machineState('gurumeditation')).toBe('Error');
    expect(machineState('aborted-saved')).toBe('Saved');
    // The web service's names.
    for (const [api, want] of [
      ['PoweredOff', 'Stopped'],
      ['Stuck', 'Error'],
      ['AbortedSaved', 'Saved'],
      ['Running', 'Running'],
      ['LiveSnapshotting', 'Running'],
    ]) {
      expect(machineState(shortStateName(api!)), api).toBe(want);
    }
  });

  it("reads docker-machine's test VM info and its host-only MAC vector", () => {
    const info = vmInfoFromMachineReadable(dm.SHOWVMINFO_DOCKER_MACHINE);
    expect(info.memory).toBe(1024);
    expect(info.cpus).toBe(2);
    expect(info.nics).toEqual([expect.objectContaining({ slot: 1, attachment: 'nat' })]);
    const mac = vmInfoFromMachineReadable(dm.SHOWVMINFO_HOSTONLY_MAC);
    expect(mac.nics).toEqual([
      expect.objectContaining({ slot: 2, attachment: 'hostonly', hostOnlyAdapter: 'vboxnet1', mac: '004488aabbcc' }),
    ]);
    expect(vmInfoFromMachineReadable('unrelatedfield=whatever\n').nics).toEqual([]);
  });

  it('round-trips forwarding rules, in both the VBoxManage and the web-service spelling', () => {
    expect(formatForward(parseForward('ssh,tcp,127.0.0.1,2222,,22')!)).toBe('ssh,tcp,127.0.0.1,2222,,22');
    expect(parseForward('docker,1,127.0.0.1,5000,,2376')).toEqual({
      name: 'docker',
      proto: 'tcp',
      hostIp: '127.0.0.1',
      hostPort: 5000,
      guestIp: '',
      guestPort: 2376,
    });
    expect(parseForward('broken')).toBeUndefined();
  });

  it('unescapes quoted values (share names with backslashes and quotes)', () => {
    const m = parseMachineReadable('SharedFolderNameMachineMapping3="a\\\\b"\nSharedFolderNameMachineMapping7="x\\"y"\n');
    expect(m.get('SharedFolderNameMachineMapping3')).toBe('a\\b');
    expect(m.get('SharedFolderNameMachineMapping7')).toBe('x"y');
  });
});

describe('list vms / runningvms', () => {
  it('reads names and UUIDs, including inaccessible VMs', () => {
    expect(parseListVms(recorded('VBoxManage_list_vms').stdout)).toEqual([]);
    expect(parseListVms(recorded('VBoxManage_list_runningvms_driverless').stdout)).toEqual([
      { name: 'test', uuid: '75a22ca9-739f-464b-b432-c9606d641bd3' },
    ]);
    expect(parseListVms(RECORDED.list_vms_inaccessible!.stdout)).toEqual([
      { name: '<inaccessible>', uuid: '0a995c16-b989-4576-8ece-47b170ea8f7a' },
    ]);
  });
});

describe('list hostonlyifs', () => {
  it("reads the real (empty) 7.2 output and docker-machine's one- and two-adapter outputs", () => {
    expect(parseHostOnlyIfs(recorded('VBoxManage_list_hostonlyifs').stdout)).toEqual([]);
    expect(parseHostOnlyIfs(recorded('VBoxManage_list_hostonlyifs_after').stdout)).toEqual([]);
    expect(parseHostOnlyIfs(dm.HOSTONLYIFS_ONE)).toEqual([
      {
        name: 'vboxnet0',
        guid: '786f6276-656e-4074-8000-0a0027000000',
        dhcp: false,
        ip: '192.168.99.1',
        mask: '255.255.255.0',
        mac: '0a0027000000',
        status: 'Up',
        networkName: 'HostInterfaceNetworking-vboxnet0',
      },
    ]);
    expect(parseHostOnlyIfs(dm.HOSTONLYIFS_TWO).map((i) => [i.name, i.ip])).toEqual([
      ['vboxnet0', '192.168.99.1'],
      ['vboxnet1', '169.254.37.187'],
    ]);
  });

  it('reads Windows names with spaces, missing blank lines, and the buggy 15.0.0.0 mask', () => {
    expect(parseHostOnlyIfs(dm.HOSTONLYIFS_WINDOWS)).toEqual([
      expect.objectContaining({
        name: 'VirtualBox Host-Only Ethernet Adapter',
        networkName: 'HostInterfaceNetworking-VirtualBox Host-Only Ethernet Adapter',
      }),
    ]);
    expect(parseHostOnlyIfs(dm.HOSTONLYIFS_NO_BLANK_LINES).map((i) => i.name)).toEqual(['vboxnet0', 'vboxnet1']);
    expect(parseHostOnlyIfs(dm.HOSTONLYIFS_BUGGY_MASK)).toEqual([
      expect.objectContaining({ name: 'VirtualBox Host-Only Ethernet Adapter #3', ip: '0.0.0.0', mask: '15.0.0.0' }),
    ]);
  });

  it('tolerates duplicates that docker-machine refused (Npcap loopback): keeps the first, says so', () => {
    const { ifs, warnings } = dedupeHostOnlyIfs(parseHostOnlyIfs(dm.HOSTONLYIFS_ONE + dm.HOSTONLYIFS_ONE));
    expect(ifs.map((i) => i.name)).toEqual(['vboxnet0']);
    expect(warnings).toEqual(['VirtualBox lists two host-only adapters named "vboxnet0"; using the first']);
    // Same IP, different names: both kept; the network code picks one deterministically.
    expect(dedupeHostOnlyIfs(parseHostOnlyIfs(dm.HOSTONLYIFS_DUPLICATE_IP)).ifs).toHaveLength(2);
  });
});

describe('list dhcpservers', () => {
  it('reads the 6.1+ format of every recorded 7.2 output (sub-blocks skipped)', () => {
    expect(parseDhcpServers(recorded('VBoxManage_list_dhcpservers').stdout)).toEqual([
      {
        networkName: 'HostInterfaceNetworking-vboxnet0',
        ip: '192.168.56.100',
        mask: '255.255.255.0',
        lower: '192.168.56.101',
        upper: '192.168.56.254',
        enabled: true,
      },
    ]);
    expect(parseDhcpServers(recorded('VBoxManage_list_dhcpservers_after').stdout)).toEqual([
      expect.objectContaining({ networkName: 'HostInterfaceNetworking-vboxnet0' }),
      { networkName: 'testnet', ip: '10.0.8.1', mask: '255.255.255.0', lower: '10.0.8.10', upper: '10.0.8.20', enabled: true },
    ]);
    expect(parseDhcpServers(RECORDED.list_dhcpservers_modified!.stdout)[0]).toMatchObject({ ip: '192.168.56.2', lower: '192.168.56.100' });
    expect(parseDhcpServers(dm.DHCPSERVERS_61)[0]).toMatchObject({
      ip: '192.168.56.100',
      lower: '192.168.56.101',
      upper: '192.168.56.254',
      enabled: true,
    });
  });

  it('reads the pre-6.1 format docker-machine parsed', () => {
    expect(parseDhcpServers(dm.DHCPSERVERS_PRE_61)).toEqual([
      {
        networkName: 'HostInterfaceNetworking-vboxnet0',
        ip: '192.168.99.6',
        mask: '255.255.255.0',
        lower: '192.168.99.100',
        upper: '192.168.99.254',
        enabled: true,
      },
      {
        networkName: 'HostInterfaceNetworking-vboxnet1',
        ip: '192.168.99.7',
        mask: '255.255.255.0',
        lower: '192.168.99.100',
        upper: '192.168.99.254',
        enabled: false,
      },
    ]);
  });
});

describe('list hostonlynets (VirtualBox 7 on macOS)', () => {
  it('reads the format of VBoxManageList.cpp; the Linux build refuses the subcommand (recorded)', () => {
    const r = recorded('VBoxManage_list_hostonlynets');
    expect(r.exitCode).toBe(2);
    expect(errorLines(r.stderr)).toEqual(['Unknown subcommand "hostonlynets".']);
    const text =
      'Name:            HostNetwork\nGUID:            0a1b2c3d-0000-0000-0000-000000000000\n\nState:           Enabled\nNetworkMask:     255.255.255.0\nLowerIP:         192.168.59.1\nUpperIP:         192.168.59.254\nVBoxNetworkName: hostonly-HostNetwork\n\n';
    expect(parseHostOnlyNets(text)).toEqual([
      { name: 'HostNetwork', mask: '255.255.255.0', lower: '192.168.59.1', upper: '192.168.59.254', enabled: true },
    ]);
  });
});

describe('list hostinfo', () => {
  it('reads what VirtualBox thinks of the CPU (this host: no VT-x/AMD-V)', () => {
    expect(parseHostInfo(recorded('VBoxManage_list_hostinfo').stdout)).toEqual({
      hwVirt: false,
      nestedPaging: false,
      cpus: 2,
      os: 'Linux',
    });
  });
});

describe('why a VM did not start', () => {
  it("reads the frontends' start-up errors for every /dev/vboxdrv case recorded", () => {
    expect(parseFrontendError(recorded('VBoxHeadless_startvm_no-vboxdrv').stderr)).toEqual({
      rc: -1908,
      code: 'VERR_VM_DRIVER_NOT_INSTALLED',
      text: 'Kernel driver not installed',
    });
    expect(parseFrontendError(recorded('VBoxHeadless_devvboxdrv-absent').stderr)?.rc).toBe(-1908);
    expect(parseFrontendError(recorded('nonroot_VBoxHeadless').stderr)?.rc).toBe(-1908);
    expect(parseFrontendError(RECORDED.VBoxHeadless_help!.stderr)?.text).toBe('Kernel driver not installed');
    expect(parseFrontendError(recorded('VBoxHeadless_devvboxdrv-enxio').stderr)).toEqual({
      rc: -1910,
      code: 'VERR_VM_DRIVER_LOAD_ERROR',
      text: 'Kernel driver could not be loaded',
    });
    expect(parseFrontendError(recorded('VBoxHeadless_devvboxdrv-devnull').stderr)).toEqual({
      rc: -1912,
      code: 'VERR_VM_DRIVER_VERSION_MISMATCH',
      text: 'Kernel driver version mismatch',
    });
    expect(parseFrontendError(recorded('VBoxManage_startvm_headless_no-vboxdrv').stderr)).toBeUndefined();
    expect(hardeningProblem('NtCreateFile(\\Device\\VBoxDrvStub) failed: 0xc0000034 STATUS_OBJECT_NAME_NOT_FOUND')).toMatch(/VBoxDrvStub/);
  });

  it('finds VT-x problems in VBox.log as docker-machine did (vtx_test.go), and none in the recorded driverless log', () => {
    expect(vtxProblemInLog(dm.VBOXLOG_NO_VMX)).toBe('VERR_VMX_NO_VMX');
    expect(vtxProblemInLog(dm.VBOXLOG_RAW_MODE_FALLBACK)).toBeUndefined();
    expect(vtxProblemInLog('00:00:01 Falling back to raw-mode: VT-x is disabled in the BIOS for all CPU modes')).toBeUndefined();
    expect(vtxProblemInLog('00:00:01 VT-x is disabled in the BIOS')).toBe('VT-x is disabled');
    const log = fixture('virtualbox-7.2/logs/VBox.log-driverless-iem-boot2docker');
    expect(vtxProblemInLog(log)).toBeUndefined();
    expect(lastLogError(log)).toMatch(/ERROR|VERR_|Power up failed/);
  });
});

describe('the guest and the host', () => {
  it("matches NIC2's MAC in `ip addr show` (docker-machine TestParseIPForMACFromIPAddr)", () => {
    expect(parseIpForMac(dm.IP_ADDR_SHOW, '004488aabbcc')).toBe('1.2.3.4');
    expect(parseIpForMac(dm.IP_ADDR_SHOW, '115599DDEEFF')).toBe('5.6.7.8');
    expect(parseIpForMac(dm.IP_ADDR_SHOW, '000000000000')).toBeUndefined();
  });

  it('reads /etc/vbox/networks.conf and `reg query` output', () => {
    expect(parseNetworksConf(undefined)).toBeUndefined();
    expect(parseNetworksConf('# ranges\n* 10.0.0.0/8 192.168.0.0/16\n* 2001::/64\n')).toEqual([
      '10.0.0.0/8',
      '192.168.0.0/16',
      '2001::/64',
    ]);
    const reg =
      '\r\nHKEY_LOCAL_MACHINE\\SOFTWARE\\Oracle\\VirtualBox\r\n    InstallDir    REG_SZ    C:\\Program Files\\Oracle\\VirtualBox\\\r\n\r\n';
    expect(parseRegQuery(reg, 'InstallDir')).toBe('C:\\Program Files\\Oracle\\VirtualBox\\');
  });
});
