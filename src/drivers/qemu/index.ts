import { isGuestArch, nativeArch } from '../../core/arch.js';
import { realSystem } from '../../core/system.js';
import { MachineError } from '../../core/errors.js';
import type { BaseDriverConfig } from '../../store/config.js';
import type { DriverEnv, FlagValues } from '../driver.js';
import { defaultShares, parseShare, validateShares } from '../shares.js';
import { QemuDriver, type QemuConfig } from './driver.js';

export async function configFromFlags(flags: FlagValues, base: BaseDriverConfig): Promise<QemuConfig> {
  const memory = Number(flags['qemu-memory'] ?? 1024);
  const cpus = Number(flags['qemu-cpu-count'] ?? 1);
  const disk = Number(flags['qemu-disk-size'] ?? 20000);
  if (memory < 256)
    throw new MachineError(`--qemu-memory ${memory} is too small`, { fix: 'give the machine at least 256 MB (1024 is the default)' });
  if (disk < 1024) throw new MachineError(`--qemu-disk-size ${disk} is too small`, { fix: 'give the machine at least 1024 MB of disk' });
  if (cpus === 0 || cpus < -1)
    throw new MachineError(`--qemu-cpu-count ${cpus} is not valid`, { fix: 'use a positive number, or -1 for all host CPUs' });
  // the CPU's own: an x64 Node under Rosetta still makes arm64 machines on Apple Silicon
  const arch = flags['qemu-arch'] ?? (await nativeArch(realSystem()));
  if (!isGuestArch(arch))
    throw new MachineError(`--qemu-arch ${String(arch)} is not an architecture machine has an ISO for`, { fix: 'use amd64 or arm64' });
  const shares = [...(flags['qemu-no-share'] ? [] : defaultShares()), ...((flags.share as string[] | undefined) ?? []).map(parseShare)];
  await validateShares(shares);
  return {
    ...base,
    Memory: memory,
    CPU: cpus,
    DiskSize: disk,
    Boot2DockerURL: String(flags['qemu-boot2docker-url'] ?? ''),
    DockerPort: 0,
    Accel: String(flags['qemu-accel'] ?? 'auto'),
    QemuBinary: String(flags['qemu-binary'] ?? ''),
    Network: flags['qemu-network'] === 'restricted' ? 'restricted' : 'user',
    Boot: flags['qemu-boot'] === 'iso' ? 'iso' : 'kernel',
    Shares: shares,
    Arch: arch,
  };
}

export function load(config: BaseDriverConfig, env: DriverEnv): QemuDriver {
  return new QemuDriver(config as QemuConfig, env);
}
