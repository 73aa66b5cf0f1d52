import { promises as fs } from 'node:fs';
import { acquire } from '../core/lock.js';
import { MachineError, messageOf } from '../core/errors.js';
import { sleep } from '../core/wait.js';
import { Machine } from '../machine/machine.js';
import type { Store } from '../store/store.js';
import { PortForwardService } from './forwarder.js';
import { forwarderLockFile, stateFile } from './process.js';

/**
 * The forwarder process: follow the daemon while the VM runs. A restart of dockerd (provisioning)
 * ends the event stream; we reconnect. It holds the machine's forwarder lock for its whole life (a
 * second forwarder exits at once), and exits when the VM no longer runs or the machine is gone (rm,
 * docker-machine rm, the folder deleted), so nothing is left behind.
 */
export async function runForwarder(store: Store, name: string): Promise<void> {
  const log = (line: string) => process.stdout.write(`${new Date().toISOString()} ${line}\n`);
  const abort = new AbortController();
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(sig, () => abort.abort());
  // A real machine first (the name rule, a folder that is not a symlink): only then its lock.
  const machine = await Machine.load(store, name);
  let release: () => Promise<void>;
  try {
    release = await acquire(forwarderLockFile(machine.dir), {
      waitMs: 0,
      busy: (owner) => new MachineError(`another forwarder (pid ${owner.pid}) serves machine "${name}"`),
    });
  } catch (err) {
    log(`not started: ${messageOf(err)}`);
    return;
  }
  // A long-lived process must not keep a VirtualBox web service of its own running.
  machine.driver.forBackground?.();
  const gone = async () =>
    (await fs.access(store.configPath(name)).then(
      () => false,
      () => true,
    )) || (await machine.driver.state()) !== 'Running';
  const watchdog = setInterval(() => {
    void gone().then(
      (g) => g && abort.abort(),
      () => abort.abort(),
    );
  }, 2000);
  let service: PortForwardService | undefined;
  while (!abort.signal.aborted) {
    try {
      service = new PortForwardService(machine, log);
      await service.run(abort.signal);
    } catch (err) {
      log(`error: ${messageOf(err)}`);
    }
    if (!abort.signal.aborted) await sleep(1000, abort.signal).catch(() => undefined);
  }
  clearInterval(watchdog);
  if (!(await gone().catch(() => true))) await service?.shutdown();
  else await fs.rm(stateFile(machine), { force: true });
  await release();
  log('stopped');
}
