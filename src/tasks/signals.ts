import { Interrupted } from '../core/errors.js';
import type { Progress } from './progress.js';

/**
 * Call onSignal at the first Ctrl-C (or SIGTERM/SIGHUP) so the caller can clean up, and say so; a
 * second one exits at once. Returns a function that stops listening.
 */
export function onInterrupt(onSignal: () => void, notice: (line: string) => void, doing = 'cleaning up'): () => void {
  let count = 0;
  const handler = (sig: NodeJS.Signals) => {
    count++;
    if (count === 1) {
      notice(`Interrupted (${sig}): ${doing}; press Ctrl-C again to quit at once`);
      onSignal();
    } else process.exit(130);
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const s of signals) process.on(s, handler);
  return () => {
    for (const s of signals) process.off(s, handler);
  };
}

/**
 * Run fn with a signal that Ctrl-C/SIGTERM aborts. Whatever fn then throws (or even if it finishes),
 * the outcome is Interrupted (exit 130): an interrupted command never reports success.
 */
export async function interruptible<T>(
  fn: (signal: AbortSignal) => Promise<T>,
  progress: Pick<Progress, 'notice'>,
  doing?: string,
): Promise<T> {
  const abort = new AbortController();
  const stop = onInterrupt(() => abort.abort(new Interrupted()), progress.notice, doing);
  try {
    const value = await fn(abort.signal);
    abort.signal.throwIfAborted();
    return value;
  } catch (err) {
    if (abort.signal.aborted) throw abort.signal.reason;
    throw err;
  } finally {
    stop();
  }
}
