import { promises as fs } from 'node:fs';
import { exec } from '../core/system.js';

/** One process above ours: what shell detection looks at. */
export interface ProcessInfo {
  pid: number;
  ppid: number;
  /** Executable name as the OS reports it: "bash", "-zsh" (macOS login shell), "pwsh.exe". */
  name: string;
  /** Full command line where the OS gives it ("" otherwise). */
  commandLine: string;
}

/** The ancestors of a process, parent first, at most `depth` of them. */
export type AncestorLookup = (pid: number, depth: number) => Promise<ProcessInfo[]>;

/** Linux: /proc/<pid>/stat ("pid (comm) state ppid ...") and /proc/<pid>/cmdline. */
async function linuxProcess(pid: number): Promise<ProcessInfo | undefined> {
  const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (!stat) return undefined;
  const open = stat.indexOf('(');
  const close = stat.lastIndexOf(')');
  if (open < 0 || close < open) return undefined;
  const ppid = Number(stat.slice(close + 2).split(' ')[1]);
  const cmdline = await fs.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  return { pid, ppid, name: stat.slice(open + 1, close), commandLine: cmdline.replace(/\0+$/, '').split('\0').join(' ') };
}

/** `ps -A -o pid=,ppid=,comm=` lines (macOS, BSDs): one exec for the whole table. */
export function parsePsTable(text: string): Map<number, ProcessInfo> {
  const table = new Map<number, ProcessInfo>();
  for (const line of text.split('\n')) {
    const m = /^\s*(\d+)\s+(\d+)\s+(.*?)\s*$/.exec(line);
    if (m) table.set(Number(m[1]), { pid: Number(m[1]), ppid: Number(m[2]), name: m[3]!, commandLine: '' });
  }
  return table;
}

/**
 * Windows: one PowerShell run walks the chain with CIM (Win32_Process has the parent id and the
 * command line, which tells an npm .cmd shim's "cmd.exe /c" from an interactive cmd). Tab-separated
 * "pid ppid name commandline" lines.
 */
export function windowsProbe(pid: number, depth: number): string {
  return (
    `$p = ${pid}; for ($i = 0; $i -lt ${depth} -and $p; $i++) { ` +
    '$x = Get-CimInstance Win32_Process -Filter "ProcessId=$p"; if (-not $x) { break }; ' +
    '"$($x.ProcessId)`t$($x.ParentProcessId)`t$($x.Name)`t$($x.CommandLine)"; $p = $x.ParentProcessId }'
  );
}

export function parseWindowsProbe(text: string): ProcessInfo[] {
  const out: ProcessInfo[] = [];
  for (const line of text.split(/\r?\n/)) {
    const [pid, ppid, name, ...cmd] = line.split('\t');
    if (!pid || !/^\d+$/.test(pid) || !name) continue;
    out.push({ pid: Number(pid), ppid: Number(ppid), name, commandLine: cmd.join('\t') });
  }
  return out;
}

function walk(first: number, depth: number, get: (pid: number) => ProcessInfo | undefined): ProcessInfo[] {
  const chain: ProcessInfo[] = [];
  let pid = first;
  while (chain.length < depth && pid > 0) {
    const p = get(pid);
    if (!p || chain.some((c) => c.pid === p.pid)) break;
    chain.push(p);
    pid = p.ppid;
  }
  return chain;
}

/** The real lookup for this OS. Failures give an empty chain: detection then falls back. */
export function realAncestors(platform: NodeJS.Platform = process.platform): AncestorLookup {
  if (platform === 'linux' || platform === 'android') {
    return async (pid, depth) => {
      const chain: ProcessInfo[] = [];
      let next = pid;
      while (chain.length < depth && next > 0) {
        const p = await linuxProcess(next);
        if (!p) break;
        chain.push(p);
        next = p.ppid;
      }
      return chain;
    };
  }
  if (platform === 'win32') {
    return async (pid, depth) => {
      const res = await exec('powershell.exe', ['-NoProfile', '-NonInteractive', '-Command', windowsProbe(pid, depth)], {
        timeoutMs: 15_000,
      });
      return res.exitCode === 0 ? parseWindowsProbe(res.stdout) : [];
    };
  }
  return async (pid, depth) => {
    const res = await exec('ps', ['-A', '-o', 'pid=,ppid=,comm='], { timeoutMs: 5000 });
    if (res.exitCode !== 0) return [];
    const table = parsePsTable(res.stdout);
    return walk(pid, depth, (p) => table.get(p));
  };
}
