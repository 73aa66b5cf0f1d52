import { MachineError } from '../core/errors.js';
import { shQuote } from '../core/quote.js';
import { formatBytes } from '../core/units.js';
import type { DiskUsage } from '../drivers/driver.js';
import { lastLine, type SshSession } from '../ssh/client.js';

/**
 * Give the host back what the guest freed: fstrim on the data filesystem (the one holding
 * /var/lib/docker: /mnt/sda1 on boot2docker, /mnt/vda1 or /mnt/sda1 on our ISO), at the lowest CPU
 * and I/O priority. The disk passes the discards on (QEMU discard=unmap punches holes in the raw
 * file; VirtualBox --discard on shrinks the VDI). ext4 remembers what it trimmed, so a trim with
 * nothing freed since the last one is cheap. busybox has no nice applet in every build: renice and
 * ionice act on the shell, which then becomes fstrim.
 */
export const TRIM = `sudo sh -c ${shQuote('renice -n 19 -p $$ >/dev/null 2>&1; ionice -c 3 -p $$ >/dev/null 2>&1; exec fstrim -v /var/lib/docker/')}`;

/** fstrim could not trim (no data disk, a disk that takes no discards): trying again will not help. */
export class TrimUnsupported extends MachineError {}

/** Bytes fstrim discarded, from its -v line (busybox: "DIR: N bytes trimmed"; util-linux: "DIR: 1 GiB (N bytes) trimmed"). */
export function parseTrimmed(output: string): number | undefined {
  const m = /(\d+) bytes\)? trimmed/.exec(output);
  return m ? Number(m[1]) : undefined;
}

/** Run fstrim in the guest: the bytes it discarded. */
export async function trimGuest(ssh: SshSession): Promise<number> {
  const res = await ssh.run(TRIM);
  const trimmed = res.code === 0 ? parseTrimmed(res.stdout) : undefined;
  if (trimmed !== undefined) return trimmed;
  const said = lastLine(res);
  const message = `fstrim failed on machine "${ssh.target.name}": ${said}`;
  throw /not supported|Inappropriate ioctl|not found/i.test(said) ? new TrimUnsupported(message) : new MachineError(message);
}

/** "fstrim discarded 256 MiB in the VM; its disk takes 5.70 MiB on the host (was 262 MiB)". */
export function describeTrim(trimmed: number, before?: DiskUsage, after?: DiskUsage): string {
  const host = after
    ? `; its disk takes ${formatBytes(after.allocated)} on the host${before ? ` (was ${formatBytes(before.allocated)})` : ''}`
    : '';
  return `fstrim discarded ${formatBytes(trimmed)} in the VM${host}`;
}
