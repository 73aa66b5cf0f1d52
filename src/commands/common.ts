import readline from 'node:readline';
import { MachineError, messageOf } from '../core/errors.js';
import { Host } from '../host/host.js';
import type { Store } from '../store/store.js';

/** docker-machine's default-machine rule: no name means "default", if it exists. */
export async function namesOrDefault(store: Store, names: string[]): Promise<string[]> {
  if (names.length) return names;
  if (await store.exists('default')) return ['default'];
  throw new MachineError('Error: No machine name(s) specified and no "default" machine exists');
}

export async function oneNameOrDefault(store: Store, names: string[]): Promise<string> {
  if (names.length > 1) throw new MachineError('Error: Expected one machine name as an argument');
  return (await namesOrDefault(store, names))[0]!;
}

/** Load a machine that must be running (ssh, ip, url, env, config, provision...). */
export async function runningHost(store: Store, name: string, message = 'Host is not running'): Promise<Host> {
  const host = await Host.load(store, name);
  const state = await host.driver.state();
  if (state !== 'Running') throw new MachineError(message, { fix: `start it with "machine start ${name}"` });
  return host;
}

/**
 * Run an action on several machines at once, as docker-machine did; every failure is reported,
 * joined by newlines, and the command fails if any did.
 */
export async function forEachMachine<T>(names: string[], action: (name: string) => Promise<T>): Promise<T[]> {
  const results = await Promise.allSettled(names.map(action));
  const errors = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as unknown);
  if (errors.length) throw combineErrors(errors);
  return results.map((r) => (r as PromiseFulfilledResult<T>).value);
}

/** One error for several: messages joined by newlines, the first one's exit code. */
export function combineErrors(errors: unknown[]): MachineError {
  const first = errors[0];
  return new MachineError(errors.map(messageOf).join('\n'), { exitCode: first instanceof MachineError ? first.exitCode : 1 });
}

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
