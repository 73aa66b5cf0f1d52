import type { UseOutcome } from '../commands/use.js';

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
