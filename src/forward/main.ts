import { promises as fs } from 'node:fs';
import { acquire } from '../core/lock.js';
import { MachineError, messageOf } from '../core/errors.js';
import { sleep } from '../core/wait.js';
import type { MachineState } from '../drivers/driver.js';
import { Machine } from '../machine/machine.js';
import type { Store } from '../store/store.js';
import { PortForwardService } from './forwarder.js';
import { forwarderLockFile, forwardsPorts, stateFile } from './process.js';
import { GuestUpkeep } from './upkeep.js';

/**
 * The forwarder process: follow the daemon while the VM runs. A restart of dockerd (provisioning)
 * ends the event stream; we reconnect. Beside the ports it keeps the guest's clock and trims its
 * disk (upkeep.ts), for drivers that declare it. It holds the machine's forwarder lock for its whole
 * life (a second forwarder exits at once), waits while the VM is paused, and exits when the VM no
 * longer runs or the machine is gone (rm, docker-machine rm, the folder deleted), so nothing is
 * left behind.
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
  /** The VM's state, or undefined when the machine is gone. */
  const state = async (): Promise<MachineState | undefined> =>
    (await fs.access(store.configPath(name)).then(
      () => false,
      () => true,
    ))
      ? undefined
      : machine.driver.state();
  const gone = (s: MachineState | undefined) => s !== 'Running' && s !== 'Paused';
  const { syncsClock, trimsDisk } = machine.features;
  const upkeep = syncsClock || trimsDisk ? new GuestUpkeep(machine, log, { clock: syncsClock, trim: trimsDisk }) : undefined;
  upkeep?.start(abort.signal);
  const watchdog = setInterval(() => {
    void state().then(
      (s) => (gone(s) ? abort.abort() : upkeep?.vmState(s!)),
      () => abort.abort(),
    );
  }, 2000);
  let service: PortForwardService | undefined;
  if (!forwardsPorts(machine)) log(`keeping the guest of "${name}" (published ports are not forwarded)`);
  while (!abort.signal.aborted) {
    if (!forwardsPorts(machine)) {
      await sleep(60 * 60_000, abort.signal).catch(() => undefined);
      continue;
    }
    try {
      service = new PortForwardService(machine, log);
      await service.run(abort.signal);
    } catch (err) {
      log(`error: ${messageOf(err)}`);
    }
    if (!abort.signal.aborted) await sleep(1000, abort.signal).catch(() => undefined);
  }
  clearInterval(watchdog);
  await upkeep?.stop();
  if (!gone(await state().catch(() => undefined))) await service?.shutdown();
  else await fs.rm(stateFile(machine), { force: true });
  await release();
  log('stopped');
}
