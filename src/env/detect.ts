import { MachineError } from '../core/errors.js';
import { type AncestorLookup, type ProcessInfo, realAncestors } from './process-tree.js';
import { knownShell, programBase, type Shell, SHELL_CHOICES } from './shells.js';

/** What shell detection may look at; injectable so the Windows and macOS rules run on Linux. */
export interface ShellSystem {
  platform: NodeJS.Platform;
  env: NodeJS.ProcessEnv;
  /** Our parent's pid. */
  ppid: number;
  ancestors: AncestorLookup;
}

export function realShellSystem(): ShellSystem {
  return { platform: process.platform, env: process.env, ppid: process.ppid, ancestors: realAncestors() };
}

export interface Detected {
  shell: Shell;
  /** Printed to stderr, never into the script. */
  notice?: string;
  /** How it was decided, for --debug and tests: "--shell", "parent process bash", "$SHELL", ... */
  source: string;
}

export const UNIX_NOTICE = "The lines below are for a sh/bash shell, you can specify the shell you're using, with the --shell flag.";
export const WINDOWS_NOTICE = "You can further specify your shell with either 'cmd' or 'powershell' with the --shell flag.";

/** Programs that run a command without being the user's shell: look past them. */
const UNIX_WRAPPERS = new Set(['sudo', 'doas', 'env', 'time', 'nice', 'nohup', 'timeout', 'command', 'exec', 'xargs']);
const WINDOWS_WRAPPERS = new Set(['node', 'conhost', 'winpty', 'winpty-agent']);

/** cmd.exe running one command and exiting: an npm .cmd shim, or the child of FOR /f. */
function isCmdRunner(p: ProcessInfo): boolean {
  return programBase(p.name) === 'cmd' && /(^|\s)\/[cC](\s|$)/.test(p.commandLine);
}

/** The --shell value, checked. */
export function shellFromFlag(flag: string): Shell {
  const shell = knownShell(flag);
  if (!shell) {
    throw new MachineError(`Error: Unknown shell "${flag}"`, { fix: `use one of ${SHELL_CHOICES.join(', ')}` });
  }
  return shell;
}

/**
 * The shell the output is for.
 * - `--shell` wins.
 * - Windows (docker-machine's rule, extended): $SHELL set (Git Bash, MSYS, Cygwin) → fish if
 *   __fish_bin_dir is set, else $SHELL's name; otherwise the parent process, then the grandparent:
 *   PowerShell, pwsh (docker-machine missed it and gave cmd syntax), nushell or cmd, looking past
 *   node and the "cmd /c" of npm's .cmd shims; nothing found → cmd with docker-machine's notice.
 * - Elsewhere: the parent process when it is a known shell (so a fish or tcsh user whose login
 *   shell is bash gets the right syntax), else $SHELL, else sh/bash syntax with a notice.
 */
export async function detectShell(host: ShellSystem, flag?: string): Promise<Detected> {
  if (flag) return { shell: shellFromFlag(flag), source: '--shell' };
  const shellVar = host.env.SHELL;
  if (host.platform === 'win32') {
    if (shellVar) {
      if (host.env.__fish_bin_dir) return { shell: 'fish', source: '__fish_bin_dir' };
      return { shell: knownShell(shellVar) ?? 'bash', source: '$SHELL' };
    }
    const chain = await host.ancestors(host.ppid, 6).catch(() => [] as ProcessInfo[]);
    let sawCmd = false;
    for (const p of chain) {
      if (isCmdRunner(p)) {
        sawCmd = true;
        continue;
      }
      const base = programBase(p.name);
      if (WINDOWS_WRAPPERS.has(base)) continue;
      if (base.includes('powershell')) return { shell: 'powershell', source: `parent process ${p.name}` };
      const shell = knownShell(base);
      if (shell) return { shell, source: `parent process ${p.name}` };
      if (base.includes('cmd')) return { shell: 'cmd', source: `parent process ${p.name}` };
      break;
    }
    if (sawCmd) return { shell: 'cmd', source: 'parent process cmd.exe' };
    return { shell: 'cmd', notice: WINDOWS_NOTICE, source: 'default' };
  }
  const chain = await host.ancestors(host.ppid, 4).catch(() => [] as ProcessInfo[]);
  for (const p of chain) {
    const base = programBase(p.name);
    if (UNIX_WRAPPERS.has(base)) continue;
    const shell = knownShell(base);
    if (shell && shell !== 'cmd' && shell !== 'emacs') return { shell, source: `parent process ${base}` };
    break;
  }
  if (shellVar) return { shell: knownShell(shellVar) ?? 'bash', source: '$SHELL' };
  return { shell: 'bash', notice: UNIX_NOTICE, source: 'default' };
}
