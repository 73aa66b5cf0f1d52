import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { MachineError } from '../core/errors.js';
import { copyFileAtomic, exists } from '../core/files.js';
import { PROJECT_ROOT } from '../core/paths.js';
import { download } from './download.js';
import { OUR_ISO_PUBLISHER } from './identity.js';
import { type IsoInfo, readIsoInfo } from './iso9660.js';
import { builtIsoPath, RECIPE_DIR } from './recipe.js';

export interface ResolvedIso {
  /** Where the ISO was taken from, for the user. */
  source: string;
  path: string;
  info: IsoInfo;
  /** True for our ISO: it reads the preseed archive of the userdata disk. */
  preseed: boolean;
}

/**
 * Find the ISO to boot: the URL or path given, else the store's cache (docker-machine's
 * cache/boot2docker.iso, which Toolbox seeded), else the ISO built from this project's iso/ recipe
 * (building it if needed).
 */
export async function resolveIso(
  url: string,
  cacheDir: string,
  opts: { report?: (line: string) => void; signal?: AbortSignal } = {},
): Promise<ResolvedIso> {
  const report = opts.report ?? (() => undefined);
  let file: string;
  let source: string;
  if (url && /^https?:\/\//i.test(url)) {
    const downloads = path.join(cacheDir, 'downloads');
    await fs.mkdir(downloads, { recursive: true, mode: 0o700 });
    const noFragment = url.replace(/#.*$/, '');
    file = path.join(downloads, `${createHash('sha256').update(noFragment).digest('hex').slice(0, 16)}.iso`);
    const shown = new URL(noFragment);
    shown.username = shown.password = ''; // credentials in the URL are never shown
    source = shown.toString();
    if (!(await exists(file))) {
      report(`Downloading ${source}`);
      const res = await download(url, file, {
        signal: opts.signal,
        onProgress: ({ received, total }) =>
          report(total ? `Downloading: ${Math.floor((received * 100) / total)}% of ${mb(total)}` : `Downloading: ${mb(received)}`),
      });
      report(res.checked ? 'Download verified (sha256)' : 'Downloaded (no checksum published to verify against)');
    }
  } else if (url) {
    file = url.startsWith('file://') ? fileURLToPath(url) : path.resolve(url);
    source = file;
    if (!(await exists(file)))
      throw new MachineError(`The boot2docker ISO ${file} does not exist`, { fix: 'check the --boot2docker-url path' });
  } else if (await exists(path.join(cacheDir, 'boot2docker.iso'))) {
    file = path.join(cacheDir, 'boot2docker.iso');
    source = file;
  } else {
    file = await buildIso(report);
    source = `${file} (built from ${RECIPE_DIR})`;
  }
  let info: IsoInfo;
  try {
    info = await readIsoInfo(file);
  } catch (err) {
    throw new MachineError(`The boot2docker ISO ${file} is corrupt or not an ISO (${(err as Error).message})`, {
      fix: url ? 'check the URL or file' : 'delete it and try again',
    });
  }
  return { source, path: file, info, preseed: info.publisher.toLowerCase() === OUR_ISO_PUBLISHER };
}

/** The ISO built from iso/, building it first if this recipe has not been built yet. */
export async function buildIso(report: (line: string) => void): Promise<string> {
  const script = path.join(RECIPE_DIR, 'build.sh');
  if (!(await exists(script))) {
    throw new MachineError('No boot2docker ISO in the cache and no ISO recipe to build one', {
      fix: 'pass --boot2docker-url with a path or URL of a boot2docker ISO',
    });
  }
  const target = await builtIsoPath();
  if (await exists(target)) return target;
  report('Building the ISO from iso/ (a few minutes, once per recipe)');
  const child = execa('bash', [script], { cwd: PROJECT_ROOT, all: true, reject: false });
  child.all?.on('data', (d: Buffer) => {
    const last = d.toString().trim().split('\n').pop();
    if (last) report(`Building the ISO: ${last.slice(0, 100)}`);
  });
  const res = await child;
  if (res.exitCode !== 0 || !(await exists(target))) {
    throw new MachineError(
      `Building the ISO failed (exit ${res.exitCode}): ${String(res.all ?? '')
        .trim()
        .split('\n')
        .slice(-3)
        .join(' / ')}`,
      {
        fix: `run "bash ${script}" to see the whole log`,
      },
    );
  }
  return target;
}

/** Copy the ISO into the machine directory, as docker-machine did (an upgrade replaces it there). */
export async function installIso(iso: ResolvedIso, machineDir: string): Promise<string> {
  const dest = path.join(machineDir, 'boot2docker.iso');
  await copyFileAtomic(iso.path, dest, 0o644);
  return dest;
}

function mb(bytes: number): string {
  return `${(bytes / 1048576).toFixed(1)} MB`;
}
