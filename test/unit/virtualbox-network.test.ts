import { describe, expect, it } from 'vitest';
import { MachineError } from '../../src/core/errors.js';
import { parseVersion } from '../../src/drivers/virtualbox/parse.js';
import {
  defaultCidr,
  dhcpPlan,
  dhcpServerFits,
  ensureHostOnly,
  parseCidr,
  validateHostOnlyCidr,
} from '../../src/drivers/virtualbox/network.js';
import { VBoxManage, VBoxManageBackend } from '../../src/drivers/virtualbox/vboxmanage.js';
import * as dm from '../helpers/vboxFormats.js';
import { fakeHost, recorded, Replay, text } from '../helpers/vboxReplay.js';

/**
 * The host-only network algorithm against recorded outputs: real VirtualBox 7.2 ones (which cannot
 * create adapters here: no /dev/vboxnetctl) and the 5.x/6.x ones docker-machine's tests quote.
 */

const V72 = parseVersion('7.2.22_Debianr175245')!;
const V60 = parseVersion('6.0.24r139119')!;

function setup(platform: NodeJS.Platform, version: string, replay: Replay, files: Record<string, string> = {}) {
  replay.on('VBoxManage --version', text(`${version}\n`));
  const host = fakeHost(platform, { exec: replay.exec, files });
  const be = new VBoxManageBackend(new VBoxManage('VBoxManage', replay.exec, { retryDelayMs: 1 }));
  const lines: string[] = [];
  return { host, be, lines, report: (l: string) => lines.push(l) };
}

const req = (s: ReturnType<typeof setup>, version: typeof V72, cidr: string, extra: Partial<Parameters<typeof ensureHostOnly>[0]> = {}) =>
  ensureHostOnly({
    ops: s.be,
    host: s.host,
    version,
    cidr,
    noDhcp: false,
    nicType: '82540EM',
    promisc: 'deny',
    report: s.report,
    wait: async () => undefined,
    ...extra,
  });

describe('CIDR rules', () => {
  it("keeps docker-machine's validation and DHCP ranges (network_test.go vectors), without its /25+ upper-bound bug", () => {
    expect(() => validateHostOnlyCidr('192.168.100.1')).toThrow('invalid CIDR address: 192.168.100.1');
    expect(() => validateHostOnlyCidr('192.168.99.0/24')).toThrow(
      'host-only cidr must be specified with a host address, not a network address',
    );
    expect(() => validateHostOnlyCidr('192.168.99.1/31')).toThrow(/not usable/);
    expect(dhcpPlan(parseCidr('10.0.0.14/8'))).toMatchObject({ lower: '10.0.0.100', upper: '10.0.0.254' });
    expect(dhcpPlan(parseCidr('192.168.99.7/24'))).toMatchObject({
      lower: '192.168.99.100',
      upper: '192.168.99.254',
      mask: '255.255.255.0',
    });
    expect(dhcpPlan(parseCidr('100.121.20.19/25'))).toMatchObject({ ip: '100.121.20.1', lower: '100.121.20.20', upper: '100.121.20.126' });
    expect(dhcpPlan(parseCidr('100.121.10.8/28'))).toMatchObject({ lower: '100.121.10.9', upper: '100.121.10.14' });
    // The second /25 of a /24: docker-machine computed .126 here.
    expect(dhcpPlan(parseCidr('192.168.99.129/25'))).toMatchObject({
      ip: '192.168.99.130',
      lower: '192.168.99.131',
      upper: '192.168.99.254',
    });
    // A fixed server address, not docker-machine's random one.
    expect(dhcpPlan(parseCidr('192.168.99.1/24')).ip).toBe('192.168.99.2');
    expect(dhcpPlan(parseCidr('192.168.99.5/24')).ip).toBe('192.168.99.1');
  });

  it('chooses 192.168.99.1/24 where VirtualBox allows it, 192.168.59.1/24 under the 6.1.28+ rule, or what networks.conf allows', () => {
    expect(defaultCidr(undefined)).toBe('192.168.99.1/24');
    expect(defaultCidr(['192.168.56.0/21'])).toBe('192.168.59.1/24');
    expect(defaultCidr(['192.168.0.0/16'])).toBe('192.168.99.1/24');
    expect(defaultCidr(['10.0.0.0/8'])).toBe('10.0.0.1/24');
  });

  it('accepts an existing DHCP server docker-machine configured (random address .1-.24) instead of rewriting it', () => {
    const c = parseCidr('192.168.99.1/24');
    expect(
      dhcpServerFits(
        { networkName: 'n', ip: '192.168.99.6', mask: '255.255.255.0', lower: '192.168.99.100', upper: '192.168.99.254', enabled: true },
        c,
      ),
    ).toBe(true);
    expect(
      dhcpServerFits(
        { networkName: 'n', ip: '192.168.99.7', mask: '255.255.255.0', lower: '192.168.99.100', upper: '192.168.99.254', enabled: false },
        c,
      ),
    ).toBe(false);
    expect(
      dhcpServerFits(
        { networkName: 'n', ip: '192.168.56.100', mask: '255.255.255.0', lower: '192.168.56.101', upper: '192.168.56.254', enabled: true },
        c,
      ),
    ).toBe(false);
  });
});

