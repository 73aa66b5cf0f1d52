import path from 'node:path';
import { withFileLock } from '../../core/lock.js';
import { runDir } from '../../core/paths.js';
import type { System } from '../../core/system.js';
import { MachineError } from '../../core/errors.js';
import { sleep } from '../../core/wait.js';
import type { Report } from '../driver.js';
import { type HostOnlyAttachment, type NetworkOps, type VBoxBackend, VBoxError } from './backend.js';
import type { VirtualBoxConfig } from './driver.js';
import {
  dedupeHostOnlyIfs,
  type DhcpServer,
  type HostOnlyIf,
  parseNetworksConf,
  type VBoxVersion,
  type VmInfo,
  versionAtLeast,
} from './parse.js';

/**
 * The host-only network: docker-machine's setupHostOnlyNetwork (docker/machine drivers/virtualbox/virtualbox.go) with its
 * faults fixed. Adapters and DHCP servers are shared by every VM of the host, so this runs under a
 * cross-process lock, reuses what exists, never leaks a new adapter per failed attempt, keeps a fixed
 * DHCP server address, only changes a DHCP server whose settings differ, and never disables one.
 */

export const DOCKER_MACHINE_CIDR = '192.168.99.1/24';
/** Inside 192.168.56.0/21, the only range VirtualBox 6.1.28+ allows on Linux and macOS by default. */
export const RESTRICTED_CIDR = '192.168.59.1/24';
export const DEFAULT_ALLOWED = ['192.168.56.0/21'];
export const NETWORKS_CONF = '/etc/vbox/networks.conf';
/** The buggy mask Windows VirtualBox sometimes reports for a fresh adapter (docker-machine accepted it). */
const BUGGY_MASK = '15.0.0.0';

export interface Cidr {
  ip: number;
  prefix: number;
  mask: number;
  network: number;
  broadcast: number;
  ipStr: string;
  maskStr: string;
}

export function ipToInt(ip: string): number | undefined {
  const parts = ip.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
    n = n * 256 + Number(p);
  }
  return n;
}

export function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

export function parseCidr(text: string): Cidr {
  const m = /^([\d.]+)\/(\d{1,2})$/.exec(text.trim());
  const ip = m ? ipToInt(m[1]!) : undefined;
  const prefix = m ? Number(m[2]) : NaN;
  if (!m || ip === undefined || prefix > 32) {
    throw new MachineError(`invalid CIDR address: ${text}`, {
      fix: 'give --virtualbox-hostonly-cidr as a host address and prefix, e.g. 192.168.59.1/24',
    });
  }
  const mask = maskOf(prefix);
  const network = (ip & mask) >>> 0;
  const broadcast = (network | (~mask >>> 0)) >>> 0;
  return { ip, prefix, mask, network, broadcast, ipStr: intToIp(ip), maskStr: intToIp(mask) };
}

/** docker-machine's rules (host address, not the network's), plus a size a DHCP range fits in. */
export function validateHostOnlyCidr(text: string): Cidr {
  const c = parseCidr(text);
  if (c.ip === c.network) {
    throw new MachineError(`host-only cidr must be specified with a host address, not a network address (${text})`, {
      fix: `use ${intToIp(c.network + 1)}/${c.prefix}`,
    });
  }
  if (c.prefix > 29 || c.prefix < 8) {
    throw new MachineError(`host-only cidr ${text} is not usable`, { fix: 'use a prefix between /8 and /29, e.g. 192.168.59.1/24' });
  }
  if (c.ip === c.broadcast)
    throw new MachineError(`host-only cidr ${text} is the broadcast address`, { fix: `use ${intToIp(c.network + 1)}/${c.prefix}` });
  return c;
}

/** Whether VirtualBox applies the 192.168.56.0/21 rule (6.1.28+, not on Windows). */
export function restrictsHostOnly(platform: NodeJS.Platform, version: VBoxVersion): boolean {
  return platform !== 'win32' && versionAtLeast(version, 6, 1, 28);
}

