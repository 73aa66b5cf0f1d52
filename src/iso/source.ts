import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { type GuestArch, hostArch } from '../core/arch.js';
import { MachineError } from '../core/errors.js';
import { copyFileAtomic, exists } from '../core/files.js';
import { PROJECT_ROOT } from '../core/paths.js';
import { findProgram, realSystem } from '../core/system.js';
import { download, type DownloadResult, mb } from './download.js';
import { OUR_ISO_PUBLISHER } from './identity.js';
import { type IsoInfo, readIsoInfo } from './iso9660.js';
import { builtIsoPath, builtRecipeIso, RECIPE_DIR } from './recipe.js';
import { fileName, type IsoRelease, loadManifest, newestRelease, releaseUrl } from './releases.js';

export interface ResolvedIso {
  /** Where the ISO was taken from, for the user. */
  source: string;
  path: string;
  info: IsoInfo;
  /** True for our ISO: it reads the preseed archive of the userdata disk. */
  preseed: boolean;
}

export interface IsoOptions {
  report?: (line: string) => void;
  signal?: AbortSignal;
  /** --iso-mirror (MACHINE_ISO_MIRROR): the folder URL released ISOs are downloaded from instead. */
  mirror?: string;
  /** upgrade: the newest ISO is wanted, so the store's cache/boot2docker.iso is passed over. */
  newest?: boolean;
  /** The machine's architecture (default: the host's). */
  arch?: GuestArch;
}

/**
 * Find the ISO to boot: the URL or path given, else the first of
 *   1. the store's cache/boot2docker.iso (docker-machine's cache, which Toolbox seeded: amd64 only,
 *      not for upgrade),
 *   2. the ISO built from this project's iso/ recipe, if it is built (a developer checkout),
 *   3. the newest ISO released for the machine's architecture (releases/iso.json): the copy in the
 *      store's cache/releases/ if there (it got its name only once verified), else downloaded,
 *   4. the ISO built from the recipe now, where no ISO is released for the architecture.
 */
