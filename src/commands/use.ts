import { MachineError } from '../core/errors.js';
import { type UnuseResult, unuseMachine, type UseResult } from '../context/machine.js';
import type { Store } from '../store/store.js';
import { useMachine } from '../tasks/use.js';
import { oneNameOrDefault } from './common.js';

export interface UseOptions {
  unset?: boolean;
}

export type UseOutcome = ({ kind: 'use' } & UseResult) | ({ kind: 'unset' } & UnuseResult);

/** `machine use [NAME]` / `machine use --unset`. */
export async function use(
  store: Store,
  names: string[],
  opts: UseOptions,
  notice: (line: string) => void,
  env: NodeJS.ProcessEnv = process.env,
): Promise<UseOutcome> {
  if (opts.unset) {
    if (names.length) throw new MachineError('Error: Expected no machine name when --unset is present');
    return { kind: 'unset', ...(await unuseMachine(env)) };
  }
  const name = await oneNameOrDefault(store, names);
  return { kind: 'use', ...(await useMachine(store, name, notice, env)) };
}
