import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MachineError } from '../core/errors.js';
import { isWindowsPath, windowsToUnixPath } from '../env/paths.js';
import type { Share } from './driver.js';

/**
 * `--share HOSTDIR[:GUESTDIR]`: the guest path defaults to the host path, so `docker run -v
 * "$PWD":/app` means the same folder inside the VM. A Windows drive letter is not a separator.
 */
export function parseShare(spec: string): Share {
  const m = /^(.+?):(\/.*)$/.exec(spec.replace(/^([a-zA-Z]):(?=[\\/])/, '$1\u0000'));
  const hostPath = (m ? m[1]! : spec.replace(/^([a-zA-Z]):/, '$1\u0000')).replace('\u0000', ':');
  // C:\Users\me is /c/Users/me in the guest, as Toolbox had it.
  const guestPath = m ? m[2]! : isWindowsPath(hostPath) ? windowsToUnixPath(hostPath) : hostPath;
  return { hostPath: path.resolve(hostPath), guestPath };
}

/** The folders shared by default: the home folder tree, at the same path. */
export function defaultShares(platform = process.platform, home = os.homedir()): Share[] {
  if (platform === 'darwin') return [{ hostPath: '/Users', guestPath: '/Users' }];
  if (platform === 'win32') return [{ hostPath: 'C:\\Users', guestPath: '/c/Users' }];
  return [{ hostPath: home, guestPath: home }];
}

export async function validateShares(shares: Share[]): Promise<void> {
  for (const s of shares) {
    const st = await fs.stat(s.hostPath).catch(() => undefined);
    if (!st?.isDirectory()) {
      throw new MachineError(`Cannot share ${s.hostPath}: it is not a directory`, { fix: 'check the --share path' });
    }
    if (!s.guestPath.startsWith('/'))
      throw new MachineError(`Cannot share ${s.hostPath} at "${s.guestPath}": the guest path must be absolute`);
  }
}
