import path from 'node:path';
import { type IsoInfo, readIsoInfo } from './iso9660.js';

/** The publisher our ISO writes into its volume descriptor: it understands the preseed archive. */
export const OUR_ISO_PUBLISHER = 'machine-b2d';

/**
 * An ISO as shown to the user: its volume id, and for ours the recipe key it was built from (from
 * the application id "machine-b2d <key>"), since two builds of one Docker version share a volume id.
 */
export function isoLabel(info: IsoInfo): string {
  const key = /^machine-b2d ([0-9a-f]{16})$/i.exec(info.applicationId)?.[1]?.toLowerCase();
  return key ? `${info.volumeId} (recipe ${key})` : info.volumeId || 'an ISO without a volume id';
}

/**
 * A machine booting an ISO other than ours (the real boot2docker) accepts SSH logins with the
 * well-known password docker/tcuser: any local user can log in on its forwarded port. The warning
 * for inspect and doctor, or undefined (our ISO: keys only; no ISO: the generic driver).
 */
export async function passwordLogin(machineDir: string): Promise<string | undefined> {
  const info = await readIsoInfo(path.join(machineDir, 'boot2docker.iso')).catch(() => undefined);
  if (!info || info.publisher.toLowerCase() === OUR_ISO_PUBLISHER) return undefined;
  return `it boots ${info.volumeId || 'a boot2docker ISO'}, which accepts SSH logins with the well-known password "tcuser": any local user can log in to it and get root`;
}
