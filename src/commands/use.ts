import { MachineError } from '../core/errors.js';
import { type UnuseResult, unuseMachine, type UseResult, useMachine } from '../context/machine.js';
import type { Store } from '../store/store.js';
import { oneNameOrDefault } from './common.js';

export interface UseOptions {
  unset?: boolean;
}

export type UseOutcome = ({ kind: 'use' } & UseResult) | ({ kind: 'unset' } & UnuseResult);

/** `machine use [NAME]` / `machine use --unset`. */
export async function use(store: Store, names: string[], opts: UseOptions, env: NodeJS.ProcessEnv = process.env): Promise<UseOutcome> {
  if (opts.unset) {
    if (names.length) throw new MachineError('Error: Expected no machine name when --unset is present');
    return { kind: 'unset', ...(await unuseMachine(env)) };
  }
  const name = await oneNameOrDefault(store, names);
  return { kind: 'use', ...(await useMachine(store, name, env)) };
}

/** The lines for the terminal: stdout says what changed; warnings go to stderr. */
export function renderUse(o: UseOutcome): { out: string[]; err: string[] } {
  if (o.kind === 'use') {
    return {
      out: [`Current context is now "${o.context}" (machine "${o.machine}", ${o.host})`],
      err: o.warnings,
    };
  }
  if (o.previous) return { out: [`Current context is now "default" (was "${o.previous}")`], err: o.warnings };
  if (o.foreign) return { out: [`Current context is "${o.foreign}", not a machine's: left as it is`], err: o.warnings };
  return { out: ['Current context is "default": no machine was in use'], err: o.warnings };
}
