import { MachineError } from './errors.js';

export const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/**
 * `p`, or an Error naming `what` after `ms` milliseconds (p is left to settle on its own). The
 * timer does not keep the process alive.
 */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what} did not answer within ${ms / 1000} s`)), ms);
    t.unref();
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e) => {
        clearTimeout(t);
        reject(e as Error);
      },
    );
  });
}

export interface PollOptions {
  /** Give up after this many milliseconds. */
  timeoutMs: number;
  /** First delay between attempts; grows by half each time up to maxIntervalMs. */
  intervalMs?: number;
  maxIntervalMs?: number;
  signal?: AbortSignal;
  /** What we were waiting for, for the timeout message ("SSH on 127.0.0.1:2222"). */
  what: string;
  /** How to fix it, appended to the timeout message. */
  fix?: string;
  /** Computed at the timeout instead of fix (what the VM printed last, ...). */
  fixLater?: () => Promise<string>;
  /** Errors for which waiting longer cannot help: thrown at once. */
  fatal?: (err: unknown) => boolean;
}

/** What poll throws when its time is up: names what it waited for. */
export class WaitTimeout extends MachineError {}

/** For a wait whose timeout is an answer, not an error (kill it, fall back): `poll(...).catch(timedOut(false))`. */
export const timedOut =
  <T>(value: T) =>
  (err: unknown): T => {
    if (err instanceof WaitTimeout) return value;
    throw err;
  };

/**
 * Call `attempt` until it returns a value other than undefined, or throw a WaitTimeout naming
 * what we waited for and the last error seen. The one wait loop of the code base.
 */
export async function poll<T>(attempt: () => Promise<T | undefined>, opts: PollOptions): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  let interval = opts.intervalMs ?? 250;
  let lastError: unknown;
  for (;;) {
    if (opts.signal?.aborted) throw opts.signal.reason;
    try {
      const value = await attempt();
      if (value !== undefined) return value;
      lastError = undefined;
    } catch (err) {
      if (opts.fatal?.(err)) throw err;
      lastError = err;
    }
    const left = deadline - Date.now();
    if (left <= 0) {
      const last = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      const fix = opts.fixLater ? await opts.fixLater().catch(() => opts.fix) : opts.fix;
      throw new WaitTimeout(`Timed out after ${Math.round(opts.timeoutMs / 1000)}s waiting for ${opts.what}${last}`, {
        fix,
        cause: lastError,
      });
    }
    await sleep(Math.min(interval, left), opts.signal);
    interval = Math.min(Math.round(interval * 1.5), opts.maxIntervalMs ?? 2000);
  }
}
