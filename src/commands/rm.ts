import { MachineError, messageOf } from '../core/errors.js';
import { stopForwarder } from '../forward/process.js';
import { Host } from '../host/host.js';
import type { Store } from '../store/store.js';
import { confirm } from './common.js';

export interface RmOptions {
  force?: boolean;
  yes?: boolean;
}

/** Where rm's lines go: progress and successes to stdout, errors to stderr. */
export interface RmOutput {
  out: (line: string) => void;
  err: (line: string) => void;
}

/**
 * `machine rm`: docker-machine's prompt and messages. The VM goes first (through its driver: process,
 * disk, files), then any process still using the machine's folder (an orphan whose pidfile or config
 * was lost), then the store entry. With -f the store entry goes even when the driver could not remove
 * the VM (a corrupt config), but never while a VM process of the machine still runs, and never for a
 * folder that is not a machine. Exit status 1 when anything was not removed, -f or not.
 */
export async function rm(store: Store, names: string[], opts: RmOptions, io: RmOutput): Promise<void> {
  if (!names.length) throw new MachineError('Error: Expected to get one or more machine names as arguments');
  names = [...new Set(names)];
  io.out(`About to remove ${names.join(', ')}`);
  io.out('WARNING: This action will delete both local reference and remote instance.');
  if (!opts.force && !opts.yes && !(await confirm('Are you sure? (y/n): ', '-y'))) return;
  let failed = false;
  for (const name of names) {
    try {
      await removeOne(store, name, opts, io);
      io.out(`Successfully removed ${name}`);
      // The docker context `machine use` made for it, if any (and not current any more).
      const { removeMachineContext } = await import('../context/machine.js');
      const context = await removeMachineContext(store, name).catch(() => undefined);
      if (context) io.out(`Removed docker context "${context}"`);
    } catch (err) {
      io.err(`Error removing host "${name}": ${messageOf(err)}`);
      if (opts.force) io.err(`Can't remove "${name}"`);
      failed = true;
    }
  }
  if (failed) throw new MachineError('', { exitCode: 1 });
}

async function removeOne(store: Store, name: string, opts: RmOptions, io: RmOutput): Promise<void> {
  if (!(await store.exists(name))) {
    await store.remove(name); // a symlink or file there: refused with its own message
    throw store.notFound(name);
  }
  if (!(await store.isMachineDir(name))) {
    const { machineProcesses } = await import('../host/orphans.js');
    const pids = await machineProcesses(store, name);
    throw store.notAMachine(name, `has no config.json${pids.length ? ` (process ${pids.join(', ')} uses it)` : ''}`);
  }
  await store.withLock(name, async () => {
    try {
      const host = await Host.load(store, name);
      await stopForwarder(host);
      await host.driver.remove();
    } catch (err) {
      if (!opts.force) throw err;
      io.err(`Error removing the VM of "${name}": ${messageOf(err)}`);
    }
    const { stopMachineProcesses } = await import('../host/orphans.js');
    await stopMachineProcesses(store, name);
    await store.remove(name);
  });
}
