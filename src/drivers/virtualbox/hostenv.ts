import path from 'node:path';
import { MachineError } from '../../core/errors.js';
import { type System, which } from '../../core/system.js';
import { parseRegQuery, parseVersion, type VBoxVersion } from './parse.js';

/** Where the VirtualBox programs are, asked of the host through the system facade (core/system.ts). */

function pathMod(platform: NodeJS.Platform): path.PlatformPath {
  return platform === 'win32' ? path.win32 : path.posix;
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
export async function findVBoxManage(host: System, override?: string): Promise<Discovered> {
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
    const inPath = await which(host, ['VBoxManage.exe']);
    if (inPath) return { path: inPath, source: 'PATH' };
    throw notFound(host);
  }
  const inPath = await which(host, ['VBoxManage', 'vboxmanage']);
  if (inPath) return { path: inPath, source: 'PATH' };
  const usual =
    host.platform === 'darwin'
      ? ['/Applications/VirtualBox.app/Contents/MacOS/VBoxManage', '/usr/local/bin/VBoxManage', '/opt/homebrew/bin/VBoxManage']
      : ['/usr/bin/VBoxManage', '/usr/lib/virtualbox/VBoxManage', '/opt/VirtualBox/VBoxManage', '/usr/local/bin/VBoxManage'];
  for (const file of usual) if (await host.isFile(file)) return { path: file, source: 'install folder' };
  throw notFound(host);
}

function notFound(host: System, detail?: string): MachineError {
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
export async function findSibling(host: System, vboxManage: string, name: string, envVar?: string): Promise<string | undefined> {
  const fromEnv = envVar ? host.env[envVar] : undefined;
  if (fromEnv && (await host.isFile(fromEnv))) return fromEnv;
  const p = pathMod(host.platform);
  const names = host.platform === 'win32' ? [`${name}.exe`, `${name === 'vboxwebsrv' ? 'VBoxWebSrv' : name}.exe`] : [name];
  for (const n of names) {
    const file = p.join(p.dirname(vboxManage), n);
    if (await host.isFile(file)) return file;
  }
  return which(host, names);
}

export interface VBoxFound {
  path: string;
  /** undefined when VBoxManage does not run. */
  version?: VBoxVersion;
  /** What `VBoxManage --version` printed (or its error). */
  raw: string;
}

/** VBoxManage and the version it says; undefined when VirtualBox is not installed. */
export async function findVirtualBox(host: System): Promise<VBoxFound | undefined> {
  try {
    const vbm = await findVBoxManage(host);
    const r = await host.exec(vbm.path, ['--version'], { timeoutMs: 15_000 });
    const raw = r.stdout.trim().split('\n').pop()?.trim() ?? '';
    return { path: vbm.path, version: r.exitCode === 0 ? parseVersion(raw) : undefined, raw: raw || r.stderr.trim() };
  } catch {
    return undefined; // not installed
  }
}
