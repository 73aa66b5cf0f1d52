import type { GuestArch } from '../../core/arch.js';

/**
 * What differs between the x86 VM (docker-machine's) and the ARM VM (VirtualBox 7.1+ on Apple
 * Silicon), named once for both backends. Checked against VirtualBox 7.2's VBoxManage
 * (test/integration/virtualbox-arm.test.ts): an ARM VM refuses the x86 settings (--pae, --hpet,
 * --hwvirtex, --nestedpaging, --largepages, --vtxvpid: "Invalid option case N"). createvm --default
 * of an ARM Linux VM gives EFI, a VirtioSCSI controller, QemuRamFB graphics, and no I/O APIC.
 */
export interface VmPlatform {
  /** createvm --platform-architecture; the SOAP createMachine platform. */
  vbox: 'x86' | 'ARM';
  osType: string;
  /** The controller the CD (port 0) and the userdata disk (port 1) hang on. */
  controller: {
    name: string;
    /** storagectl's words for it (after --name). */
    storagectl: string[];
    /** IStorageController: the bus, then the controller type (when not the bus's default). */
    bus: string;
    type?: string;
    /** Ports to give it through the API (VBoxManage storageattach adds them; virtio-scsi starts with 1). */
    portCount?: number;
  };
  /** NIC type when the flag does not say: the arm64 ISO's kernel is the virtio one; e1000 is docker-machine's. */
  nicType: string;
}

export const PLATFORMS: Record<GuestArch, VmPlatform> = {
  amd64: {
    vbox: 'x86',
    osType: 'Linux26_64',
    controller: { name: 'SATA', storagectl: ['--add', 'sata'], bus: 'SATA' },
    nicType: '82540EM',
  },
  arm64: {
    vbox: 'ARM',
    osType: 'Linux_arm64',
    // "--add scsi --controller VirtIO" is refused ("Invalid controller type 11"): virtio-scsi is a bus of its own.
    controller: {
      name: 'VirtioSCSI',
      storagectl: ['--add', 'virtio', '--controller', 'VirtIO'],
      bus: 'VirtioSCSI',
      type: 'VirtioSCSI',
      portCount: 2,
    },
    nicType: 'virtio',
  },
};