/** The ranges networks.conf allows, or the default, when VirtualBox restricts host-only addresses. */
export async function allowedRanges(host: System, version: VBoxVersion): Promise<string[] | undefined> {
  if (!restrictsHostOnly(host.platform, version)) return undefined;
  const conf = parseNetworksConf(await host.readFile(NETWORKS_CONF));
  return conf ?? DEFAULT_ALLOWED;
}

function inside(c: Cidr, range: string): boolean {
  try {
    const r = parseCidr(range);
    return c.network >= r.network && c.broadcast <= r.broadcast;
  } catch {
    return false;
  }
}

/**
 * The default CIDR: docker-machine's 192.168.99.1/24 where VirtualBox allows it, otherwise
 * 192.168.59.1/24 inside 192.168.56.0/21 (or the first range networks.conf allows).
 */
export function defaultCidr(allowed: string[] | undefined): string {
  if (!allowed) return DOCKER_MACHINE_CIDR;
  for (const candidate of [DOCKER_MACHINE_CIDR, RESTRICTED_CIDR]) {
    if (allowed.some((r) => inside(parseCidr(candidate), r))) return candidate;
  }
  const first = allowed
    .map((r) => {
      try {
        return parseCidr(r);
      } catch {
        return undefined;
      }
    })
    .find((r) => r && r.prefix <= 29);
  return first ? `${intToIp(first.network + 1)}/${Math.max(first.prefix, 24)}` : RESTRICTED_CIDR;
}

/** Whether a network lies inside one of the allowed ranges. */
export function isAllowed(c: Cidr, allowed: string[]): boolean {
  return allowed.some((r) => inside(c, r));
}

/** "192.168.99.0/24": the network of a CIDR, as networks.conf wants it. */
export const networkText = (c: Cidr) => `${intToIp(c.network)}/${c.prefix}`;

export function checkAllowed(c: Cidr, text: string, allowed: string[] | undefined): void {
  if (!allowed || isAllowed(c, allowed)) return;
  const net = networkText(c);
  throw new MachineError(`VirtualBox only allows host-only addresses in ${allowed.join(' ')} on this host, not ${text}`, {
    exitCode: 3,
    fix: `add the line "* ${net}" to ${NETWORKS_CONF} (as root), or use --virtualbox-hostonly-cidr ${RESTRICTED_CIDR}`,
  });
}

/** docker-machine's validateNoIPCollisions: another host interface already on this network. */
export function hostCollision(c: Cidr, host: System, hostOnly: HostOnlyIf[]): string | undefined {
  const ours = new Set(hostOnly.map((h) => h.ip).filter(Boolean));
  for (const [name, addrs] of Object.entries(host.networkInterfaces())) {
    if (!addrs || addrs.some((a) => ours.has(a.address))) continue;
    for (const a of addrs) {
      if (a.family !== 'IPv4' || a.internal) continue;
      const ip = ipToInt(a.address);
      const m = ipToInt(a.netmask);
      if (ip === undefined || m === undefined) continue;
      if ((ip & m) >>> 0 === (c.ip & m) >>> 0 || (ip & c.mask) >>> 0 === c.network) return `${name} (${a.cidr ?? a.address})`;
    }
  }
  return undefined;
}

/**
 * The DHCP server of an adapter: a fixed address (the first host address that is not ours) instead
 * of docker-machine's random one, and docker-machine's range (.100-.254 for /24 and wider; the rest of
 * the subnet for smaller ones, computed from the real network and broadcast addresses).
 */
export function dhcpPlan(c: Cidr): Omit<DhcpServer, 'networkName' | 'enabled'> {
  const server = c.network + 1 === c.ip ? c.network + 2 : c.network + 1;
  let lower: number;
  let upper = c.broadcast - 1;
  if (c.prefix <= 24) {
    upper = c.network + 254;
    // docker-machine's range: .100-.254 counted from the network address.
    lower = c.network + 100;
    if (c.ip >= lower && c.ip <= c.network + 254) lower = c.ip + 1;
  } else {
    lower = Math.max(server, c.ip) + 1;
  }
  return { ip: intToIp(server), mask: c.maskStr, lower: intToIp(lower), upper: intToIp(upper) };
}

