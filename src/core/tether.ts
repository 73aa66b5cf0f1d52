import { spawn } from 'node:child_process';

/**
 * A child process that cannot outlive this one. A small node watchdog starts it and holds the IPC
 * channel to us: when that channel closes (we exit, crash, get SIGTERM or SIGKILL: the OS closes our
 * end, and pipe EOF behaves the same on Linux, macOS and Windows) the watchdog sends the child
 * SIGTERM, then SIGKILL after graceMs, and exits with it. The watchdog runs in its own process
 * group, so a Ctrl-C in the terminal reaches only us: we decide when the child stops (a create
 * interrupted by Ctrl-C still needs it to roll back).
 */

// Plain JS for `node -e` (the watchdog must run from the sources under vitest and from dist/ alike).
const WATCHDOG = `
const { spawn } = require('node:child_process');
const [file, grace, ...args] = process.argv.slice(1);
const child = spawn(file, args, { stdio: ['ignore', 'inherit', 'inherit'], windowsHide: true });
let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  child.kill('SIGTERM');
  setTimeout(() => child.kill('SIGKILL'), Number(grace));
};
// A send that fails means the parent is already gone: stop.
child.on('spawn', () => process.send({ pid: child.pid }, (err) => err && stop()));
child.on('error', (e) => process.send({ error: e.message }, () => process.exit(127)));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 : 1)));
process.on('disconnect', stop);
for (const s of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(s, stop);
`;

export interface TetherOptions {
  /** Where the child's stdout and stderr go (an open file descriptor; closed by the caller). */
  output: number;
  env?: NodeJS.ProcessEnv;
  /** Between SIGTERM and SIGKILL when the tether breaks. */
  graceMs?: number;
}

export interface Tethered {
  /** The child's pid (not the watchdog's). */
  pid: number;
  /** Resolves when the watchdog, and so the child, has exited. */
  exited: Promise<void>;
  /** Cut the tether (the child gets SIGTERM, SIGKILL after graceMs) and wait for it to end. */
  stop(): Promise<void>;
}

/** Start file with args, tied to this process; rejects when it cannot be started. */
export function spawnTethered(file: string, args: string[], opts: TetherOptions): Promise<Tethered> {
  const env = { ...(opts.env ?? process.env) };
  delete env.NODE_OPTIONS; // the watchdog is plain node: no loaders, no inspector
  const watchdog = spawn(process.execPath, ['-e', WATCHDOG, file, String(opts.graceMs ?? 5000), ...args], {
    stdio: ['ignore', opts.output, opts.output, 'ipc'],
    env,
    // POSIX: its own process group. Windows: a detached child would get a console window of its own.
    detached: process.platform !== 'win32',
    windowsHide: true,
  });
  const exited = new Promise<void>((resolve) => {
    watchdog.once('exit', () => resolve());
    watchdog.once('error', () => resolve());
  });
  return new Promise<Tethered>((resolve, reject) => {
    watchdog.once('error', reject);
    watchdog.once('exit', (code) => reject(new Error(`the watchdog of ${file} exited (${code}) before starting it`)));
    watchdog.once('message', (m: { pid?: number; error?: string }) => {
      if (!m.pid) return reject(new Error(`could not run ${file}: ${m.error}`));
      // Neither the watchdog nor its channel keeps this process alive; the channel stays open.
      watchdog.unref();
      watchdog.channel?.unref();
      resolve({
        pid: m.pid,
        exited,
        stop: async () => {
          watchdog.ref(); // waited for: it keeps this process alive until it has gone
          if (watchdog.connected) watchdog.disconnect();
          await exited;
        },
      });
    });
  });
}
