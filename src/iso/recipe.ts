import { createHash } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository (or installed package) root: the nearest directory above us with package.json. */
export const PROJECT_ROOT = findRoot(path.dirname(fileURLToPath(import.meta.url)));

function findRoot(dir: string): string {
  for (let d = dir; ; d = path.dirname(d)) {
    if (existsSync(path.join(d, 'package.json'))) return d;
    if (path.dirname(d) === d) return dir;
  }
}
export const RECIPE_DIR = path.join(PROJECT_ROOT, 'iso');

/** Where expensive artifacts live, outside any clone: the built ISO, the VirtualBox chroot. */
export function machineCacheDir(): string {
  if (process.env.MACHINE_CACHE_DIR) return path.resolve(process.env.MACHINE_CACHE_DIR);
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'machine');
}

/**
 * The key of the ISO recipe, computed exactly as iso/build.sh does: for every file under iso/, in
 * byte order of its path relative to the project root, "<relpath>\0<sha256 of content>\n"; the key
 * is the first 16 hex characters of the sha256 of all those lines.
 */
export async function recipeKey(root = PROJECT_ROOT): Promise<string> {
  const files: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.isFile()) files.push(path.relative(root, full).split(path.sep).join('/'));
    }
  };
  await walk(path.join(root, 'iso'));
  files.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  const outer = createHash('sha256');
  for (const rel of files) {
    const inner = createHash('sha256')
      .update(await fs.readFile(path.join(root, rel)))
      .digest('hex');
    outer.update(`${rel}\0${inner}\n`);
  }
  return outer.digest('hex').slice(0, 16);
}

export async function builtIsoPath(root = PROJECT_ROOT): Promise<string> {
  return path.join(machineCacheDir(), 'iso', await recipeKey(root), 'boot2docker.iso');
}
