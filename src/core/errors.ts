/**
 * Errors that reach the user. A MachineError carries the exit code docker-machine used for the
 * situation and, where one exists, the fix, so the CLI can print one line: "<problem>. <fix>".
 */
export class MachineError extends Error {
  readonly exitCode: number;
  readonly fix: string | undefined;

  constructor(message: string, opts: { exitCode?: number; fix?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'MachineError';
    this.exitCode = opts.exitCode ?? 1;
    this.fix = opts.fix;
  }

  /** The one line shown to the user. */
  get line(): string {
    if (!this.fix) return this.message;
    const sep = /[.!?:]$/.test(this.message) ? ' ' : ': ';
    return `${this.message}${sep}${this.fix}`;
  }
}

/** Raised when the user interrupts (Ctrl-C) a long operation. */
export class Interrupted extends MachineError {
  constructor() {
    super('Interrupted', { exitCode: 130 });
  }
}

/** The message of anything thrown, without stack (file system errors in our words). */
export function messageOf(err: unknown): string {
  if (err instanceof MachineError) return err.line;
  const fs = fsError(err);
  if (fs) return fs.line;
  if (err instanceof Error) return err.message;
  return String(err);
}

/**
 * A file system error (EACCES, EROFS, ENOSPC, ENOTDIR...) as one line naming the file and the fix,
 * instead of node's "EACCES: permission denied, open '...'". undefined for anything else.
 */
export function fsError(err: unknown): MachineError | undefined {
  const e = err as NodeJS.ErrnoException;
  if (err instanceof MachineError || !(err instanceof Error) || typeof e.code !== 'string') return undefined;
  const where = e.path ?? 'a file';
  const store = 'or use another store (--storage-path, MACHINE_STORAGE_PATH)';
  const known: Record<string, [string, string]> = {
    EACCES: [`Permission denied on ${where}`, `check who owns it and its permissions (ls -ld ${where}), ${store}`],
    EPERM: [`Operation not permitted on ${where}`, `check who owns it and its permissions (ls -ld ${where}), ${store}`],
    EROFS: [`${where} is on a read-only file system`, `remount it read-write, ${store}`],
    ENOSPC: [`No space left on the disk holding ${where}`, `free some space, ${store}`],
    EDQUOT: [`Disk quota exceeded writing ${where}`, `free some space, ${store}`],
    ENOTDIR: [`A part of ${where} is a file, not a folder`, `check the path, ${store}`],
    EISDIR: [`${where} is a folder, not a file`, 'check the path'],
    ENOENT: [`${where} does not exist`, 'check the path'],
    ELOOP: [`${where} is a loop of symbolic links`, 'fix the links'],
    ENAMETOOLONG: [`The path ${where} is too long`, 'use a shorter --storage-path'],
  };
  const hit = known[e.code];
  return hit ? new MachineError(hit[0], { fix: hit[1], cause: err }) : undefined;
}

/** One error for several: messages joined by newlines, the first one's exit code. */
export function combineErrors(errors: unknown[]): MachineError {
  const first = errors[0];
  return new MachineError(errors.map(messageOf).join('\n'), { exitCode: first instanceof MachineError ? first.exitCode : 1 });
}

/**
 * Run an action on several machines at once, as docker-machine did; every failure is reported,
 * joined by newlines, and the whole fails if any did.
 */
export async function forEachMachine<T>(names: string[], action: (name: string) => Promise<T>): Promise<T[]> {
  const results = await Promise.allSettled(names.map(action));
  const errors = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as unknown);
  if (errors.length) throw combineErrors(errors);
  return results.map((r) => (r as PromiseFulfilledResult<T>).value);
}
