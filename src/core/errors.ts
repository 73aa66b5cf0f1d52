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

/** The message of anything thrown, without stack. */
export function messageOf(err: unknown): string {
  if (err instanceof MachineError) return err.line;
  if (err instanceof Error) return err.message;
  return String(err);
}
