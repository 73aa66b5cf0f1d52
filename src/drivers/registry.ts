import { isAppleSilicon } from '../core/arch.js';
import { MachineError } from '../core/errors.js';
import type { System } from '../core/system.js';
import type { HostConfig } from '../store/config.js';
import type { Store } from '../store/store.js';
import type { Driver, DriverDefinition, DriverEnv } from './driver.js';
import { genericDefinition } from './generic/flags.js';
import { qemuDefinition } from './qemu/flags.js';
import { virtualboxDefinition } from './virtualbox/flags.js';

export const DRIVERS: DriverDefinition[] = [virtualboxDefinition, qemuDefinition, genericDefinition];

export interface DriverChoice {
  name: string;
  /** Why, in a few words: "the default on macOS", "VirtualBox 7.0.14 runs no ARM VMs; 7.1 or later would". */
  reason: string;
}

/**
 * The driver of a create that names none (no -d, no MACHINE_DRIVER), decided here only: QEMU on Linux,
 * VirtualBox on Windows and Intel Macs (docker-machine's default), and on Apple Silicon VirtualBox when
 * one that runs ARM VMs (7.1+) is installed, else QEMU.
 */
export async function chooseDefaultDriver(host: System): Promise<DriverChoice> {
  if (host.platform === 'linux') return { name: 'qemu', reason: 'the default on Linux' };
  if (await isAppleSilicon(host)) {
    const vbox = await (await import('./virtualbox/arch.js')).capableVirtualBox(host);
    return vbox.ok
      ? { name: 'virtualbox', reason: `VirtualBox ${vbox.version} runs ARM VMs on Apple Silicon` }
      : { name: 'qemu', reason: vbox.why };
  }
  return {
    name: 'virtualbox',
    reason: `the default on ${host.platform === 'darwin' ? 'macOS' : host.platform === 'win32' ? 'Windows' : host.platform}`,
  };
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
