import { promises as fs } from 'node:fs';
import tar from 'tar-stream';
import { MachineError } from '../core/errors.js';

/**
 * The boot2docker "magic" userdata disk (docker-machine's mcnutils.MakeDiskImage): a tar archive
 * at byte 0 whose first member is a file named after the magic string, then ~docker/.ssh with the
 * authorized key. The ISO formats such a disk on first boot and re-extracts the tar into
 * /home/docker on every boot. boot2docker only reads the first 4096 bytes, so the archive must fit.
 *
 * Our own extension, ignored by boot2docker: a second archive, the "preseed", at 64 KiB, which our
 * ISO extracts into /var/lib/boot2docker before sshd and dockerd start on first boot (profile,
 * TLS files, hostname, SSH host key), so the daemon comes up configured with no restart.
 */

export const MAGIC = 'boot2docker, please format-me';
export const USERDATA_LIMIT = 4096;
export const PRESEED_OFFSET = 64 * 1024;
/** Our ISO reads up to the first MiB; the preseed must end before that. */
export const PRESEED_LIMIT = 1024 * 1024 - PRESEED_OFFSET;

export interface TarFile {
  path: string;
  content?: string | Buffer;
  mode: number;
  /** A directory entry when content is absent and this is true. */
  dir?: boolean;
  /** A symbolic link to this target. */
  symlink?: string;
}

const EPOCH = new Date(0);

export async function makeTar(files: TarFile[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const chunk of pack) chunks.push(chunk as Buffer);
  })();
  for (const f of files) {
    const header = { name: f.path, mode: f.mode, uid: 0, gid: 0, mtime: EPOCH };
    if (f.dir) pack.entry({ ...header, type: 'directory' });
    else if (f.symlink) pack.entry({ ...header, type: 'symlink', linkname: f.symlink });
    else pack.entry({ ...header, type: 'file' }, typeof f.content === 'string' ? Buffer.from(f.content) : (f.content ?? Buffer.alloc(0)));
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

export async function userdataTar(authorizedKey: string): Promise<Buffer> {
  const key = authorizedKey.endsWith('\n') ? authorizedKey : `${authorizedKey}\n`;
  const files: TarFile[] = [
    { path: MAGIC, content: MAGIC, mode: 0o644 },
    { path: '.ssh', mode: 0o700, dir: true },
    { path: '.ssh/authorized_keys', content: key, mode: 0o644 },
    { path: '.ssh/authorized_keys2', content: key, mode: 0o644 },
  ];
  let archive = await makeTar(files);
  // tar ends with two zero blocks; boot2docker's 4096-byte read must hold every member and at
  // least one of them. Drop authorized_keys2 when a long key does not leave room.
  if (archive.length - 512 > USERDATA_LIMIT) archive = await makeTar(files.slice(0, 3));
  if (archive.length - 512 > USERDATA_LIMIT) {
    throw new MachineError(`The SSH public key is too long for the boot2docker userdata disk (${key.length} bytes)`, {
      fix: 'use an ed25519 or RSA-2048 key',
    });
  }
  return archive;
}

/** The first bytes of the disk: the userdata tar at 0, and the preseed archive at 64 KiB if any. */
export async function diskHead(authorizedKey: string, preseed?: TarFile[]): Promise<Buffer> {
  const userdata = await userdataTar(authorizedKey);
  if (!preseed?.length) return userdata;
  const archive = await makeTar(preseed);
  if (archive.length > PRESEED_LIMIT) throw new MachineError(`The preseed archive is too large (${archive.length} bytes)`);
  const head = Buffer.alloc(PRESEED_OFFSET + archive.length);
  userdata.copy(head, 0);
  archive.copy(head, PRESEED_OFFSET);
  return head;
}

/** A sparse raw disk image of sizeMB starting with head: nothing but the head takes space. */
export async function writeRawDisk(file: string, head: Buffer, sizeMB: number): Promise<void> {
  const handle = await fs.open(file, 'wx', 0o600);
  try {
    await handle.write(head, 0, head.length, 0);
    await handle.truncate(sizeMB * 1024 * 1024);
  } finally {
    await handle.close();
  }
}