describe('host-only adapter and DHCP server, replayed', () => {
  it("reuses docker-machine's vboxnet0 and its DHCP server as they are (VirtualBox 6.0 formats): no change at all", async () => {
    const r = new Replay()
      .on('VBoxManage list hostonlyifs', text(dm.HOSTONLYIFS_TWO))
      .on('VBoxManage list dhcpservers', text(dm.DHCPSERVERS_PRE_61));
    const s = setup('linux', '6.0.24r139119', r);
    const a = await req(s, V60, '192.168.99.1/24');
    expect(a).toEqual({ kind: 'hostonlyif', name: 'vboxnet0', nicType: '82540EM', promisc: 'deny' });
    expect(r.lines).toEqual(['VBoxManage list hostonlyifs', 'VBoxManage list dhcpservers']);
  });

  it('fixes a DHCP server with other settings with one modify, in the 6.1+ syntax (real 7.2 list output), never --disable', async () => {
    const r = new Replay()
      .on('VBoxManage list hostonlyifs', text(dm.HOSTONLYIFS_ONE))
      .on('VBoxManage list dhcpservers', recorded('VBoxManage_list_dhcpservers'))
      .on(/^VBoxManage dhcpserver modify /, recorded('VBoxManage_dhcpserver_add'));
    const s = setup('win32', '7.2.22r175245', r);
    await req(s, V72, '192.168.99.1/24');
    expect(r.lines.at(-1)).toBe(
      'VBoxManage dhcpserver modify --network=HostInterfaceNetworking-vboxnet0 --server-ip=192.168.99.2 --netmask=255.255.255.0 --lower-ip=192.168.99.100 --upper-ip=192.168.99.254 --enable',
    );
    expect(s.lines).toContain('Updated the DHCP server of vboxnet0: 192.168.99.2, leases 192.168.99.100-192.168.99.254');
  });

  it('with --virtualbox-hostonly-no-dhcp leaves the shared DHCP server enabled for the other machines (docker-machine disabled it)', async () => {
    const r = new Replay()
      .on('VBoxManage list hostonlyifs', text(dm.HOSTONLYIFS_ONE))
      .on('VBoxManage list dhcpservers', text(dm.DHCPSERVERS_PRE_61));
    const s = setup('linux', '6.0.24r139119', r);
    await req(s, V60, '192.168.99.1/24', { noDhcp: true });
    expect(r.lines.some((l) => /dhcpserver (add|modify)/.test(l))).toBe(false);
    expect(s.lines).toEqual(['Left the DHCP server of vboxnet0 enabled: other machines on it may need it']);
  });

  it('handles the Windows adapter name with spaces as one argument, and its DHCP network name', async () => {
    const r = new Replay()
      .on('VBoxManage list hostonlyifs', text(dm.HOSTONLYIFS_WINDOWS))
      .on('VBoxManage list dhcpservers', text(''))
      .on(/^VBoxManage dhcpserver add /, recorded('VBoxManage_dhcpserver_add'));
    const s = setup('win32', '7.2.22r175245', r);
    const a = await req(s, V72, '192.168.99.1/24');
    expect(a.name).toBe('VirtualBox Host-Only Ethernet Adapter');
    const add = r.calls.at(-1)!;
    expect(add).toContain('--network=HostInterfaceNetworking-VirtualBox Host-Only Ethernet Adapter');
    expect(s.lines).toContain('Windows may ask for permission to configure a DHCP server');
  });

  it('picks one of two adapters with the same IP, deterministically, and says so', async () => {
    const r = new Replay()
      .on('VBoxManage list hostonlyifs', text(dm.HOSTONLYIFS_DUPLICATE_IP))
      .on('VBoxManage list dhcpservers', text(dm.DHCPSERVERS_PRE_61));
    const s = setup('linux', '6.0.24r139119', r);
    expect((await req(s, V60, '192.168.99.1/24')).name).toBe('vboxnet0');
    expect(s.lines).toContain('Several host-only adapters have 192.168.99.1: using vboxnet0');
  });

  it('on Windows, finds the adapter VirtualBox made although it reported a failure (the real error text), and configures it', async () => {
    const r = new Replay()
      .on('VBoxManage list hostonlyifs', (_a, n) => text(n < 3 ? '' : dm.HOSTONLYIFS_WINDOWS.replace('192.168.99.1', '0.0.0.0')))
      .on('VBoxManage hostonlyif create', recorded('VBoxManage_hostonlyif_create'))
      .on(/^VBoxManage hostonlyif ipconfig /, text(''))
      .on('VBoxManage list dhcpservers', text(''))
      .on(/^VBoxManage dhcpserver add /, text(''));
    const s = setup('win32', '7.2.22r175245', r);
    expect((await req(s, V72, '192.168.99.1/24')).name).toBe('VirtualBox Host-Only Ethernet Adapter');
    expect(r.lines.filter((l) => l === 'VBoxManage list hostonlyifs')).toHaveLength(3);
    expect(r.lines).toContain(
      'VBoxManage hostonlyif ipconfig VirtualBox Host-Only Ethernet Adapter --ip 192.168.99.1 --netmask 255.255.255.0',
    );
  });

  it('does not take the buggy-mask adapter of another address; creates one (Windows names it), configures it', async () => {
    const r = new Replay()
      .on('VBoxManage list hostonlyifs', text(dm.HOSTONLYIFS_BUGGY_MASK))
      .on('VBoxManage hostonlyif create', text(dm.HOSTONLYIF_CREATED_WINDOWS))
      .on(/^VBoxManage hostonlyif ipconfig /, text(''))
      .on('VBoxManage list dhcpservers', text(''))
      .on(/^VBoxManage dhcpserver add /, text(''));
    const s = setup('win32', '7.2.22r175245', r);
    const a = await req(s, V72, '192.168.99.1/24');
    expect(a.name).toBe('VirtualBox Host-Only Ethernet Adapter');
    expect(r.lines).toContain(
      'VBoxManage hostonlyif ipconfig VirtualBox Host-Only Ethernet Adapter --ip 192.168.99.1 --netmask 255.255.255.0',
    );
    expect(s.lines).toContain('Windows may ask for permission to create a network adapter; the prompt can hide in the taskbar');
  });

  it('on Linux without /dev/vboxnetctl (the real 7.2 failure): one clear error at once; nothing leaked', async () => {
    const r = new Replay()
      .on('VBoxManage list hostonlyifs', recorded('VBoxManage_list_hostonlyifs'))
      .on('VBoxManage hostonlyif create', recorded('VBoxManage_hostonlyif_create'));
    const s = setup('linux', '7.2.22r175245', r);
    const err = await req(s, V72, '192.168.59.1/24').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MachineError);
    expect((err as MachineError).line).toBe(
      'Could not create a host-only adapter: VBoxManage hostonlyif create failed: Failed to create the host-only adapter: VBoxNetAdpCtl: Error while adding new interface: failed to open /dev/vboxnetctl: No such file or directory: load the vboxnetadp kernel module ("sudo modprobe vboxnetadp": /dev/vboxnetctl must exist); or use --virtualbox-no-hostonly',
    );
    expect(r.lines.filter((l) => l === 'VBoxManage list hostonlyifs')).toHaveLength(1);
    expect(r.lines.filter((l) => l.includes('hostonlyif create'))).toHaveLength(1);
  });

  it('removes the adapter it made when VirtualBox refuses the address (E_ACCESSDENIED), instead of leaking one per attempt', async () => {
    const r = new Replay()
      .on('VBoxManage list hostonlyifs', text(''))
      .on('VBoxManage hostonlyif create', text("Interface 'vboxnet3' was successfully created\n"))
      .on(/^VBoxManage hostonlyif ipconfig /, text('', dm.IPCONFIG_ACCESS_DENIED, 1))
      .on('VBoxManage hostonlyif remove vboxnet3', text(''));
    // networks.conf allows the range, but this VirtualBox still refuses it.
    const s = setup('linux', '7.2.22r175245', r, { '/etc/vbox/networks.conf': '* 192.168.99.0/24\n' });
    const err = await req(s, V72, '192.168.99.1/24').catch((e: unknown) => e);
    expect((err as MachineError).message).toBe('VirtualBox refused the host-only address 192.168.99.1/24 (E_ACCESSDENIED)');
    expect(r.lines).toContain('VBoxManage hostonlyif remove vboxnet3');
  });

  it('refuses a CIDR outside 192.168.56.0/21 on VirtualBox 6.1.28+ (Linux/macOS) before touching anything, with the networks.conf line', async () => {
    const r = new Replay();
    const s = setup('linux', '7.2.22r175245', r);
    const err = await req(s, V72, '192.168.99.1/24').catch((e: unknown) => e);
    expect((err as MachineError).exitCode).toBe(3);
    expect((err as MachineError).line).toBe(
      'VirtualBox only allows host-only addresses in 192.168.56.0/21 on this host, not 192.168.99.1/24: add the line "* 192.168.99.0/24" to /etc/vbox/networks.conf (as root), or use --virtualbox-hostonly-cidr 192.168.59.1/24',
    );
    expect(r.calls).toEqual([]);
    // Windows has no such rule.
    const w = new Replay()
      .on('VBoxManage list hostonlyifs', text(dm.HOSTONLYIFS_ONE))
      .on('VBoxManage list dhcpservers', text(dm.DHCPSERVERS_PRE_61));
    await req(setup('win32', '7.2.22r175245', w), V72, '192.168.99.1/24');
  });

  it('refuses a CIDR a host interface already uses (docker-machine #3060), naming the interface', async () => {
    const r = new Replay().on('VBoxManage list hostonlyifs', text(''));
    const s = setup('win32', '7.2.22r175245', r);
    s.host.networkInterfaces = () => ({
      'Wi-Fi': [
        {
          address: '192.168.99.23',
          netmask: '255.255.255.0',
          family: 'IPv4',
          mac: '00:11:22:33:44:55',
          internal: false,
          cidr: '192.168.99.23/24',
        },
      ],
    });
    const err = await req(s, V72, '192.168.99.1/24').catch((e: unknown) => e);
    expect((err as MachineError).message).toBe(
      'host-only cidr 192.168.99.1/24 conflicts with the network address of a host interface: Wi-Fi (192.168.99.23/24)',
    );
  });

  it('uses host-only networks (hostonlynet) on macOS with VirtualBox 7', async () => {
    const r = new Replay().on('VBoxManage list hostonlynets', text('')).on(/^VBoxManage hostonlynet add /, text(''));
    const s = setup('darwin', '7.2.22r175245', r);
    const a = await req(s, V72, '192.168.59.1/24');
    expect(a).toEqual({ kind: 'hostonlynet', name: 'machine-192.168.59.0-24', nicType: '82540EM', promisc: 'deny' });
    expect(r.lines.at(-1)).toBe(
      'VBoxManage hostonlynet add --name=machine-192.168.59.0-24 --netmask=255.255.255.0 --lower-ip=192.168.59.1 --upper-ip=192.168.59.254 --enable',
    );
    // An existing network on the same subnet is reused as it is.
    const again = new Replay().on(
      'VBoxManage list hostonlynets',
      text(
        'Name:            HostNetwork\nGUID:            x\n\nState:           Enabled\nNetworkMask:     255.255.255.0\nLowerIP:         192.168.59.1\nUpperIP:         192.168.59.199\nVBoxNetworkName: hostonly-HostNetwork\n\n',
      ),
    );
    expect((await req(setup('darwin', '7.2.22r175245', again), V72, '192.168.59.1/24')).name).toBe('HostNetwork');
    expect(again.lines).toEqual(['VBoxManage list hostonlynets']);
  });
});
