import { MachineError, messageOf } from '../core/errors.js';
import { stopForwarder } from '../forward/process.js';
import { Machine } from '../machine/machine.js';
import type { Store } from '../store/store.js';
import type { Progress } from './progress.js';

export interface RmOptions {
  force?: boolean;
}

/**
 * `machine rm`: docker-machine's prompt and messages. The VM goes first (through its driver: process,
 * disk, files), then any process still using the machine's folder (an orphan whose pidfile or config
 * was lost), then the store entry. With -f the store entry goes even when the driver could not remove
 * the VM (a corrupt config), but never while a VM process of the machine still runs, and never for a
 * folder that is not a machine. Exit status 1 when anything was not removed, -f or not. Successes
 * are results; what failed is a notice. (The caller has asked the user.)
 */
export async function rm(store: Store, names: string[], opts: RmOptions, progress: Progress): Promise<void> {
  names = [...new Set(names)];
  let failed = false;
  for (const name of names) {
    try {
      await removeOne(store, name, opts, progress);
      progress.result(`Successfully removed ${name}`);
      // The docker context `machine use` made for it, if any (and not current any more).
      const { removeMachineContext } = await import('../context/machine.js');
      const context = await removeMachineContext(store, name).catch(() => undefined);
      if (context) progress.result(`Removed docker context "${context}"`);
    } catch (err) {
      progress.notice(`Error removing host "${name}": ${messageOf(err)}`);
      if (opts.force) progress.notice(`Can't remove "${name}"`);
      failed = true;
    }
  }
  if (failed) throw new MachineError('', { exitCode: 1 });
}

async function removeOne(store: Store, name: string, opts: RmOptions, progress: Progress): Promise<void> {
  if (!(await store.exists(name))) {
    await store.remove(name); // a symlink or file there: refused with its own message
    throw store.notFound(name);
  }
  if (!(await store.isMachineDir(name))) {
    const { machineProcesses } = await import('./orphans.js');
    const pids = await machineProcesses(store, name);
    throw store.notAMachine(name, `has no config.json${pids.length ? ` (process ${pids.join(', ')} uses it)` : ''}`);
  }
  await store.withLock(name, async () => {
    try {
      const machine = await Machine.load(store, name);
      await stopForwarder(machine);
      await machine.remove();
    } catch (err) {
      if (!opts.force) throw err;
      progress.notice(`Error removing the VM of "${name}": ${messageOf(err)}`);
    }
    const { stopMachineProcesses } = await import('./orphans.js');
    await stopMachineProcesses(store, name);
    await store.remove(name);
  });
}
