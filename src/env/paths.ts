import path from 'node:path';

/**
 * Host paths as the VM sees them, for `docker run -v`. The daemon runs in the VM, so a bind mount
 * names a path of the VM: a Windows path (C:\Users\me\app) means nothing there, and the VM reaches
 * host folders only through the machine's shares (C:\Users is /c/Users, as Boot2Docker mounted it;
 * /Users on macOS; /home is /hosthome on Linux).
 */

/** A host folder shared into the VM. */
export interface HostShare {
  hostPath: string;
  guestPath: string;
}

/** Drive-letter or UNC path: "C:\x", "c:/x", "\\?\C:\x". */
export function isWindowsPath(p: string): boolean {
  return /^(\\\\\?\\)?[A-Za-z]:([\\/]|$)/.test(p);
}

/**
 * Docker Toolbox's (and compose's COMPOSE_CONVERT_WINDOWS_PATHS) rule: "C:\Users\me\app" →
 * "/c/Users/me/app": the drive letter lower-cased, separators turned into slashes. Other paths are
 * returned with their backslashes turned into slashes only.
 */
export function windowsToUnixPath(p: string): string {
  const noPrefix = p.replace(/^\\\\\?\\/, '');
  const m = /^([A-Za-z]):(.*)$/s.exec(noPrefix);
  if (!m) return noPrefix.replace(/\\/g, '/');
  const rest = m[2]!.replace(/[\\/]+/g, '/').replace(/\/$/, '');
  return `/${m[1]!.toLowerCase()}${rest.startsWith('/') || rest === '' ? rest : `/${rest}`}`;
}

function normalizeHost(p: string, platform: NodeJS.Platform): string {
  if (platform === 'win32' || isWindowsPath(p)) return windowsToUnixPath(p);
  return path.posix.normalize(p).replace(/\/$/, '') || '/';
}

export interface VmPath {
  /** The path to give `docker run -v`. */
  path: string;
  /** The share it is under; undefined when the VM cannot see this folder. */
  share?: HostShare;
}

/**
 * Where a host path is in the VM. Under a share: its guest path plus the rest. Not under any share:
 * the converted path (what Toolbox users typed), with `share` undefined so the caller can warn that
 * the mount will be an empty folder. Windows comparisons ignore case, as NTFS does.
 */
export function hostToVmPath(hostPath: string, shares: HostShare[], platform: NodeJS.Platform, cwd = process.cwd()): VmPath {
  const win = platform === 'win32' || isWindowsPath(hostPath);
  const absolute = win ? path.win32.resolve(isWindowsPath(cwd) ? cwd : 'C:\\', hostPath) : path.posix.resolve(cwd, hostPath);
  const host = normalizeHost(absolute, win ? 'win32' : platform);
  const fold = (s: string) => (win ? s.toLowerCase() : s);
  for (const share of shares) {
    const base = normalizeHost(share.hostPath, win ? 'win32' : platform);
    if (fold(host) === fold(base) || fold(host).startsWith(fold(base === '/' ? '/' : `${base}/`))) {
      const rest = host.slice(base.length).replace(/^\/+/, '');
      const guest = share.guestPath.replace(/\/$/, '');
      return { path: rest ? `${guest}/${rest}` : guest || '/', share };
    }
  }
  return { path: host };
}
