import type { ListrTask } from 'listr2';
import { MachineError } from '../core/errors.js';
import type { Report } from '../drivers/driver.js';
import { Host } from '../host/host.js';
import type { Store } from '../store/store.js';
import { bringUp, shutDown } from '../tasks/bringup.js';
import { pipeline } from '../tasks/runner.js';
import { combineErrors } from './common.js';

type Action = 'start' | 'stop' | 'restart' | 'kill';

const VERB: Record<Action, { ing: string; ed: string }> = {
  start: { ing: 'Starting', ed: 'started' },
  stop: { ing: 'Stopping', ed: 'stopped' },
  restart: { ing: 'Restarting', ed: 'restarted' },
  kill: { ing: 'Killing', ed: 'killed' },
};

/** What each action does to one machine; bring-up (SSH, certificates, Docker) follows a start. */
async function act(host: Host, action: Action, report: Report): Promise<void> {
  const { driver } = host;
  const state = await driver.state();
  const running = state === 'Running';
  if (action === 'start' && running) throw new MachineError(`Machine "${host.name}" is already running.`);
  if ((action === 'stop' || action === 'kill') && !running && state !== 'Paused') {
    throw new MachineError(`Machine "${host.name}" is already stopped.`);
  }
  if (action === 'stop' || action === 'kill') await shutDown(host, action, report);
  if (action === 'restart' && (running || state === 'Paused')) await shutDown(host, 'stop', report);
  if (action === 'start' || action === 'restart') {
    await driver.start(report);
    await host.save(); // ports chosen at start
    await bringUp(host, report);
  }
  if (action === 'stop' || action === 'kill') driver.config.IPAddress = '';
  await host.save();
}

/**
 * start/stop/restart/kill of one or more machines, concurrently, each under its machine lock.
 * Unlike docker-machine's start, a start re-checks the certificates and the daemon's config, so a
 * changed address never leaves a certificate behind (#531).
 */
export async function lifecycle(store: Store, names: string[], action: Action): Promise<string[]> {
  const messages: string[] = [];
  const failures: unknown[] = [];
  const tasks: ListrTask[] = names.map((name) => ({
    title: `${VERB[action].ing} "${name}"`,
    task: async (_, task) => {
      try {
        await store.withLock(name, async () => {
          const host = await Host.load(store, name);
          await act(host, action, (line) => (task.output = line));
        });
        messages.push(`Machine "${name}" was ${VERB[action].ed}.`);
      } catch (err) {
        failures.push(err);
        throw err;
      }
    },
    rendererOptions: { outputBar: 1 },
  }));
  // Every machine runs even if one fails; all failures are reported together.
  await pipeline(tasks, { ctx: {}, concurrent: true, exitOnError: false }).run();
  if (failures.length) throw combineErrors(failures);
  if (action === 'start' || action === 'restart') {
    const verb = action === 'start' ? 'Started' : 'Restarted';
    messages.push(`${verb} machines may have new IP addresses. You may need to re-run the \`machine env\` command.`);
  }
  return messages;
}
