import { promises as fs } from 'node:fs';
import type { Report } from '../driver.js';
import type { VirtualBoxConfig } from './driver.js';

/** A shared folder as the driver stores it: the VirtualBox share name, its host path, where the guest mounts it. */
export interface Share {
  Name: string;
  HostPath: string;
  GuestPath: string;
}

/** The shares of a new machine: --virtualbox-share-folder, or the platform's home share (Toolbox's). */
export async function resolveShares(
  config: Pick<VirtualBoxConfig, 'ShareFolder' | 'NoShare' | 'ExtraShares'>,
  platform: NodeJS.Platform,
  report: Report,
): Promise<Share[]> {
  const wanted = [...sharesFromConfig(config, platform), ...(config.ExtraShares ?? [])];
  const out: Share[] = [];
  for (const s of wanted) {
    const stat = await fs.stat(s.HostPath.replace(/^\\\\\?\\/, '')).catch(() => undefined);
    if (!stat?.isDirectory()) {
      report(`Not sharing ${s.HostPath}: no such directory`);
      continue;
    }
    out.push(s);
  }
  return out;
}

/** docker-machine's getShareDriveAndName and --virtualbox-share-folder "DIR:NAME" parsing. */
export function sharesFromConfig(c: Pick<VirtualBoxConfig, 'ShareFolder' | 'NoShare'>, platform: NodeJS.Platform): Share[] {
  if (c.NoShare) return [];
  if (c.ShareFolder) {
    const parts = c.ShareFolder.split(':');
    const name = parts.length > 1 ? parts.pop()! : '';
    const dir = parts.join(':');
    const shareName = name || dir.replace(/^\/+/, '');
    // VirtualBox 7 refuses spaces in share names ("contains space"); the mount point keeps them.
    return [{ Name: shareName.replace(/\s/g, '_'), HostPath: dir, GuestPath: `/${shareName}` }];
  }
  if (platform === 'win32') return [{ Name: 'c/Users', HostPath: '\\\\?\\c:\\Users', GuestPath: '/c/Users' }];
  if (platform === 'darwin') return [{ Name: 'Users', HostPath: '/Users', GuestPath: '/Users' }];
  return [{ Name: 'hosthome', HostPath: '/home', GuestPath: '/hosthome' }];
}
