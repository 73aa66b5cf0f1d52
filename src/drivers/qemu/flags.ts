import type { DriverDefinition } from '../driver.js';

export const qemuDefinition: DriverDefinition = {
  name: 'qemu',
  description: 'QEMU (KVM on Linux when it works, HVF on macOS, else software emulation)',
  flags: [
    { name: 'qemu-memory', env: 'QEMU_MEMORY', type: 'size', default: 1024, arg: '<mb>', description: 'Size of memory for the machine in MB (or with a unit: 2G)' },
    { name: 'qemu-cpu-count', env: 'QEMU_CPU_COUNT', type: 'int', default: 1, arg: '<n>', description: 'Number of CPUs for the machine (-1 for all host CPUs)' },
    { name: 'qemu-disk-size', env: 'QEMU_DISK_SIZE', type: 'size', default: 20000, arg: '<mb>', description: 'Size of the data disk in MB (or with a unit: 20G); sparse, it takes only what is used' },
    { name: 'qemu-boot2docker-url', env: 'QEMU_BOOT2DOCKER_URL', type: 'string', arg: '<url>', description: 'The boot2docker ISO: a path, file:// or http(s):// URL (default: the cache, else the ISO built from iso/)' },
    { name: 'qemu-accel', env: 'QEMU_ACCEL', type: 'string', default: 'auto', choices: ['auto', 'kvm', 'hvf', 'tcg'], arg: '<accel>', description: 'Accelerator; auto probes KVM/HVF and falls back to software emulation (tcg)' },
    { name: 'qemu-binary', env: 'QEMU_BINARY', type: 'string', arg: '<path>', description: 'The qemu-system-x86_64 to run (default: from PATH)' },
    { name: 'qemu-network', env: 'QEMU_NETWORK', type: 'string', default: 'user', choices: ['user', 'restricted'], arg: '<mode>', description: 'User-mode networking; "restricted" isolates the VM from every network but the forwarded ports' },
    { name: 'qemu-boot', env: 'QEMU_BOOT', type: 'string', default: 'kernel', choices: ['kernel', 'iso'], arg: '<mode>', description: 'Boot the ISO\'s kernel directly (fast) or through its boot loader' },
  ],
  load: () => import('./index.js'),
};
