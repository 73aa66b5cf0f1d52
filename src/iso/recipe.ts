import path from 'node:path';
import type { GuestArch } from '../core/arch.js';
import { MachineError } from '../core/errors.js';
import { PROJECT_ROOT } from '../core/paths.js';
import { exists } from '../core/files.js';
import { exec } from '../core/system.js';

export const RECIPE_DIR = path.join(PROJECT_ROOT, 'iso');

/**
 * Where iso/build.sh puts (or has put) the ISO of the current recipe. The script alone computes
 * the recipe key, a hash of every file under iso/ (itself included), so it is asked: a second
 * implementation here would have to be kept byte-identical, and any edit to the script that let
 * it ask us instead would change the key of every cached ISO.
 */
export async function builtIsoPath(arch: GuestArch = 'amd64'): Promise<string> {
  const script = path.join(RECIPE_DIR, 'build.sh');
  const res = await exec('bash', [script, '--arch', arch, '--print-path'], { timeoutMs: 60_000 });
  const iso = res.exitCode === 0 ? res.stdout.trim().split('\n').pop() : undefined;
  if (!iso) {
    const said = res.spawnError ?? (res.stderr.trim().split('\n').pop() || `exit code ${res.exitCode}`);
    throw new MachineError(`Cannot tell where the ${arch} ISO of the recipe ${RECIPE_DIR} is ("bash ${script} --print-path": ${said})`, {
      fix: 'pass --boot2docker-url with a path or URL of a boot2docker ISO',
    });
  }
  return iso;
}

/**
 * The ISO of the current recipe if it is built (a developer checkout), else undefined: also where
 * bash cannot run or cannot tell (Windows, mostly), so the next source of an ISO is tried.
 */
export async function builtRecipeIso(arch: GuestArch = 'amd64'): Promise<string | undefined> {
  const iso = await builtIsoPath(arch).catch(() => undefined);
  return iso && (await exists(iso)) ? iso : undefined;
}
