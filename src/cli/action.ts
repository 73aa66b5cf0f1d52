import type { Command } from 'commander';
import { fsError, MachineError, messageOf } from '../core/errors.js';
import { type CommandContext, type GlobalOptions, makeContext } from './context.js';

/**
 * Run a command action: build the context from the global options, run it, and turn errors into one
 * line on stderr with docker-machine's exit code (file system errors say which file and the fix).
 */
export function action<A extends unknown[]>(fn: (ctx: CommandContext, ...args: A) => Promise<void | number>) {
  return async (...args: unknown[]) => {
    const cmd = args[args.length - 1] as Command;
    const globals = cmd.optsWithGlobals() as GlobalOptions;
    let debug = false;
    try {
      const ctx = makeContext(globals, process.argv.slice(2));
      debug = ctx.debug;
      const code = await fn(ctx, ...(args.slice(0, -1) as A));
      if (typeof code === 'number') process.exitCode = code;
    } catch (caught) {
      const err = fsError(caught) ?? caught;
      if (err instanceof MachineError) {
        if (err.line) process.stderr.write(`${err.line}\n`);
        process.exitCode = err.exitCode;
      } else {
        process.stderr.write(`${messageOf(err)}\n`);
        process.exitCode = 1;
      }
      if (debug && caught instanceof Error) process.stderr.write(`${caught.stack}\n`);
    }
  };
}