/** An existing server is left alone when it already serves our range from a usable address. */
export function dhcpServerFits(s: DhcpServer, c: Cidr): boolean {
  const plan = dhcpPlan(c);
  const ip = ipToInt(s.ip);
  const lower = ipToInt(s.lower);
  const upper = ipToInt(s.upper);
  return (
    s.enabled &&
    s.mask === plan.mask &&
    s.lower === plan.lower &&
    s.upper === plan.upper &&
    ip !== undefined &&
    lower !== undefined &&
    upper !== undefined &&
    (ip & c.mask) >>> 0 === c.network &&
    ip !== c.ip &&
    (ip < lower || ip > upper)
  );
}

export interface HostOnlyRequest {
  ops: NetworkOps;
  host: System;
  version: VBoxVersion;
  cidr: string;
  noDhcp: boolean;
  nicType: string;
  promisc: string;
  report: Report;
  /** Waiting for a created adapter to appear (tests pass a fast one). */
  wait?: (ms: number) => Promise<void>;
}

/** Host-only networks (hostonlynet) replace adapters in VirtualBox 7 on macOS. */
export function usesHostOnlyNetworks(platform: NodeJS.Platform, version: VBoxVersion): boolean {
  return platform === 'darwin' && version.major >= 7;
}

/** Find or make the adapter (or network) for the CIDR and its DHCP server; serialised across processes. */
export async function ensureHostOnly(req: HostOnlyRequest): Promise<HostOnlyAttachment> {
  const c = validateHostOnlyCidr(req.cidr);
  checkAllowed(c, req.cidr, await allowedRanges(req.host, req.version));
  return withHostLock(() => (usesHostOnlyNetworks(req.host.platform, req.version) ? ensureHostOnlyNet(req, c) : ensureHostOnlyIf(req, c)));
}

async function ensureHostOnlyIf(req: HostOnlyRequest, c: Cidr): Promise<HostOnlyAttachment> {
  const { ops, report } = req;
  const wait = req.wait ?? sleep;
  const listed = dedupeHostOnlyIfs(await ops.listHostOnlyIfs());
  for (const w of listed.warnings) report(w);
  const collision = hostCollision(c, req.host, listed.ifs);
  if (collision) {
    throw new MachineError(`host-only cidr ${req.cidr} conflicts with the network address of a host interface: ${collision}`, {
      fix: `choose another network with --virtualbox-hostonly-cidr (e.g. ${c.ip === parseCidr(RESTRICTED_CIDR).ip ? '192.168.60.1/24' : RESTRICTED_CIDR}), or --virtualbox-no-hostonly`,
    });
  }
  const candidates = listed.ifs
    .filter((i) => i.ip === c.ipStr && (i.mask === c.maskStr || i.mask === BUGGY_MASK))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  if (candidates.length > 1) report(`Several host-only adapters have ${c.ipStr}: using ${candidates[0]!.name}`);
  let adapter = candidates[0];
  if (adapter?.mask === BUGGY_MASK) {
    await ops.ipconfigHostOnlyIf(adapter.name, c.ipStr, c.maskStr);
  }
  if (!adapter) {
    if (req.host.platform === 'win32')
      report('Windows may ask for permission to create a network adapter; the prompt can hide in the taskbar');
    let name: string | undefined;
    let createError: unknown;
    try {
      name = await ops.createHostOnlyIf();
    } catch (err) {
      createError = err;
    }
    // VirtualBox on Windows often reports a failure although the adapter was made (docker-machine
    // #2465): look for a new one there, or wherever VirtualBox succeeded without naming it.
    if (!name && (req.host.platform === 'win32' || !createError)) {
      const before = new Set(listed.ifs.map((i) => i.networkName));
      for (let i = 0; i < 10 && !name; i++) {
        await wait(1000);
        name = (await ops.listHostOnlyIfs()).find((n) => !before.has(n.networkName))?.name;
      }
    }
    if (!name) throw adapterCreateError(req.host.platform, createError);
    report(`Created the host-only adapter ${name} (${c.ipStr}/${c.prefix})`);
    try {
      await ops.ipconfigHostOnlyIf(name, c.ipStr, c.maskStr);
    } catch (err) {
      // Never leave an unconfigured adapter behind (every retry used to leak one: minikube#12748).
      await ops.removeHostOnlyIf(name).catch(() => undefined);
      if (err instanceof VBoxError && err.kind === 'access-denied') {
        throw new MachineError(`VirtualBox refused the host-only address ${req.cidr} (E_ACCESSDENIED)`, {
          fix: `add the line "* ${intToIp(c.network)}/${c.prefix}" to ${NETWORKS_CONF}, or use --virtualbox-hostonly-cidr ${RESTRICTED_CIDR}`,
        });
      }
      throw err;
    }
    adapter = { name, dhcp: false, ip: c.ipStr, mask: c.maskStr, networkName: `HostInterfaceNetworking-${name}` };
  }
  await ensureDhcp(req, adapter, c);
  return { kind: 'hostonlyif', name: adapter.name, nicType: req.nicType, promisc: req.promisc };
}

