import { Listr, ListrLogger, PRESET_TIMER, ProcessOutput } from 'listr2';
import type { Progress, ProgressEvent } from '../tasks/progress.js';
import { eventProgress } from '../tasks/progress.js';

/** Plain lines instead of the animated display: the stream is not a terminal, or CI is set. */
export function plainProgress(stream: NodeJS.WriteStream = process.stdout): boolean {
  return !stream.isTTY || Boolean(process.env.CI) || process.env.TERM === 'dumb';
}

/**
 * Progress on a terminal with listr2: every step shows its time and its latest detail line; plain
 * lines when not on a terminal. Result lines go to stdout, notices to stderr. Errors are left to
 * the caller (which names the failed step); signals too (the operation owns cleanup).
 */
export function terminalProgress(stream: NodeJS.WriteStream = process.stdout): Progress {
  const logger = new ListrLogger({ processOutput: new ProcessOutput(stream, process.stderr) });
  return {
    async run(steps, opts = {}) {
      await new Listr(
        steps.map((step) => ({
          title: step.title,
          task: (_: unknown, task: { output: string }) => step.run((line) => (task.output = line)),
          rendererOptions: { outputBar: 1, persistentOutput: false },
        })),
        {
          concurrent: opts.concurrent ?? false,
          exitOnError: !opts.keepGoing,
          registerSignalListeners: false,
          renderer: 'default',
          rendererOptions: { timer: PRESET_TIMER, collapseSubtasks: false, logger },
          fallbackRenderer: 'simple',
          fallbackRendererOptions: { timer: PRESET_TIMER, logger },
          fallbackRendererCondition: plainProgress(stream),
          collectErrors: false,
        },
      ).run();
    },
    result: (line) => process.stdout.write(`${line}\n`),
    notice: (line) => process.stderr.write(`${line}\n`),
  };
}

/** Progress as JSON lines on stderr (`--format json`: stdout carries only the result). */
export function jsonLinesProgress(stream: NodeJS.WritableStream = process.stderr): Progress {
  return eventProgress((event: ProgressEvent) => stream.write(`${JSON.stringify(event)}\n`));
}
