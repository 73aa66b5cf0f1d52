/**
 * virtualbox-soap declares VirtualBox's enums as ambient const enums, which do not exist at run time:
 * string literals are passed instead (`en("Write")`), and VBoxManage's names are mapped here.
 */

/** A string for a const-enum parameter (the enums do not exist at run time). */
export function en<T>(value: string): T {
  return value as unknown as T;
}

/** VBoxManage's NIC type names → INetworkAdapter.adapterType. */
export const ADAPTER_TYPES: Record<string, string> = {
  Am79C970A: 'Am79C970A',
  Am79C973: 'Am79C973',
  Am79C960: 'Am79C960',
  '82540EM': 'I82540EM',
  '82543GC': 'I82543GC',
  '82545EM': 'I82545EM',
  virtio: 'Virtio',
};
export const PROMISC: Record<string, string> = { deny: 'Deny', 'allow-vms': 'AllowNetwork', 'allow-all': 'AllowAll' };
export const ATTACHMENT_NAMES: Record<string, string> = {
  NAT: 'nat',
  HostOnly: 'hostonly',
  HostOnlyNetwork: 'hostonlynetwork',
  Bridged: 'bridged',
  Internal: 'intnet',
  NATNetwork: 'natnetwork',
  Generic: 'generic',
  Cloud: 'cloudnetwork',
  Null: 'null',
};
export const BOOT_NAMES: Record<string, string> = { DVD: 'dvd', HardDisk: 'disk', Floppy: 'floppy', Network: 'net' };
