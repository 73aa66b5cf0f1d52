import type { GuestArch } from '../../core/arch.js';
import type { Report } from '../driver.js';
import type { DhcpServer, Forward, HostOnlyIf, HostOnlyNet, VBoxVersion, VmInfo, VmRef } from './parse.js';

/**
 * How the driver talks to VirtualBox. Two implementations: `vboxmanage` (the CLI, through core/system.ts) and
 * `soap` (vboxwebsrv, through virtualbox-soap). Both take VM names or UUIDs wherever a VM is named.
 * Errors are VBoxError: `kind` says what the driver may do about them.
 */

export type VBoxErrorKind = 'not-found' | 'not-running' | 'locked' | 'access-denied' | 'failed';

export class VBoxError extends Error {
  constructor(
    message: string,
    readonly kind: VBoxErrorKind,
    /** The raw text VirtualBox gave (stderr, fault string, IVirtualBoxErrorInfo.text). */
    readonly detail: string,
  ) {
    super(message);
    this.name = 'VBoxError';
  }
}

export function errorKind(text: string): VBoxErrorKind {
  if (
    /Could not find a registered machine|VBOX_E_OBJECT_NOT_FOUND \(0x80bb0001\), component VirtualBoxWrap|0x80bb0001 Could not find/.test(
      text,
    )
  )
    return 'not-found';
  if (/is not currently running|not running|Invalid machine state: PoweredOff|machine is not running/i.test(text)) return 'not-running';
  if (/already locked|being unlocked|VBOX_E_INVALID_OBJECT_STATE|0x80bb0007/i.test(text)) return 'locked';
  if (/E_ACCESSDENIED|Access denied/i.test(text)) return 'access-denied';
  return 'failed';
}

export interface VmSpec {
  name: string;
  /** amd64: docker-machine's x86 VM; arm64: an ARM VM (VirtualBox 7.1+, Apple Silicon). */
  arch: GuestArch;
  /** createvm --basefolder: the VM folder is <baseFolder>/<name>. */
  baseFolder: string;
  memoryMB: number;
  cpus: number;
  natNicType: string;
  dnsProxy: boolean;
  hostDnsResolver: boolean;
  forwards: Forward[];
  isoPath: string;
  diskPath: string;
  shares: { name: string; hostPath: string }[];
  /** Serial port 1 to this file (boot progress, `machine logs`). */
  serialLog?: string;
  /** Called as soon as the VM is registered, so a later failure still knows what to remove. */
  onRegistered?: (uuid: string) => void;
}

export interface HostOnlyAttachment {
  kind: 'hostonlyif' | 'hostonlynet';
  /** The adapter (vboxnet0, "VirtualBox Host-Only Ethernet Adapter #2") or the network name. */
  name: string;
  nicType: string;
  promisc: string;
}

/** Host-only adapters, networks and DHCP servers: global to the host (shared by every VM). */
export interface NetworkOps {
  listHostOnlyIfs(): Promise<HostOnlyIf[]>;
  /** Returns the new adapter's name when VirtualBox said it. */
  createHostOnlyIf(): Promise<string | undefined>;
  removeHostOnlyIf(name: string): Promise<void>;
  ipconfigHostOnlyIf(name: string, ip: string, mask: string): Promise<void>;
  listDhcpServers(): Promise<DhcpServer[]>;
  /** add, or modify when it exists; always enables (never disables: other VMs may rely on it). */
  putDhcpServer(server: DhcpServer, exists: boolean): Promise<void>;
  listHostOnlyNets(): Promise<HostOnlyNet[]>;
  addHostOnlyNet(net: HostOnlyNet): Promise<void>;
}

export interface VBoxBackend extends NetworkOps {
  readonly kind: 'vboxmanage' | 'soap';
  version(): Promise<{ version: VBoxVersion; api: string }>;
  /** Whether VirtualBox can use VT-x/AMD-V on this host (`list hostinfo`, IHost.getProcessorFeature). */
  hostHwVirt(): Promise<boolean | undefined>;
  /** undefined when no such VM is registered. */
  vmInfo(vm: string): Promise<VmInfo | undefined>;
  /** VBoxManage's short state name (poweroff, running...), undefined when no such VM. */
  vmState(vm: string): Promise<string | undefined>;
  listVms(): Promise<VmRef[]>;
  /** Register and configure a VM; returns its UUID. The disk and ISO must exist. */
  createVm(spec: VmSpec, report: Report): Promise<string>;
  /** The userdata disk: `head` at byte 0, sizeMB in all, VDI, without writing the zeros. */
  makeDisk(diskPath: string, head: Buffer, sizeMB: number, report: Report): Promise<void>;
  /** Replace the NAT forwarding rules of NIC1 with these names (VM stopped or running). */
  setForwards(vm: string, forwards: Forward[], running: boolean): Promise<void>;
  /** Delete NAT forwarding rules of NIC1 by name; names that do not exist are ignored. */
  deleteForwards(vm: string, names: string[], running: boolean): Promise<void>;
  attachHostOnly(vm: string, slot: number, attachment: HostOnlyAttachment): Promise<void>;
  detachNic(vm: string, slot: number): Promise<void>;
  /** Launch the VM process; rejects with the text VirtualBox gave. */
  startVm(vm: string, uiType: string): Promise<void>;
  resumeVm(vm: string): Promise<void>;
  acpiPowerButton(vm: string): Promise<void>;
  powerOff(vm: string): Promise<void>;
  /** Unregister the VM and delete its files and attached disks; 'absent' when there was no VM. */
  unregisterDelete(vm: string): Promise<'deleted' | 'absent'>;
  /** Forget a medium (and delete its file for disks) if VirtualBox knows it; no error when it does not. */
  closeMedium(kind: 'disk' | 'dvd', file: string, deleteFile: boolean): Promise<void>;
  /** Extra lines for `machine inspect`/debugging: what this backend delegates and where. */
  readonly notes: string[];
  close(): Promise<void>;
}
