import { spawn } from 'node:child_process';
import { closeSync, openSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { readIfExists } from '../core/files.js';
import { processAlive } from '../core/process.js';
import { sleep } from '../core/wait.js';
import type { Host } from '../host/host.js';
import { PROJECT_ROOT } from '../iso/recipe.js';

export const FORWARDER_COMMAND = '__port-forwarder';
const pidFile = (host: Host) => path.join(host.dir, 'forwarder.pid');
export const forwarderLog = (host: Host) => path.join(host.dir, 'forwarder.log');

/** The running forwarder's pid, if any (a recycled pid running something else does not count). */
export async function forwarderPid(host: Host): Promise<number | undefined> {
  const pid = Number((await readIfExists(pidFile(host)))?.trim());
  if (!pid || !processAlive(pid)) return undefined;
  if (process.platform === 'linux') {
    const cmdline = await readIfExists(`/proc/${pid}/cmdline`).catch(() => undefined);
    if (cmdline !== undefined && !cmdline.includes(FORWARDER_COMMAND)) return undefined;
  }
  return pid;
}

/**
 * Start the machine's port forwarder in the background (detached, logging to forwarder.log) unless
 * it runs already or the machine opted out. It exits by itself when the VM stops.
 */
export async function startForwarder(host: Host): Promise<number | undefined> {
  if (host.config.HostOptions.NoPortForward) return undefined;
  const running = await forwarderPid(host);
  if (running) return running;
  const log = openSync(forwarderLog(host), 'a', 0o600);
  const child = spawn(process.execPath, [path.join(PROJECT_ROOT, 'bin', 'machine'), FORWARDER_COMMAND, host.name], {
    detached: true,
    stdio: ['ignore', log, log],
    env: { ...process.env, MACHINE_STORAGE_PATH: host.store.root },
  });
  child.unref();
  closeSync(log); // the child has its own copy
  await fs.writeFile(pidFile(host), String(child.pid));
  return child.pid;
}

/** Stop the forwarder (it removes its forwards) before the VM goes down. */
export async function stopForwarder(host: Host): Promise<void> {
  const pid = await forwarderPid(host);
  if (pid) {
    process.kill(pid, 'SIGTERM');
    for (let i = 0; i < 30 && processAlive(pid); i++) await sleep(100);
    if (processAlive(pid)) process.kill(pid, 'SIGKILL');
  }
  await fs.rm(pidFile(host), { force: true });
}
