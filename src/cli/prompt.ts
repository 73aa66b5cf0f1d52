import readline from 'node:readline';
import { MachineError } from '../core/errors.js';

/**
 * Ask a yes/no question on the terminal: true for an answer starting with y, false for any other
 * answer. No answer at all (end of input: a script, a closed terminal) is an error, not a no: the
 * command must not look as if it had succeeded.
 */
export async function confirm(question: string, skipWith: string): Promise<boolean> {
  process.stdout.write(question);
  const rl = readline.createInterface({ input: process.stdin, terminal: false });
  try {
    const answer = await new Promise<string | undefined>((resolve) => {
      rl.once('line', resolve);
      rl.once('close', () => resolve(undefined));
    });
    if (answer === undefined) {
      process.stdout.write('\n');
      throw new MachineError('No answer to the question (end of input)', { fix: `pass ${skipWith} to go ahead without asking` });
    }
    return /^y/i.test(answer.trim());
  } finally {
    rl.close();
  }
}
