import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MachineError } from '../../core/errors.js';
import { freePort } from '../../core/ports.js';
import { processAlive } from '../../core/process.js';
import { poll, sleep } from '../../core/wait.js';

/**
 * Our own vboxwebsrv: bound to 127.0.0.1 on a free port, with authentication off for this process
 * only (`-A null`, not the global websrvauthlibrary property, which would also open every other web
 * service of this user). One per process, shared by every driver in it, stopped when the process
 * exits (or by stopOwnWebService).
 */

export interface OwnWebService {
  url: string;
  pid: number;
  binary: string;
  logFile: string;
}

let current: { service: OwnWebService; child: ChildProcess } | undefined;
let starting: Promise<OwnWebService> | undefined;

function onExit(): void {
  if (current) {
    try {
      process.kill(current.service.pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
}

/** Whether something answers HTTP at url (vboxwebsrv answers GET / with 405). */
async function answers(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
    await res.body?.cancel();
    return true;
  } catch {
    return false;
  }
}

export function ownWebService(): OwnWebService | undefined {
  return current?.service;
}

export async function startOwnWebService(binary: string): Promise<OwnWebService> {
  if (current && current.service.binary === binary && processAlive(current.service.pid)) return current.service;
  if (starting) return starting;
  starting = launch(binary).finally(() => {
    starting = undefined;
  });
  return starting;
}

async function launch(binary: string): Promise<OwnWebService> {
  const logDir = path.join(os.tmpdir(), `machine-${process.getuid?.() ?? 'user'}`);
  await fs.mkdir(logDir, { recursive: true, mode: 0o700 });
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const logFile = path.join(logDir, `vboxwebsrv-${process.pid}-${port}.log`);
    const fd = openSync(logFile, 'w', 0o600);
    let child: ChildProcess;
    try {
      child = spawn(binary, ['--host', '127.0.0.1', '--port', String(port), '--authentication', 'null', '--timeout', '0'], {
        stdio: ['ignore', fd, fd],
        detached: false,
      });
    } finally {
      closeSync(fd);
    }
    const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
    child.unref();
    const url = `http://127.0.0.1:${port}/`;
    let exited = false;
    child.once('exit', () => {
      exited = true;
    });
    try {
      await poll(
        async () => {
          if (exited) throw new Error('exited');
          return (await answers(url)) ? true : undefined;
        },
        {
          timeoutMs: 20_000,
          intervalMs: 50,
          maxIntervalMs: 250,
          what: `vboxwebsrv on ${url}`,
          fatal: (e) => (e as Error).message === 'exited',
        },
      );
    } catch {
      const err = await Promise.race([spawnError, sleep(10).then(() => undefined)]);
      const log = (await fs.readFile(logFile, 'utf8').catch(() => '')).trim().split('\n').slice(-3).join(' ');
      if (child.pid && !exited) child.kill('SIGKILL');
      if (attempt < 2 && /bind|address already in use/i.test(log)) continue;
      throw new MachineError(`Could not start the VirtualBox web service (${binary})${err ? `: ${err.message}` : log ? `: ${log}` : ''}`, {
        fix: 'check that vboxwebsrv runs ("vboxwebsrv --help"), or use --virtualbox-api vboxmanage',
      });
    }
    const service = { url, pid: child.pid!, binary, logFile };
    if (!current) process.once('exit', onExit);
    current = { service, child };
    return service;
  }
}

/** Stop the web service this process started, if any. */
export async function stopOwnWebService(): Promise<void> {
  const c = current;
  if (!c) return;
  current = undefined;
  process.removeListener('exit', onExit);
  if (!processAlive(c.service.pid)) return;
  c.child.kill('SIGTERM');
  for (let i = 0; i < 50 && processAlive(c.service.pid); i++) await sleep(100);
  if (processAlive(c.service.pid)) c.child.kill('SIGKILL');
  await fs.rm(c.service.logFile, { force: true });
}
