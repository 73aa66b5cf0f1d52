import { MachineError } from '../core/errors.js';
import { terminateAll } from '../core/process.js';
import { DRIVERS } from '../drivers/registry.js';
import { forwarderProcesses } from '../forward/process.js';
import type { Store } from '../store/store.js';

/**
 * Processes that still serve a machine whose driver could not be asked (config.json lost or
 * corrupt, a pidfile gone): its forwarder and any VM process a driver finds by the machine folder.
 */
export async function machineProcesses(store: Store, name: string): Promise<number[]> {
  const dir = store.machineDir(name);
  const finders = await Promise.all(DRIVERS.map(async (d) => (d.processes ? d.processes(dir) : [])));
  return [...new Set([...(await forwarderProcesses(store, name)), ...finders.flat()])];
}

/** End them all; an error naming the survivors when one would not end (rm must not report success then). */
export async function stopMachineProcesses(store: Store, name: string): Promise<void> {
  const survivors = await terminateAll(await machineProcesses(store, name));
  if (survivors.length) {
    throw new MachineError(`Process ${survivors.join(', ')} of machine "${name}" is still running`, {
      fix: `end it by hand (kill -9 ${survivors.join(' ')}) and run "machine rm -f ${name}" again`,
    });
  }
}
