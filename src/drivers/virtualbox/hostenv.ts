import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { MachineError } from '../../core/errors.js';
import { parseRegQuery } from './parse.js';

/**
 * Everything the VirtualBox driver asks of the host, injectable so that the Windows and macOS logic
 * runs (and is tested) on Linux: the platform, the environment, how programs run, what files say.
 */

export interface ExecResult {
  stdout: string;
  stderr: string;
  exitCode: number;
  /** Set when the program could not be run at all (ENOENT, EACCES). */
  spawnError?: string;
  timedOut?: boolean;
}

export interface ExecOptions {
  input?: string | Buffer;
  timeoutMs?: number;
}

export type Exec = (file: string, args: string[], opts?: ExecOptions) => Promise<ExecResult>;

export interface HostEnv {
  platform: NodeJS.Platform;
  arch: string;
  env: NodeJS.ProcessEnv;
  exec: Exec;
  /** undefined when the file does not exist or cannot be read. */
  readFile(file: string): Promise<string | undefined>;
  isFile(file: string): Promise<boolean>;
  cpus: number;
  homedir: string;
  /** Host interfaces (for the host-only CIDR collision check). */
  networkInterfaces(): NodeJS.Dict<os.NetworkInterfaceInfo[]>;
}

export const defaultExec: Exec = async (file, args, opts = {}) => {
  const res = await execa(file, args, {
    reject: false,
    input: opts.input,
    stdin: opts.input === undefined ? 'ignore' : undefined,
    timeout: opts.timeoutMs,
    stripFinalNewline: false,
    windowsHide: true,
    // Messages we parse are English; VBoxManage translates them otherwise.
    env: { LC_ALL: 'C', LANG: 'C' },
  });
  const code = (res as { code?: string }).code;
  if (res.exitCode === undefined && !res.timedOut) {
    return { stdout: '', stderr: String(res.stderr ?? ''), exitCode: 127, spawnError: code ?? res.shortMessage };
  }
  return { stdout: String(res.stdout ?? ''), stderr: String(res.stderr ?? ''), exitCode: res.exitCode ?? 1, timedOut: res.timedOut };
};

export function realHostEnv(): HostEnv {
  return {
    platform: process.platform,
    arch: process.arch,
    env: process.env,
    exec: defaultExec,
    readFile: (file) => fs.readFile(file, 'utf8').catch(() => undefined),
    isFile: (file) =>
      fs.stat(file).then(
        (s) => s.isFile(),
        () => false,
      ),
    cpus: os.cpus().length,
    homedir: os.homedir(),
    networkInterfaces: () => os.networkInterfaces(),
  };
}

function pathMod(platform: NodeJS.Platform): path.PlatformPath {
  return platform === 'win32' ? path.win32 : path.posix;
}

/** The first of `names` found in a directory of PATH. */
export async function searchPath(host: HostEnv, names: string[]): Promise<string | undefined> {
  const p = pathMod(host.platform);
  const pathVar = host.env.PATH ?? host.env.Path ?? '';
  const dirs = pathVar.split(host.platform === 'win32' ? ';' : ':').filter(Boolean);
  for (const dir of dirs) {
    for (const name of names) {
      const file = p.join(dir.replace(/^"(.*)"$/, '$1'), name);
      if (await host.isFile(file)) return file;
    }
  }
  return undefined;
}

export interface Discovered {
  path: string;
  /** Where it was found: "VBOX_MANAGE", "PATH", "registry", ... */
  source: string;
}

/**
 * Where VBoxManage is, docker-machine's order extended:
 * --virtualbox-vboxmanage / VBOX_MANAGE first; on Windows VBOX_INSTALL_PATH, VBOX_MSI_INSTALL_PATH,
 * Program Files, the registry's InstallDir, then PATH; elsewhere PATH, then the usual install folders.
 */
