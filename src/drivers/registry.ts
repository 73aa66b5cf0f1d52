import { MachineError } from '../core/errors.js';
import type { HostConfig } from '../store/config.js';
import type { Store } from '../store/store.js';
import type { Driver, DriverDefinition, DriverEnv } from './driver.js';
import { genericDefinition } from './generic/flags.js';
import { qemuDefinition } from './qemu/flags.js';
import { virtualboxDefinition } from './virtualbox/flags.js';

export const DRIVERS: DriverDefinition[] = [virtualboxDefinition, qemuDefinition, genericDefinition];

/** The platform's default driver: VirtualBox on Windows and macOS, QEMU on Linux. */
export function defaultDriverName(platform = process.platform): string {
  return platform === 'linux' ? 'qemu' : 'virtualbox';
}

export function driverDefinition(name: string): DriverDefinition {
  const def = DRIVERS.find((d) => d.name === name);
  if (!def) {
    throw new MachineError(`Driver "${name}" not found`, { fix: `use one of: ${DRIVERS.map((d) => d.name).join(', ')}` });
  }
  return def;
}

/** The driver of a stored machine. */
export async function loadDriver(store: Store, host: HostConfig, env: Omit<DriverEnv, 'store' | 'machineDir'> = {}): Promise<Driver> {
  const mod = await driverDefinition(host.DriverName).load();
  return mod.load(host.Driver, { store, machineDir: store.machineDir(host.Name), ...env });
}
