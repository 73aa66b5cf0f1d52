import { promises as fs } from 'node:fs';
import path from 'node:path';
import { MachineError } from '../core/errors.js';
import { PROJECT_ROOT } from '../core/paths.js';

/**
 * The ISOs released for this version of machine: releases/iso.json, shipped in the npm package
 * (so the sha256 a download is checked against is the one the user installed), written by
 * scripts/release-iso.sh. It lives outside iso/ because everything there is part of the recipe key.
 *
 *   { "format": 1, "isos": [ { "arch": "amd64", "key": "<recipe key>", "docker": "26.1.5",
 *     "kernel": "6.12.57+deb13-amd64", "url": "https://.../boot2docker-v26.1.5-<key>-amd64.iso",
 *     "size": 90177536, "sha256": "<64 hex>" } ] }
 *
 * Entries are oldest first: the newest ISO of an architecture is its last entry.
 */
export interface IsoRelease {
  /** Debian's name of the architecture the ISO boots: amd64, arm64. */
  arch: string;
  /** The recipe key (hash of iso/) the ISO was built from: its version. */
  key: string;
  docker: string;
  kernel: string;
  url: string;
  size: number;
  sha256: string;
}

export interface IsoManifest {
  /** Where it was read from, for messages. */
  source: string;
  isos: IsoRelease[];
}

export const MANIFEST_FORMAT = 1;
/** The manifest of this installation (MACHINE_ISO_MANIFEST replaces it: tests, a private release host). */
export const SHIPPED_MANIFEST = path.join(PROJECT_ROOT, 'releases', 'iso.json');

export function manifestPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.MACHINE_ISO_MANIFEST ? path.resolve(env.MACHINE_ISO_MANIFEST) : SHIPPED_MANIFEST;
}

const FIELDS: Record<keyof IsoRelease, (v: unknown) => boolean> = {
  arch: (v) => typeof v === 'string' && /^[a-z0-9]+$/.test(v),
  key: (v) => typeof v === 'string' && /^[0-9a-f]{16}$/.test(v),
  docker: (v) => typeof v === 'string' && /^[0-9][\w.+~-]*$/.test(v),
  kernel: (v) => typeof v === 'string' && /^[0-9][\w.+~-]*$/.test(v),
  url: (v) => typeof v === 'string' && isHttpUrl(v) && /^[\w.+~-]+\.iso$/.test(fileName(v)),
  size: (v) => Number.isSafeInteger(v) && (v as number) > 0,
  sha256: (v) => typeof v === 'string' && /^[0-9a-f]{64}$/.test(v),
};
const EXPECTED: Record<keyof IsoRelease, string> = {
  arch: 'an architecture name (amd64, arm64)',
  key: 'a recipe key (16 hex digits)',
  docker: 'a version',
  kernel: 'a version',
  url: 'an http(s):// URL ending in a file name (letters, digits, . _ + ~ -) with .iso',
  size: 'a size in bytes',
  sha256: '64 lowercase hex digits',
};

/** Parse and check a manifest: one wrong field and none of it is trusted. */
export function parseManifest(text: string, source: string): IsoManifest {
  const invalid = (what: string) =>
    new MachineError(`The ISO release manifest ${source} is invalid: ${what}`, {
      fix: 'reinstall machine (the manifest ships with it), or point MACHINE_ISO_MANIFEST at a valid one',
    });
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw invalid(`not JSON (${(err as Error).message})`);
  }
  const doc = data as { format?: unknown; isos?: unknown };
  if (typeof data !== 'object' || data === null) throw invalid('not a JSON object');
  if (doc.format !== MANIFEST_FORMAT)
    throw invalid(`format ${JSON.stringify(doc.format)}, this version of machine reads format ${MANIFEST_FORMAT}`);
  if (!Array.isArray(doc.isos)) throw invalid('"isos" is not a list');
  const isos = doc.isos.map((entry: unknown, i) => {
    if (typeof entry !== 'object' || entry === null) throw invalid(`isos[${i}] is not an object`);
    const e = entry as Record<string, unknown>;
    for (const [field, ok] of Object.entries(FIELDS)) {
      if (!ok(e[field]))
        throw invalid(`isos[${i}].${field} is ${JSON.stringify(e[field])}, expected ${EXPECTED[field as keyof IsoRelease]}`);
    }
    const { arch, key, docker, kernel, url, size, sha256 } = e as unknown as IsoRelease;
    return { arch, key, docker, kernel, url, size, sha256 };
  });
  return { source, isos };
}

export async function loadManifest(file: string = manifestPath()): Promise<IsoManifest> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    throw new MachineError(
      `Cannot read the ISO release manifest ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      {
        fix: 'reinstall machine (the manifest ships with it), or point MACHINE_ISO_MANIFEST at one',
      },
    );
  }
  return parseManifest(text, file);
}

/** The newest ISO released for arch: its last entry. */
export function newestRelease(manifest: IsoManifest, arch: string): IsoRelease | undefined {
  return manifest.isos.filter((r) => r.arch === arch).at(-1);
}

/**
 * Where to download a release from: its URL, or with a mirror, the mirror's URL followed by the
 * release's file name ("https://mirror.example/iso" + "/boot2docker-v26.1.5-<key>-amd64.iso"). A
 * mirror is a folder holding the released files under their own names.
 */
export function releaseUrl(release: IsoRelease, mirror?: string): string {
  if (!mirror) return release.url;
  checkMirror(mirror);
  return `${mirror.replace(/\/+$/, '')}/${fileName(release.url)}`;
}

/** A mirror is an http(s):// folder URL (no query or fragment: the file name is appended). */
export function checkMirror(mirror: string): void {
  let u: URL | undefined;
  try {
    u = new URL(mirror);
  } catch {
    u = undefined;
  }
  if (!u || !isHttpUrl(mirror) || u.search || u.hash) {
    throw new MachineError(`The ISO mirror "${mirror}" is not an http(s):// folder URL`, {
      fix: 'give the URL of the folder holding the released ISO files (--iso-mirror or MACHINE_ISO_MIRROR), e.g. https://mirror.example.com/machine/iso',
    });
  }
}

/** The last segment of a URL's path, as written ("" for none). */
export function fileName(url: string): string {
  return new URL(url).pathname.split('/').pop() ?? '';
}

function isHttpUrl(v: string): boolean {
  try {
    return /^https?:$/.test(new URL(v).protocol);
  } catch {
    return false;
  }
}
