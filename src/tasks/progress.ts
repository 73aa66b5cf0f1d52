import type { Report } from '../drivers/driver.js';
import { messageOf } from '../core/errors.js';

/**
 * How an operation tells whoever watches it what it is doing: the terminal (listr2, in output/),
 * JSON lines for scripts, the web UI. Operations only call this interface; they never print.
 */

/** One step of an operation: a title shown while it runs; the work reports its latest detail line. */
export interface Step {
  title: string;
  run: (report: Report) => Promise<void>;
}

export type ProgressEvent =
  | { type: 'step'; title: string; state: 'running' }
  | { type: 'step'; title: string; state: 'done' | 'failed'; ms: number; error?: string }
  | { type: 'output'; title: string; line: string }
  | { type: 'result'; line: string }
  | { type: 'notice'; line: string };

export interface RunOptions {
  /** Steps side by side (several machines) instead of one after another. */
  concurrent?: boolean;
  /** Run every step even when one fails (the operation collects the failures itself). */
  keepGoing?: boolean;
}

export interface Progress {
  /** Run steps; the first failure rejects (after the running ones settle) unless keepGoing. */
  run(steps: Step[], opts?: RunOptions): Promise<void>;
  /** The outcome of one part of the operation ("Machine "a" was started."), said as it happens. */
  result(line: string): void;
  /** Something to know that is not the result: a certificate re-issued, a warning. */
  notice(line: string): void;
}

/** Progress as a stream of events (JSON lines, the web UI, tests). */
export function eventProgress(emit: (event: ProgressEvent) => void): Progress {
  const runStep = async (step: Step) => {
    const t0 = Date.now();
    emit({ type: 'step', title: step.title, state: 'running' });
    try {
      await step.run((line) => emit({ type: 'output', title: step.title, line }));
      emit({ type: 'step', title: step.title, state: 'done', ms: Date.now() - t0 });
    } catch (err) {
      emit({ type: 'step', title: step.title, state: 'failed', ms: Date.now() - t0, error: messageOf(err) });
      throw err;
    }
  };
  return {
    async run(steps, opts = {}) {
      if (opts.concurrent) {
        const settled = await Promise.allSettled(steps.map(runStep));
        const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
        if (failed && !opts.keepGoing) throw failed.reason;
        return;
      }
      for (const step of steps) {
        try {
          await runStep(step);
        } catch (err) {
          if (!opts.keepGoing) throw err;
        }
      }
    },
    result: (line) => emit({ type: 'result', line }),
    notice: (line) => emit({ type: 'notice', line }),
  };
}

/** Progress nobody watches (a nested bring-up, background work). */
export const silentProgress: Progress = eventProgress(() => undefined);
