import { promises as fs } from 'node:fs';
import path from 'node:path';
import { messageOf } from '../core/errors.js';
import { sleep } from '../core/wait.js';
import { Host } from '../host/host.js';
import type { Store } from '../store/store.js';
import { PortForwardService } from './forwarder.js';

/**
 * The forwarder process: follow the daemon while the VM runs. A restart of dockerd (provisioning)
 * ends the event stream; we reconnect. When the VM is no longer running we exit, so nothing is left
 * behind after a stop, a kill or a crash of the VM.
 */
export async function runForwarder(store: Store, name: string): Promise<void> {
  const log = (line: string) => process.stdout.write(`${new Date().toISOString()} ${line}\n`);
  const abort = new AbortController();
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(sig, () => abort.abort());
  const host = await Host.load(store, name);
  const watchdog = setInterval(() => {
    void host.driver.state().then(
      (s) => s !== 'Running' && abort.abort(),
      () => abort.abort(),
    );
  }, 3000);
  let service: PortForwardService | undefined;
  while (!abort.signal.aborted) {
    try {
      service = new PortForwardService(host, log);
      await service.run(abort.signal);
    } catch (err) {
      log(`error: ${messageOf(err)}`);
    }
    if (!abort.signal.aborted) await sleep(1000, abort.signal).catch(() => undefined);
  }
  clearInterval(watchdog);
  if ((await host.driver.state().catch(() => 'Error')) === 'Running') await service?.shutdown();
  else await fs.rm(path.join(host.dir, 'forwarder.json'), { force: true });
  log('stopped');
}
