import { Listr, type ListrTask, ListrLogger, PRESET_TIMER, ProcessOutput } from 'listr2';

/** Plain lines instead of the animated display: stdout is not a terminal, or CI is set. */
export function plainProgress(stream: NodeJS.WriteStream = process.stdout): boolean {
  return !stream.isTTY || Boolean(process.env.CI) || process.env.TERM === 'dumb';
}

/**
 * A listr2 pipeline with the project's conventions: every step shows its time; plain lines when
 * not on a terminal; errors are left to the caller (which names the failed step); signals are
 * handled by the caller, which owns cleanup.
 */
export function pipeline<Ctx>(
  tasks: ListrTask<Ctx>[],
  opts: { stream?: NodeJS.WriteStream; ctx: Ctx; concurrent?: boolean; exitOnError?: boolean },
): Listr<Ctx> {
  const stream = opts.stream ?? process.stdout;
  const logger = new ListrLogger({ processOutput: new ProcessOutput(stream, process.stderr) });
  return new Listr<Ctx>(tasks, {
    ctx: opts.ctx,
    concurrent: opts.concurrent ?? false,
    exitOnError: opts.exitOnError ?? true,
    registerSignalListeners: false,
    renderer: 'default',
    rendererOptions: { timer: PRESET_TIMER, collapseSubtasks: false, logger },
    fallbackRenderer: 'simple',
    fallbackRendererOptions: { timer: PRESET_TIMER, logger },
    fallbackRendererCondition: plainProgress(stream),
    collectErrors: false,
  });
}