async function ensureDhcp(req: HostOnlyRequest, adapter: HostOnlyIf, c: Cidr): Promise<void> {
  const networkName = adapter.networkName || `HostInterfaceNetworking-${adapter.name}`;
  const existing = (await req.ops.listDhcpServers()).find((s) => s.networkName === networkName);
  if (req.noDhcp) {
    if (existing?.enabled) req.report(`Left the DHCP server of ${adapter.name} enabled: other machines on it may need it`);
    return;
  }
  if (existing && dhcpServerFits(existing, c)) return;
  const plan = dhcpPlan(c);
  if (req.host.platform === 'win32') req.report('Windows may ask for permission to configure a DHCP server');
  await req.ops.putDhcpServer({ networkName, ...plan, enabled: true }, Boolean(existing));
  req.report(`${existing ? 'Updated' : 'Added'} the DHCP server of ${adapter.name}: ${plan.ip}, leases ${plan.lower}-${plan.upper}`);
}

async function ensureHostOnlyNet(req: HostOnlyRequest, c: Cidr): Promise<HostOnlyAttachment> {
  // A vmnet host-only network: the host takes the lower address, DHCP serves the rest of the range.
  const lower = c.ipStr;
  const upper = intToIp(c.broadcast - 1);
  const nets = await req.ops.listHostOnlyNets();
  const same = nets.find((n) => {
    const l = ipToInt(n.lower);
    return n.mask === c.maskStr && l !== undefined && (l & c.mask) >>> 0 === c.network;
  });
  if (same) {
    if (!same.enabled) req.report(`The host-only network ${same.name} is disabled; enable it in VirtualBox's Network Manager`);
    return { kind: 'hostonlynet', name: same.name, nicType: req.nicType, promisc: req.promisc };
  }
  const name = `machine-${intToIp(c.network)}-${c.prefix}`;
  await req.ops.addHostOnlyNet({ name, mask: c.maskStr, lower, upper, enabled: true });
  req.report(`Created the host-only network ${name} (${lower}-${upper})`);
  return { kind: 'hostonlynet', name, nicType: req.nicType, promisc: req.promisc };
}

function adapterCreateError(platform: NodeJS.Platform, cause: unknown): MachineError {
  const why = cause instanceof Error ? `: ${cause.message}` : '';
  const fix =
    platform === 'win32'
      ? 'accept the Windows prompt, or repair VirtualBox (its installer, "Repair") to reinstall its network driver; or use --virtualbox-no-hostonly'
      : platform === 'darwin'
        ? 'allow the VirtualBox system extension in System Settings > Privacy & Security and restart; or use --virtualbox-no-hostonly'
        : 'load the vboxnetadp kernel module ("sudo modprobe vboxnetadp": /dev/vboxnetctl must exist); or use --virtualbox-no-hostonly';
  return new MachineError(`Could not create a host-only adapter${why}`, { fix, cause });
}

