import { MachineError } from '../core/errors.js';
import type { Store } from '../store/store.js';

/** docker-machine's default-machine rule: no name means "default", if it exists. */
export async function namesOrDefault(store: Store, names: string[]): Promise<string[]> {
  if (names.length) return names;
  if (await store.exists('default')) return ['default'];
  throw new MachineError('Error: No machine name(s) specified and no "default" machine exists');
}

export async function oneNameOrDefault(store: Store, names: string[]): Promise<string> {
  if (names.length > 1) throw new MachineError('Error: Expected one machine name as an argument');
  return (await namesOrDefault(store, names))[0]!;
}
