import { combineErrors, MachineError } from '../core/errors.js';
import type { MachineState, Report } from '../drivers/driver.js';
import { Machine } from '../machine/machine.js';
import type { Store } from '../store/store.js';
import { bringUp, shutDown } from './bringup.js';
import type { Progress, Step } from './progress.js';
import { interruptible } from './signals.js';

export type Action = 'start' | 'stop' | 'restart' | 'kill';

const VERB: Record<Action, { ing: string; ed: string }> = {
  start: { ing: 'Starting', ed: 'started' },
  stop: { ing: 'Stopping', ed: 'stopped' },
  restart: { ing: 'Restarting', ed: 'restarted' },
  kill: { ing: 'Killing', ed: 'killed' },
};

/** Nothing of the VM runs (Error may still have a process: an I/O-error pause, a broken monitor). */
const isDown = (state: MachineState) => state === 'Stopped' || state === 'Saved' || state === '';

/**
 * What each action does to one machine; bring-up (SSH, certificates, Docker) follows a start.
 * A start of a paused machine resumes it. A start of a running machine completes its bring-up (an earlier start may have been
 * interrupted before the shares were mounted or Docker answered), and only when nothing was
 * missing says "already running", as docker-machine did.
 */
async function act(machine: Machine, action: Action, report: Report, signal: AbortSignal): Promise<string> {
  const { driver } = machine;
  const state = await driver.state();
  if (action === 'start' && state === 'Paused') {
    // The driver resumes it (QEMU cont, VirtualBox resume); bring-up sets the clock it lost.
    await machine.start(report);
    await bringUp(machine, report, signal);
    return `Machine "${machine.name}" was ${VERB[action].ed}.`;
  }
  if (action === 'start' && !isDown(state)) {
    const done = await bringUp(machine, report, signal);
    if (!done.written.length && !done.restarted && !done.mounted.length)
      throw new MachineError(`Machine "${machine.name}" is already running.`);
    return `Machine "${machine.name}" was already running; its bring-up was completed.`;
  }
  if ((action === 'stop' || action === 'kill') && isDown(state)) {
    throw new MachineError(`Machine "${machine.name}" is already stopped.`);
  }
  if (action === 'stop' || action === 'kill') await shutDown(machine, action, report);
  if (action === 'restart' && !isDown(state)) await shutDown(machine, 'stop', report);
  if (action === 'start' || action === 'restart') {
    signal.throwIfAborted();
    await machine.start(report);
    await bringUp(machine, report, signal);
  }
  return `Machine "${machine.name}" was ${VERB[action].ed}.`;
}

/**
 * start/stop/restart/kill of one or more machines, concurrently, each under its machine lock.
 * Unlike docker-machine's start, a start re-checks the certificates and the daemon's config, so a
 * changed address never leaves a certificate behind (#531). Each machine's result line is said as
 * it is done (also when another machine fails); they are also what it returns.
 */
export async function lifecycle(store: Store, names: string[], action: Action, progress: Progress): Promise<string[]> {
  names = [...new Set(names)];
  // Names that are no machine fail before any progress is shown (one line each, as before).
  const failures: unknown[] = [];
  const present: string[] = [];
  for (const name of names) {
    if (await store.exists(name)) present.push(name);
    else failures.push(store.notFound(name));
  }
  if (!present.length) throw combineErrors(failures);
  const done: string[] = [];
  await interruptible(
    async (signal) => {
      const steps: Step[] = present.map((name) => ({
        title: `${VERB[action].ing} "${name}"`,
        run: async (report) => {
          try {
            const message = await store.withLock(name, async () => act(await Machine.load(store, name, signal), action, report, signal), {
              onWait: (owner) => report(`Waiting for "${owner.command}" (pid ${owner.pid}) to finish with "${name}"`),
            });
            done.push(message);
            progress.result(message);
          } catch (err) {
            failures.push(err);
            throw err;
          }
        },
      }));
      // Every machine runs even if one fails; all failures are reported together.
      await progress.run(steps, { concurrent: true, keepGoing: true });
      if (failures.length) throw combineErrors(failures);
      if (action === 'start' || action === 'restart') {
        const verb = action === 'start' ? 'Started' : 'Restarted';
        progress.result(`${verb} machines may have new IP addresses. You may need to re-run the \`machine env\` command.`);
      }
    },
    progress,
    'stopping',
  );
  return done;
}