/** One host-only/DHCP change at a time on this host, across processes. */
export async function withHostLock<T>(fn: () => Promise<T>): Promise<T> {
  const file = path.join(await runDir(), 'virtualbox-network.lock');
  return withFileLock(
    file,
    {
      waitMs: 60_000,
      busy: (o) =>
        new MachineError(`Another machine command ("${o.command}", pid ${o.pid}) is changing VirtualBox's host-only networks`, {
          fix: 'wait for it and try again',
        }),
    },
    fn,
  );
}

// ----- the driver's steps

type HostOnlyConfig = Pick<VirtualBoxConfig, 'HostOnlyCIDR' | 'HostOnlyNoDHCP' | 'HostOnlyNicType' | 'HostOnlyPromiscMode'>;

/** create: resolve the default CIDR for this VirtualBox (into the config) and check it is allowed; list adapters early. */
export async function checkHostOnly(
  be: NetworkOps,
  host: System,
  config: HostOnlyConfig,
  version: VBoxVersion,
  report: Report,
): Promise<void> {
  const allowed = await allowedRanges(host, version);
  config.HostOnlyCIDR ||= defaultCidr(allowed);
  try {
    checkAllowed(validateHostOnlyCidr(config.HostOnlyCIDR), config.HostOnlyCIDR, allowed);
  } catch (err) {
    if (err instanceof MachineError) throw new MachineError(err.message, { exitCode: 3, fix: err.fix });
    throw err;
  }
  if (usesHostOnlyNetworks(host.platform, version)) {
    await be.listHostOnlyNets();
  } else {
    for (const w of dedupeHostOnlyIfs(await be.listHostOnlyIfs()).warnings) report(w);
  }
}

/** start: the host-only adapter or network of the config's CIDR, made when missing, on NIC 2 of the VM. */
export async function setupHostOnly(
  be: VBoxBackend,
  host: System,
  config: HostOnlyConfig,
  vm: string,
  info: VmInfo,
  report: Report,
): Promise<HostOnlyAttachment> {
  const { version } = await be.version();
  const attachment: HostOnlyAttachment = await ensureHostOnly({
    ops: be,
    host,
    version,
    cidr: (config.HostOnlyCIDR ||= defaultCidr(await allowedRanges(host, version))),
    noDhcp: config.HostOnlyNoDHCP,
    nicType: config.HostOnlyNicType || '82540EM',
    promisc: config.HostOnlyPromiscMode || 'deny',
    report,
  });
  const nic = info.nics.find((n) => n.slot === 2);
  const same =
    nic &&
    nic.adapterType === attachment.nicType &&
    (attachment.kind === 'hostonlynet'
      ? nic.attachment === 'hostonlynetwork' && nic.hostOnlyNetwork === attachment.name
      : nic.attachment === 'hostonly' && nic.hostOnlyAdapter === attachment.name);
  if (!same) await be.attachHostOnly(vm, 2, attachment);
  return attachment;
}

/**
 * Windows VirtualBox sometimes loses the adapter's address when a VM starts (docker-machine stopped
 * the VM, reconfigured and restarted it): put the address back on the host side, the VM keeps running.
 */
export async function repairAdapter(ops: NetworkOps, name: string, cidr: string, report: Report): Promise<void> {
  const c = validateHostOnlyCidr(cidr);
  const adapter = (await ops.listHostOnlyIfs()).find((i) => i.name === name);
  if (!adapter || (adapter.ip === c.ipStr && adapter.mask === c.maskStr)) return;
  report(`VirtualBox lost the address of ${name} (${adapter.ip}/${adapter.mask}); restoring ${cidr}`);
  await ops.ipconfigHostOnlyIf(name, c.ipStr, c.maskStr);
}