export async function resolveIso(url: string, cacheDir: string, opts: IsoOptions = {}): Promise<ResolvedIso> {
  const report = opts.report ?? (() => undefined);
  const { path: file, source } = url ? await givenIso(url, cacheDir, report, opts.signal) : await defaultIso(cacheDir, { ...opts, report });
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

interface Found {
  path: string;
  source: string;
}

/** --boot2docker-url: a path, file:// or http(s):// URL (downloaded once into cache/downloads/). */
async function givenIso(url: string, cacheDir: string, report: (line: string) => void, signal?: AbortSignal): Promise<Found> {
  if (!/^https?:\/\//i.test(url)) {
    const file = url.startsWith('file://') ? fileURLToPath(url) : path.resolve(url);
    if (!(await exists(file)))
      throw new MachineError(`The boot2docker ISO ${file} does not exist`, { fix: 'check the --boot2docker-url path' });
    return { path: file, source: file };
  }
  const noFragment = url.replace(/#.*$/, '');
  const file = path.join(cacheDir, 'downloads', `${createHash('sha256').update(noFragment).digest('hex').slice(0, 16)}.iso`);
  const source = shownUrl(noFragment);
  if (!(await exists(file))) {
    const res = await fetchIso(url, file, source, report, { signal });
    report(res.checked ? 'Download verified (sha256)' : 'Downloaded (no checksum published to verify against)');
  }
  return { path: file, source };
}

async function defaultIso(cacheDir: string, opts: IsoOptions & { report: (line: string) => void }): Promise<Found> {
  const arch = opts.arch ?? hostArch();
  const toolbox = path.join(cacheDir, 'boot2docker.iso');
  if (arch === 'amd64' && !opts.newest && (await exists(toolbox))) return { path: toolbox, source: toolbox };
  const built = await builtRecipeIso(arch);
  if (built) return { path: built, source: `${built} (built from ${RECIPE_DIR})` };
  const manifest = await loadManifest();
  const release = newestRelease(manifest, arch);
  if (release) return releaseIso(release, cacheDir, opts);
  const file = await buildIso(opts.report, `No ISO is released for ${arch} machines in ${manifest.source}`, arch);
  return { path: file, source: `${file} (built from ${RECIPE_DIR})` };
}

/**
 * A released ISO from the store's cache/releases/<arch>/<sha256 prefix>/<file name>, downloaded there
 * first if missing: verified (size and sha256) before it gets that name, resumed if a download
 * broke off, from the mirror if one is given (mirror + "/" + file name).
 */
export async function releaseIso(
  release: IsoRelease,
  cacheDir: string,
  opts: { report?: (line: string) => void; signal?: AbortSignal; mirror?: string } = {},
): Promise<Found> {
  const report = opts.report ?? (() => undefined);
  const url = releaseUrl(release, opts.mirror);
  const file = path.join(cacheDir, 'releases', release.arch, release.sha256.slice(0, 16), fileName(release.url));
  const what = `the ${release.arch} ISO release ${release.key} (Docker ${release.docker}, kernel ${release.kernel})`;
  if ((await fs.stat(file).catch(() => undefined))?.size === release.size) return { path: file, source: `${what}, cached in ${file}` };
  const shown = shownUrl(url);
  const res = await fetchIso(url, file, shown, report, { signal: opts.signal, sha256: release.sha256, size: release.size });
  report(`Download verified (size and sha256${res.resumedFrom ? `; resumed at ${mb(res.resumedFrom)}` : ''}), cached in ${file}`);
  await forgetOtherReleases(path.dirname(file), report);
  return { path: file, source: `${what} from ${shown}` };
}

/**
 * Once a release is downloaded, the cached ones of its architecture it replaces (and their
 * broken-off downloads) are dead weight, 80 MiB each: machines boot their own copy, and a later
 * create or upgrade takes the newest release. Only after a verified download, so a failed one
 * never leaves the cache empty.
 */
async function forgetOtherReleases(keep: string, report: (line: string) => void): Promise<void> {
  const root = path.dirname(keep);
  for (const d of await fs.readdir(root)) {
    const dir = path.join(root, d);
    if (dir === keep) continue;
    let bytes = 0;
    for (const f of await fs.readdir(dir).catch(() => [])) bytes += (await fs.stat(path.join(dir, f)).catch(() => undefined))?.size ?? 0;
    await fs.rm(dir, { recursive: true, force: true });
    report(`Removed an older cached ISO release (${mb(bytes)}): ${dir}`);
  }
}

/** download() with its progress and notes as report lines. */
async function fetchIso(
  url: string,
  file: string,
  shown: string,
  report: (line: string) => void,
  opts: { signal?: AbortSignal; sha256?: string; size?: number },
): Promise<DownloadResult> {
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  report(`Downloading ${shown}`);
  return download(url, file, {
    ...opts,
    onNote: report,
    onProgress: ({ received, total }) =>
      report(total ? `Downloading: ${Math.floor((received * 100) / total)}% of ${mb(total)}` : `Downloading: ${mb(received)}`),
  });
}

/** A URL as shown to the user: credentials are never shown. */
function shownUrl(url: string): string {
  const shown = new URL(url);
  shown.username = shown.password = '';
  return shown.toString();
}

/**
 * The ISO built from iso/, building it first if this recipe has not been built yet. Only where the
 * recipe can be built (bash and apt-get: Debian, Ubuntu); elsewhere `why` no ISO could be found,
 * with the fix.
 */
export async function buildIso(
  report: (line: string) => void,
  why = 'No boot2docker ISO in the cache',
  arch: GuestArch = hostArch(),
): Promise<string> {
  const script = path.join(RECIPE_DIR, 'build.sh');
  if (!(await exists(script))) {
    throw new MachineError(`${why}, and no ISO recipe to build one`, {
      fix: 'pass --boot2docker-url with a path or URL of a boot2docker ISO',
    });
  }
  const host = realSystem();
  const missing = (await Promise.all(['bash', 'apt-get'].map(async (tool) => ((await findProgram(host, tool)) ? [] : [tool])))).flat();
  if (missing.length) {
    throw new MachineError(`${why}, and its recipe cannot be built here (no ${missing.join(' or ')}: it builds on Debian or Ubuntu)`, {
      fix: 'pass --boot2docker-url with a path or URL of a boot2docker ISO (or build one on Debian/Ubuntu with "npm run iso")',
    });
  }
  const target = await builtIsoPath(arch);
  if (await exists(target)) return target;
  report(`Building the ${arch} ISO from iso/ (a few minutes, once per recipe)`);
  const child = execa('bash', [script, '--arch', arch], { cwd: PROJECT_ROOT, all: true, reject: false });
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
        fix: `run "bash ${script} --arch ${arch}" to see the whole log`,
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
