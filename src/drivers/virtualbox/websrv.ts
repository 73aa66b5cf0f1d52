import { closeSync, openSync, promises as fs, rmSync } from 'node:fs';
import path from 'node:path';
import { MachineError } from '../../core/errors.js';
import { withFileLock } from '../../core/lock.js';
import { runDir } from '../../core/paths.js';
import { freePort } from '../../core/ports.js';
import { processAlive } from '../../core/process.js';
import { spawnTethered, type Tethered } from '../../core/tether.js';
import { poll } from '../../core/wait.js';
import { rawCall } from './soap/transport.js';
import type { VBoxManage } from './vboxmanage.js';

/**
 * Our own vboxwebsrv: bound to 127.0.0.1 on a free port, with VBoxAuthSimple: a client needs a
 * store's secret (weblogin.ts). `-A VBoxAuthSimple` also writes the global websrvauthlibrary
 * property (measured with VirtualBox 7.2), which every other web service of this user reads: so
 * the property is put back once ours has loaded its library (at its first logon, kept after). One per process, shared by
 * every driver in it; tethered to the process (core/tether.ts), so it ends with it, even on SIGKILL.
 * A process that lives long (the port forwarder) calls avoidOwnWebService() and works through
 * VBoxManage instead.
 */

export interface OwnWebService {
  url: string;
  pid: number;
  binary: string;
  logFile: string;
}

let current: { service: OwnWebService; tether: Tethered } | undefined;
let starting: Promise<OwnWebService> | undefined;
let avoided = false;

/** For long-lived processes: drivers without a --virtualbox-soap-url use VBoxManage, and no web service is started. */
export function avoidOwnWebService(avoid = true): void {
  avoided = avoid;
}

export function ownWebServiceAvoided(): boolean {
  return avoided;
}

function onExit(): void {
  if (current) {
    try {
      process.kill(current.service.pid, 'SIGTERM');
    } catch {
      // already gone
    }
    rmSync(current.service.logFile, { force: true });
  }
}

/** The logs of commands that were killed (their exit handler never ran). */
async function removeStaleLogs(dir: string): Promise<void> {
  for (const f of await fs.readdir(dir).catch(() => [])) {
    const pid = /^vboxwebsrv-(\d+)-\d+\.log$/.exec(f)?.[1];
    if (pid && !processAlive(Number(pid))) await fs.rm(path.join(dir, f), { force: true });
  }
}

const IN_USE = /address already in use/i;

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

/**
 * vbm: the VBoxManage that reads and puts back the global auth library property around the start.
 * opts.port: the first port to try (tests); a free one otherwise.
 */
export async function startOwnWebService(binary: string, vbm: VBoxManage, opts: { port?: number } = {}): Promise<OwnWebService> {
  if (avoided) throw new Error('this process does not start a VirtualBox web service (avoidOwnWebService)');
  if (current && current.service.binary === binary && processAlive(current.service.pid)) return current.service;
  if (starting) return starting;
  starting = keepingGlobalAuth(vbm, () => launch(binary, opts.port)).finally(() => {
    starting = undefined;
  });
  return starting;
}

const AUTH_LINE = /^Webservice auth\. library:\s*(\S+)\s*$/m;

/**
 * Start the web service, then put the global websrvauthlibrary back as it was. Host-wide one start
 * at a time (two starts at once would each read the other's VBoxAuthSimple as "before").
 */
async function keepingGlobalAuth(vbm: VBoxManage, start: () => Promise<OwnWebService>): Promise<OwnWebService> {
  const lock = path.join(await runDir(), 'vboxwebsrv-auth.lock');
  const busy = () => new MachineError('Another machine command is starting a VirtualBox web service', { fix: 'try again in a moment' });
  return withFileLock(lock, { waitMs: 30_000, busy }, async () => {
    const before = AUTH_LINE.exec(await vbm.run(['list', 'systemproperties']))?.[1];
    const service = await start();
    if (!before || before === 'VBoxAuthSimple') return service;
    // A logon nobody can pass: vboxwebsrv loads its authentication library at the first one, for good.
    await rawCall(
      service.url,
      'IWebsessionManager_logon',
      [
        ['username', ''],
        ['password', ''],
      ],
      { timeoutMs: 10_000 },
    ).catch(() => undefined);
    // "VBoxAuth" is VirtualBox's default: put back as the default, not as a setting.
    await vbm.run(['setproperty', 'websrvauthlibrary', before === 'VBoxAuth' ? 'default' : before]).catch(() => undefined);
    return service;
  });
}

/** What a failed vboxwebsrv said: its error lines, else its last lines. */
function failureOf(log: string): string {
  const lines = log.split('\n');
  const errors = lines.filter((l) => /error|fault/i.test(l));
  return (errors.length ? errors.slice(0, 2) : lines.slice(-3)).join(' ').trim();
}

async function launch(binary: string, firstPort?: number): Promise<OwnWebService> {
  const logDir = await runDir();
  await removeStaleLogs(logDir);
  for (let attempt = 1; ; attempt++) {
    const port = attempt === 1 && firstPort ? firstPort : await freePort();
    const logFile = path.join(logDir, `vboxwebsrv-${process.pid}-${port}.log`);
    // A new file (O_EXCL): never one planted in /tmp, nor a symlink's target.
    await fs.rm(logFile, { force: true });
    const fd = openSync(logFile, 'wx', 0o600);
    const url = `http://127.0.0.1:${port}/`;
    let tether: Tethered | undefined;
    let exited = false;
    try {
      tether = await spawnTethered(
        binary,
        ['--host', '127.0.0.1', '--port', String(port), '--authentication', 'VBoxAuthSimple', '--timeout', '0'],
        { output: fd },
      );
      void tether.exited.then(() => (exited = true));
      // Ready when vboxwebsrv itself says, in our private log, that it has bound the port: whoever
      // else answers there (a local user who took the port after freePort) never gets a logon.
      // On a taken port vboxwebsrv logs a fault and keeps running.
      const bound = `Socket connection successful: host = 127.0.0.1, port = ${port},`;
      await poll(
        async () => {
          const log = await fs.readFile(logFile, 'utf8');
          if (exited || IN_USE.test(log)) throw new Error('failed');
          return log.includes(bound) && (await answers(url)) ? true : undefined;
        },
        {
          timeoutMs: 20_000,
          intervalMs: 50,
          maxIntervalMs: 250,
          what: `vboxwebsrv on ${url}`,
          fatal: (e) => (e as Error).message === 'failed',
        },
      );
    } catch (err) {
      await tether?.stop();
      const log = (await fs.readFile(logFile, 'utf8').catch(() => '')).trim();
      await fs.rm(logFile, { force: true });
      if (attempt < 3 && IN_USE.test(log)) continue;
      const why = tether ? failureOf(log) || (err as Error).message : (err as Error).message;
      throw new MachineError(`Could not start the VirtualBox web service (${binary}): ${why}`, {
        fix: 'check that vboxwebsrv runs ("vboxwebsrv --help"), or use --virtualbox-api vboxmanage',
      });
    } finally {
      closeSync(fd);
    }
    const service = { url, pid: tether.pid, binary, logFile };
    if (!current) process.once('exit', onExit);
    current = { service, tether };
    return service;
  }
}

/** Stop the web service this process started, if any (SIGTERM, SIGKILL after 5 s). */
export async function stopOwnWebService(): Promise<void> {
  const c = current;
  if (!c) return;
  current = undefined;
  process.removeListener('exit', onExit);
  await c.tether.stop();
  await fs.rm(c.service.logFile, { force: true });
}
