import { MachineError, messageOf } from '../core/errors.js';
import { stopForwarder } from '../forward/process.js';
import { Host } from '../host/host.js';
import type { Store } from '../store/store.js';
import { confirm } from './common.js';

export interface RmOptions {
  force?: boolean;
  yes?: boolean;
}

/**
 * `machine rm`: docker-machine's prompt and messages. The VM goes first (process, disk, files),
 * then the store entry. With -f the store entry goes even when the VM could not be removed, and a
 * half-created or corrupt machine can always be removed.
 */
export async function rm(store: Store, names: string[], opts: RmOptions, out: (line: string) => void): Promise<void> {
  if (!names.length) throw new MachineError('Error: Expected to get one or more machine names as arguments');
  out(`About to remove ${names.join(', ')}`);
  out('WARNING: This action will delete both local reference and remote instance.');
  if (!opts.force && !opts.yes && !(await confirm('Are you sure? (y/n): '))) return;
  const failed: string[] = [];
  for (const name of names) {
    try {
      if (!(await store.exists(name))) throw store.notFound(name);
      await store.withLock(name, async () => {
        try {
          const host = await Host.load(store, name);
          await stopForwarder(host);
          await host.driver.remove();
        } catch (err) {
          if (!opts.force) throw err;
          out(`Error removing host "${name}": ${messageOf(err)}`);
        }
        await store.remove(name);
      });
      out(`Successfully removed ${name}`);
      // The docker context `machine use` made for it, if any (and not current any more).
      const { removeMachineContext } = await import('../context/machine.js');
      const context = await removeMachineContext(store, name).catch(() => undefined);
      if (context) out(`Removed docker context "${context}"`);
    } catch (err) {
      out(`Error removing host "${name}": ${messageOf(err)}`);
      if (opts.force) out(`Can't remove "${name}"`);
      failed.push(name);
    }
  }
  if (failed.length && !opts.force) throw new MachineError('', { exitCode: 1 });
}
