import { MachineError } from '../core/errors.js';
import type { Store } from '../store/store.js';
import { listMachines } from './ls.js';

/**
 * `machine active`: the running machine whose URL is $DOCKER_HOST, or, when DOCKER_HOST is not set,
 * the machine of the docker CLI's current context (`machine use`).
 */
export async function active(store: Store, timeout: number): Promise<string> {
  const rows = await listMachines(store, { timeout, format: '{{.Name}}' });
  const match = rows.find((r) => r.ActiveHost);
  if (match) return match.Name;
  if (rows.some((r) => r.State === 'Timeout')) throw new MachineError('Error getting active host: timeout');
  throw new MachineError('No active host found');
}