export async function findVBoxManage(host: HostEnv, override?: string): Promise<Discovered> {
  if (override) {
    if (await host.isFile(override)) return { path: override, source: '--virtualbox-vboxmanage' };
    throw notFound(host, `${override} (from --virtualbox-vboxmanage) does not exist`);
  }
  const fromEnv = host.env.VBOX_MANAGE;
  if (fromEnv) {
    if (await host.isFile(fromEnv)) return { path: fromEnv, source: 'VBOX_MANAGE' };
    throw notFound(host, `${fromEnv} (from VBOX_MANAGE) does not exist`);
  }
  if (host.platform === 'win32') {
    const w = path.win32;
    for (const variable of ['VBOX_INSTALL_PATH', 'VBOX_MSI_INSTALL_PATH']) {
      for (const dir of (host.env[variable] ?? '').split(';').filter(Boolean)) {
        const file = w.join(dir, 'VBoxManage.exe');
        if (await host.isFile(file)) return { path: file, source: variable };
      }
    }
    for (const pf of new Set([host.env.ProgramW6432, host.env.ProgramFiles, 'C:\\Program Files'])) {
      if (!pf) continue;
      const file = w.join(pf, 'Oracle', 'VirtualBox', 'VBoxManage.exe');
      if (await host.isFile(file)) return { path: file, source: 'Program Files' };
    }
    const reg = await host.exec('reg', ['query', 'HKLM\\SOFTWARE\\Oracle\\VirtualBox', '/v', 'InstallDir'], { timeoutMs: 10_000 });
    const dir = reg.exitCode === 0 ? parseRegQuery(reg.stdout, 'InstallDir') : undefined;
    if (dir) {
      const file = w.join(dir, 'VBoxManage.exe');
      if (await host.isFile(file)) return { path: file, source: 'registry' };
    }
    const inPath = await searchPath(host, ['VBoxManage.exe']);
    if (inPath) return { path: inPath, source: 'PATH' };
    throw notFound(host);
  }
  const inPath = await searchPath(host, ['VBoxManage', 'vboxmanage']);
  if (inPath) return { path: inPath, source: 'PATH' };
  const usual =
    host.platform === 'darwin'
      ? ['/Applications/VirtualBox.app/Contents/MacOS/VBoxManage', '/usr/local/bin/VBoxManage', '/opt/homebrew/bin/VBoxManage']
      : ['/usr/bin/VBoxManage', '/usr/lib/virtualbox/VBoxManage', '/opt/VirtualBox/VBoxManage', '/usr/local/bin/VBoxManage'];
  for (const file of usual) if (await host.isFile(file)) return { path: file, source: 'install folder' };
  throw notFound(host);
}

function notFound(host: HostEnv, detail?: string): MachineError {
  const install =
    host.platform === 'darwin'
      ? 'install VirtualBox from https://www.virtualbox.org/wiki/Downloads (or "brew install --cask virtualbox")'
      : host.platform === 'win32'
        ? 'install VirtualBox from https://www.virtualbox.org/wiki/Downloads, or set VBOX_MSI_INSTALL_PATH to its folder'
        : 'install VirtualBox (https://www.virtualbox.org/wiki/Linux_Downloads, or your distribution\'s "virtualbox" package)';
  return new MachineError(`VBoxManage not found${detail ? `: ${detail}` : ''}`, {
    exitCode: 3,
    fix: `${install}, or set VBOX_MANAGE to the VBoxManage program`,
  });
}

/** A VirtualBox program that lives next to VBoxManage (vboxwebsrv, VBoxHeadless), or on PATH. */
export async function findSibling(host: HostEnv, vboxManage: string, name: string, envVar?: string): Promise<string | undefined> {
  const fromEnv = envVar ? host.env[envVar] : undefined;
  if (fromEnv && (await host.isFile(fromEnv))) return fromEnv;
  const p = pathMod(host.platform);
  const names = host.platform === 'win32' ? [`${name}.exe`, `${name === 'vboxwebsrv' ? 'VBoxWebSrv' : name}.exe`] : [name];
  for (const n of names) {
    const file = p.join(p.dirname(vboxManage), n);
    if (await host.isFile(file)) return file;
  }
  return searchPath(host, names);
}
