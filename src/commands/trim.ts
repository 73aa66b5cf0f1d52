import { MachineError } from '../core/errors.js';
import type { DiskUsage } from '../drivers/driver.js';
import { trimGuest } from '../forward/trim.js';
import { Machine } from '../machine/machine.js';
import { SshSession } from '../ssh/client.js';
import type { Store } from '../store/store.js';

export interface TrimResult {
  name: string;
  /** Bytes fstrim discarded in the guest (free space not trimmed before: all of it after a boot). */
  trimmed: number;
  /** The disk image on the host before and after, when the driver keeps one here. */
  before?: DiskUsage;
  after?: DiskUsage;
}

/**
 * `machine trim`: give the host back now what the guest freed (the forwarder does it by itself
 * after images or volumes are removed, and every ten minutes).
 */
export async function trim(store: Store, name: string): Promise<TrimResult> {
  const machine = await Machine.loadRunning(store, name);
  if (!machine.features.trimsDisk)
    throw new MachineError(`Machine "${name}" is an existing host (${machine.config.DriverName}): its disks are not ours to trim`);
  const before = await machine.driver.diskUsage?.();
  const ssh = await SshSession.connect(await machine.sshTarget());
  let trimmed: number;
  try {
    trimmed = await trimGuest(ssh);
  } finally {
    ssh.close();
  }
  return { name, trimmed, before, after: await machine.driver.diskUsage?.() };
}
