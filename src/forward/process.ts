import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import path from 'node:path';
import { readIfExists } from '../core/files.js';
import { readOwner } from '../core/lock.js';
import { PROJECT_ROOT } from '../core/paths.js';
import { findProcesses, processAlive, processCommandLine, terminate } from '../core/process.js';
import { poll, timedOut } from '../core/wait.js';
import type { Machine } from '../machine/machine.js';
import type { Store } from '../store/store.js';

export const FORWARDER_COMMAND = '__port-forwarder';
/** Held by the running forwarder for its whole life: at most one per machine. */
export const forwarderLockFile = (machineDir: string) => path.join(machineDir, 'forwarder.lock');
export const forwarderLog = (machine: Machine) => path.join(machine.dir, 'forwarder.log');
/** What the forwarder forwards (and could not), rewritten after each reconcile. */
export const stateFile = (machine: Machine) => path.join(machine.dir, 'forwarder.json');

/** Is this command line the forwarder of that machine of that store? */
function isForwarderOf(command: string, store: Store, name: string): boolean {
  return command.includes(` ${FORWARDER_COMMAND} `) && command.includes(store.root) && command.endsWith(` ${FORWARDER_COMMAND} ${name}`);
}

/** The running forwarder's pid, if any: the live holder of its lock that really is the forwarder. */
export async function forwarderPid(machine: Machine): Promise<number | undefined> {
  const owner = await readOwner(forwarderLockFile(machine.dir));
  if (!owner || !processAlive(owner.pid)) return undefined;
  const cmd = await processCommandLine(owner.pid);
  return cmd === undefined || isForwarderOf(cmd, machine.store, machine.name) ? owner.pid : undefined;
}

/** Forwarder processes of a machine, found by command line (also when its folder or lock is gone). */
export function forwarderProcesses(store: Store, name: string): Promise<number[]> {
  return findProcesses((cmd) => isForwarderOf(cmd, store, name));
}

/** Published ports are forwarded unless the machine opted out (create --no-port-forward). */
export const forwardsPorts = (machine: Machine) => !machine.config.HostOptions.NoPortForward;

/** The forwarder has work: ports to forward, or a guest whose clock and disk it keeps (driver features). */
export const needsForwarder = (machine: Machine) => forwardsPorts(machine) || machine.features.syncsClock || machine.features.trimsDisk;

/**
 * Start the machine's port forwarder in the background (detached, logging to forwarder.log) unless
 * it runs already or has nothing to do. Called under the machine lock, so parallel commands
 * start one; the forwarder's own lock makes a second one exit at once anyway. Waits until the new
 * forwarder holds its lock, so the next command sees it, and has put the forwards of the running
 * containers in place, so what follows `machine env` reaches them.
 */
export async function startForwarder(machine: Machine): Promise<number | undefined> {
  if (!needsForwarder(machine)) return undefined;
  return machine.store.withLock(machine.name, async () => {
    const running = await forwarderPid(machine);
    if (running) return running;
    const log = openSync(forwarderLog(machine), 'a', 0o600);
    const args = [path.join(PROJECT_ROOT, 'bin', 'machine'), '--storage-path', machine.store.root, FORWARDER_COMMAND, machine.name];
    const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', log, log] });
    child.unref();
    closeSync(log); // the child has its own copy
    // null: it exited (it found another forwarder, or failed: see its log).
    const started = async () => (await forwarderPid(machine)) ?? (child.exitCode !== null ? null : undefined);
    const wait = { timeoutMs: 5000, intervalMs: 50, maxIntervalMs: 50, what: 'the port forwarder to take its lock' };
    const pid = (await poll(started, wait).catch(timedOut(child.pid))) ?? undefined;
    // Its first reconcile writes the state with its pid; a slow daemon must not hold env up long.
    const forwarding = async () =>
      (await readIfExists(stateFile(machine)))?.includes(`"pid": ${pid},`) ? true : child.exitCode !== null || undefined;
    if (pid && forwardsPorts(machine))
      await poll(forwarding, { ...wait, timeoutMs: 10_000, what: 'the port forwarder to forward the published ports' }).catch(
        timedOut(false),
      );
    return pid;
  });
}

/** Stop the forwarder (it removes its forwards) before the VM goes down. */
export async function stopForwarder(machine: Machine): Promise<void> {
  const pid = await forwarderPid(machine);
  if (pid) await terminate(pid);
}
