import { promises as fs, readFileSync } from 'node:fs';
import { exec } from './system.js';
import { poll, timedOut } from './wait.js';

/**
 * Processes of this user, by pid: alive, which program, started when, and how to end one. Pids
 * are recycled, so "the process in qemu.pid" is checked against its command line and a lock's
 * owner against its start time.
 */

/**
 * True when a process with this pid exists and runs (it may belong to another user). A zombie, dead
 * but not yet reaped by its parent (the init of a container may take seconds), is not alive.
 */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (process.platform !== 'linux') return true;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false; // gone between the two looks
  }
}

/**
 * A token that differs between two processes that had the same pid: the start time (Linux: clock
 * ticks since boot from /proc; elsewhere ps's lstart). undefined where it cannot be read.
 */
export async function processStartToken(pid: number): Promise<string | undefined> {
  if (process.platform === 'linux') {
    const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
    // The command name (field 2) may hold spaces and parentheses: count fields after the last ")".
    return stat?.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  }
  if (process.platform === 'win32') return undefined;
  const out = await exec('ps', ['-o', 'lstart=', '-p', String(pid)]);
  return (out.exitCode === 0 && out.stdout.trim()) || undefined;
}

/** The command line of a process, arguments joined by spaces; undefined when it is gone or unreadable. */
export async function processCommandLine(pid: number): Promise<string | undefined> {
  if (process.platform === 'linux') {
    const raw = await fs.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => undefined);
    return raw?.split('\0').join(' ').trim();
  }
  return (await listProcesses()).find((p) => p.pid === pid)?.command;
}

export interface ProcessInfo {
  pid: number;
  command: string;
}

let snapshot: { at: number; list: Promise<ProcessInfo[]> } | undefined;

/**
 * Every process we can see with its command line (Linux: /proc; macOS/BSD: ps; Windows: CIM). One
 * listing serves every caller for half a second: `ls` asks for each of its machines at once.
 */
export function listProcesses(): Promise<ProcessInfo[]> {
  if (!snapshot || Date.now() - snapshot.at > 500) snapshot = { at: Date.now(), list: readProcesses() };
  return snapshot.list;
}

async function readProcesses(): Promise<ProcessInfo[]> {
  if (process.platform === 'linux') {
    const pids = (await fs.readdir('/proc')).filter((e) => /^\d+$/.test(e)).map(Number);
    const all = await Promise.all(
      pids.map(async (pid) => ({
        pid,
        command: (await fs.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0').join(' '),
      })),
    );
    return all.filter((p) => p.command);
  }
  if (process.platform === 'win32') {
    const ps = 'Get-CimInstance Win32_Process | ForEach-Object { "$($_.ProcessId) $($_.CommandLine)" }';
    const out = await exec('powershell.exe', ['-NoProfile', '-NonInteractive', '-Command', ps]);
    return out.exitCode === 0 ? parseList(out.stdout) : [];
  }
  const out = await exec('ps', ['-axww', '-o', 'pid=,command=']);
  return out.exitCode === 0 ? parseList(out.stdout) : [];
}

function parseList(text: string): ProcessInfo[] {
  return text
    .split('\n')
    .map((l) => /^\s*(\d+)\s+(.+)$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ pid: Number(m[1]), command: m[2]!.trim() }));
}

/** Pids (not ours) whose command line passes the test. */
export async function findProcesses(test: (command: string) => boolean): Promise<number[]> {
  return (await listProcesses()).filter((p) => p.pid !== process.pid && test(p.command)).map((p) => p.pid);
}

/** Wait until pid is gone; true when it went within ms. */
export function waitForExit(pid: number, ms: number): Promise<boolean> {
  const gone = async () => (processAlive(pid) ? undefined : true);
  return poll(gone, { timeoutMs: ms, intervalMs: 50, maxIntervalMs: 50, what: `process ${pid} to exit` }).catch(timedOut(false));
}

/**
 * End a process: SIGTERM, then SIGKILL after graceMs (0: SIGKILL at once). Pids are recycled, so
 * the process is told by its start token (`start`: the one the caller saw when it found the pid;
 * read here otherwise) and a pid that has come to name another process is never signalled. True
 * when it is gone (false only when even SIGKILL did not end it within 5 s, e.g. it belongs to
 * another user).
 */
export async function terminate(pid: number, graceMs = 3000, start?: string): Promise<boolean> {
  const token = start ?? (await processStartToken(pid));
  /** false when the process is gone (or the pid is someone else's now): nothing to wait for. */
  const signal = async (s: NodeJS.Signals): Promise<boolean> => {
    if (!processAlive(pid)) return false;
    if (token !== undefined && (await processStartToken(pid)) !== token) return false;
    try {
      process.kill(pid, s);
    } catch {
      // gone already, or not ours: waitForExit tells
    }
    return true;
  };
  if (graceMs > 0) {
    if (!(await signal('SIGTERM'))) return true;
    if (await waitForExit(pid, graceMs)) return true;
  }
  if (!(await signal('SIGKILL'))) return true;
  return waitForExit(pid, 5000);
}

/** terminate each at once; the pids that would not end. */
export async function terminateAll(pids: number[], graceMs?: number): Promise<number[]> {
  const ended = await Promise.all(pids.map((pid) => terminate(pid, graceMs)));
  return pids.filter((_, i) => !ended[i]);
}
