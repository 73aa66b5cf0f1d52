import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';

/** A fresh name beside file: the same directory (a rename over file is atomic), hidden, unlikely to be taken. */
export function tempSibling(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.tmp${randomBytes(4).toString('hex')}`);
}

/**
 * Write a file atomically: a temporary file in the same directory is written, flushed and renamed
 * over the target, so a reader never sees half a file and a crash never leaves a truncated one.
 */
export async function writeFileAtomic(file: string, data: string | Uint8Array, mode = 0o644): Promise<void> {
  const tmp = tempSibling(file);
  const handle = await fs.open(tmp, 'wx', mode);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } catch (err) {
    await handle.close().catch(() => undefined);
    await fs.rm(tmp, { force: true });
    throw err;
  }
  await handle.close();
  try {
    await fs.chmod(tmp, mode); // the umask may have narrowed or widened what open() set
    await fs.rename(tmp, file);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
}

export async function exists(file: string): Promise<boolean> {
  try {
    await fs.access(file);
    return true;
  } catch {
    return false;
  }
}

export async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Copy a file, sharing blocks with the source where the filesystem can (reflink), atomically. */
export async function copyFileAtomic(src: string, dest: string, mode = 0o644): Promise<void> {
  const tmp = tempSibling(dest);
  try {
    await fs.copyFile(src, tmp, fs.constants.COPYFILE_FICLONE);
    await fs.chmod(tmp, mode);
    await fs.rename(tmp, dest);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
}
