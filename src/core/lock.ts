import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { MachineError } from './errors.js';
import { processAlive, processStartToken } from './process.js';
import { poll, sleep, WaitTimeout, withTimeout } from './wait.js';

/**
 * Cross-process locks as files naming their owner (pid, start time, command). A lock whose owner
 * is gone (crashed, SIGKILLed) is taken over at once; one held by a live process is waited for,
 * then refused naming that process. Nested use in the same async call chain is re-entrant (start
 * → bring-up → forwarder); sibling calls in one process queue behind each other.
 */

export interface LockOwner {
  pid: number;
  /** processStartToken of pid when it took the lock (tells a recycled pid apart). */
  start?: string;
  /** What it is doing, for the "busy" message: "machine start default". */
  command: string;
  at: string;
}

const held = new AsyncLocalStorage<ReadonlySet<string>>();
const queues = new Map<string, Promise<unknown>>();
let ownStart: Promise<string | undefined> | undefined;

/** Our own description, written into every lock we take. */
async function me(): Promise<LockOwner> {
  ownStart ??= processStartToken(process.pid);
  const args = process.argv.slice(2).filter((a) => !a.startsWith('--storage-path'));
  return { pid: process.pid, start: await ownStart, command: `machine ${args.join(' ')}`.trim(), at: new Date().toISOString() };
}

/** True while the owner process runs (the same process: same pid and start time). */
export async function ownerAlive(owner: LockOwner): Promise<boolean> {
  if (owner.pid === process.pid) return true;
  if (!processAlive(owner.pid)) return false;
  if (!owner.start) return true;
  const now = await processStartToken(owner.pid);
  return now === undefined || now === owner.start;
}

/** The owner named in a lock file; undefined when there is none. Garbage names nobody (pid 0). */
export async function readOwner(file: string): Promise<LockOwner | undefined> {
  const text = await fs.readFile(file, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    const o = JSON.parse(text) as LockOwner;
    if (Number.isInteger(o.pid)) return o;
  } catch {
    // fall through
  }
  return { pid: 0, command: 'unknown', at: text };
}

/** Create `file` holding `content`, atomically (readers never see it half written); false if it exists. */
async function createExclusive(file: string, content: string): Promise<boolean> {
  const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await fs.writeFile(tmp, content, { mode: 0o600, flag: 'wx' });
    await fs.link(tmp, file);
    return true;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EEXIST') return false;
    e.path = path.dirname(file); // where it could not write: the folder, not our temporary name
    throw e;
  } finally {
    await fs.rm(tmp, { force: true });
  }
}

/**
 * Remove a lock left by a dead owner. The removal is guarded by a second lock (held for
 * microseconds), so two processes that both saw the dead owner cannot remove each other's new lock.
 */
async function removeStale(file: string, stale: LockOwner): Promise<void> {
  const guard = `${file}.takeover`;
  if (!(await createExclusive(guard, String(process.pid)))) {
    const st = await fs.stat(guard).catch(() => undefined);
    if (st && Date.now() - st.mtimeMs > 2000) await fs.rm(guard, { force: true }); // its taker died mid-takeover
    return;
  }
  try {
    const now = await readOwner(file);
    if (now && now.pid === stale.pid && now.at === stale.at) await fs.rm(file, { force: true });
  } finally {
    await fs.rm(guard, { force: true });
  }
}

export interface LockOptions {
  /** How long to wait for a live owner before giving up (default 10 s). */
  waitMs?: number;
  /** Told once, after a second of waiting, who holds the lock. */
  onWait?: (owner: LockOwner) => void;
  /** The error when a live owner keeps it: gets the owner. */
  busy: (owner: LockOwner) => MachineError;
}

/** Take the lock file (waiting for a live owner up to waitMs); returns the release function. */
export async function acquire(file: string, opts: LockOptions): Promise<() => Promise<void>> {
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const mine = await me();
  const content = JSON.stringify(mine);
  const release = async () => {
    const owner = await readOwner(file);
    if (owner?.pid === mine.pid && owner.at === mine.at) await fs.rm(file, { force: true });
  };
  /** The lock, or its live owner. A dead owner's lock is taken over at once, whatever the wait. */
  const take = async (): Promise<typeof release | LockOwner> => {
    for (;;) {
      if (await createExclusive(file, content)) return release;
      const owner = await readOwner(file);
      if (!owner) continue; // released just now
      if (await ownerAlive(owner)) return owner;
      await removeStale(file, owner);
      await sleep(5); // another taker may hold the takeover guard for a moment: do not spin
    }
  };
  const started = Date.now();
  let holder: LockOwner | undefined;
  let told = false;
  const attempt = async () => {
    const got = await take();
    if (typeof got === 'function') return got;
    holder = got;
    if (!told && Date.now() - started > 1000) {
      told = true;
      opts.onWait?.(got);
    }
    return undefined;
  };
  // Errors (a folder we may not write) are final: only a live owner is waited for.
  const wait = { timeoutMs: opts.waitMs ?? 10_000, intervalMs: 25, maxIntervalMs: 500, what: `the lock ${file}`, fatal: () => true };
  return poll(attempt, wait).catch((err) => {
    throw err instanceof WaitTimeout && holder ? opts.busy(holder) : err;
  });
}

/** Run fn holding the lock file: re-entrant within one async call chain, queued between siblings. */
export async function withFileLock<T>(file: string, opts: LockOptions, fn: () => Promise<T>): Promise<T> {
  const mine = held.getStore() ?? new Set<string>();
  if (mine.has(file)) return fn();
  // One at a time in this process: queue behind earlier callers (their failures are theirs).
  const before = queues.get(file) ?? Promise.resolve();
  let done!: () => void;
  const turn = new Promise<void>((resolve) => (done = resolve));
  const chain = before.then(() => turn);
  queues.set(file, chain);
  try {
    const queued = await withTimeout(before, opts.waitMs ?? 10_000, 'the queue').then(
      () => true,
      () => false,
    );
    if (!queued) throw opts.busy(await me());
    const release = await acquire(file, opts);
    try {
      return await held.run(new Set([...mine, file]), fn);
    } finally {
      await release();
    }
  } finally {
    done();
    if (queues.get(file) === chain) queues.delete(file);
  }
}
