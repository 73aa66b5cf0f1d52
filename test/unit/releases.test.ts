import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { debianArch, hostArch } from '../../src/core/arch.js';
import { MachineError } from '../../src/core/errors.js';
import { builtIsoPath } from '../../src/iso/recipe.js';
import {
  checkMirror,
  type IsoRelease,
  loadManifest,
  manifestPath,
  newestRelease,
  parseManifest,
  releaseUrl,
  SHIPPED_MANIFEST,
} from '../../src/iso/releases.js';
import { releaseIso, resolveIso } from '../../src/iso/source.js';
import { startFileServer } from '../helpers/servers.js';

const KEY = '0123456789abcdef';
const entry = (over: Partial<IsoRelease> = {}): IsoRelease => ({
  arch: 'amd64',
  key: KEY,
  docker: '26.1.5',
  kernel: '6.12.57+deb13-amd64',
  url: `https://releases.invalid/machine/iso/boot2docker-v26.1.5-${KEY}-amd64.iso`,
  size: 1234,
  sha256: 'a'.repeat(64),
  ...over,
});
const manifestText = (isos: unknown[], format: unknown = 1) => JSON.stringify({ format, isos });

describe('the release manifest', () => {
  it('the shipped one is valid, has an amd64 ISO, and is the default', async () => {
    const m = await loadManifest(SHIPPED_MANIFEST);
    expect(newestRelease(m, 'amd64')).toMatchObject({
      arch: 'amd64',
      url: expect.stringMatching(/\/boot2docker-v[\d.]+-[0-9a-f]{16}-amd64\.iso$/),
    });
    expect(manifestPath({})).toBe(SHIPPED_MANIFEST);
    expect(manifestPath({ MACHINE_ISO_MANIFEST: 'x/iso.json' })).toBe(path.resolve('x/iso.json'));
  });

  it('parses entries and picks the last one of the architecture as the newest', () => {
    const older = entry({ key: '1'.repeat(16) });
    const arm = entry({ arch: 'arm64', kernel: '6.12.57+deb13-arm64' });
    const newer = entry({ key: '2'.repeat(16), docker: '27.0.1' });
    const m = parseManifest(manifestText([older, arm, { ...newer, note: 'extra fields are ignored' }]), 'm.json');
    expect(m.isos).toEqual([older, arm, newer]);
    expect(newestRelease(m, 'amd64')).toEqual(newer);
    expect(newestRelease(m, 'arm64')).toEqual(arm);
    expect(newestRelease(m, 'riscv64')).toBeUndefined();
  });

  it('refuses the whole manifest for one bad field, naming it, in one line with the fix', () => {
    const bad = (isos: unknown[], format?: unknown) => {
      const err = (() => {
        try {
          parseManifest(manifestText(isos, format), 'm.json');
        } catch (e) {
          return e as MachineError;
        }
        throw new Error('accepted');
      })();
      expect(err).toBeInstanceOf(MachineError);
      expect(err.fix).toBe('reinstall machine (the manifest ships with it), or point MACHINE_ISO_MANIFEST at a valid one');
      expect(err.line).not.toContain('\n');
      return err.message.replace('The ISO release manifest m.json is invalid: ', '');
    };
    expect(bad([entry({ sha256: 'A'.repeat(64) })])).toBe(`isos[0].sha256 is "${'A'.repeat(64)}", expected 64 lowercase hex digits`);
    expect(bad([entry(), entry({ size: 0 })])).toBe('isos[1].size is 0, expected a size in bytes');
    expect(bad([entry({ size: 1.5 })])).toBe('isos[0].size is 1.5, expected a size in bytes');
    expect(bad([{ ...entry(), arch: undefined }])).toBe('isos[0].arch is undefined, expected an architecture name (amd64, arm64)');
    expect(bad([entry({ url: 'ftp://x/boot2docker.iso' })])).toMatch(/^isos\[0\]\.url is "ftp:/);
    expect(bad([entry({ url: 'https://x/dir/' })])).toMatch(/^isos\[0\]\.url is/);
    expect(bad([entry({ url: 'https://x/%2e%2e%2fescape.iso' })])).toMatch(/^isos\[0\]\.url is/);
    expect(bad([entry({ key: 'v1' })])).toBe('isos[0].key is "v1", expected a recipe key (16 hex digits)');
    expect(bad([entry()], 2)).toBe('format 2, this version of machine reads format 1');
    expect(bad(['x'])).toBe('isos[0] is not an object');
    expect(() => parseManifest('{', 'm.json')).toThrow(/^The ISO release manifest m.json is invalid: not JSON/);
  });

  it('says which file it cannot read', async () => {
    await expect(loadManifest('/nonexistent/iso.json')).rejects.toThrow(
      'Cannot read the ISO release manifest /nonexistent/iso.json (ENOENT)',
    );
  });

  it('maps Node architectures to Debian names', () => {
    expect([debianArch('x64'), debianArch('arm64'), debianArch('riscv64')]).toEqual(['amd64', 'arm64', 'riscv64']);
  });
});

describe('the mirror rule: mirror + "/" + the file name of the manifest URL', () => {
  const r = entry();
  const file = `boot2docker-v26.1.5-${KEY}-amd64.iso`;
  it('replaces everything before the file name', () => {
    expect(releaseUrl(r)).toBe(r.url);
    expect(releaseUrl(r, '')).toBe(r.url);
    expect(releaseUrl(r, 'http://127.0.0.1:8080')).toBe(`http://127.0.0.1:8080/${file}`);
    expect(releaseUrl(r, 'https://mirror.example/a/b/')).toBe(`https://mirror.example/a/b/${file}`);
    expect(releaseUrl(r, 'https://me:pw@mirror.example/a//')).toBe(`https://me:pw@mirror.example/a/${file}`);
  });
  it('refuses what is not an http(s) folder URL, in one line with the fix', () => {
    for (const m of [
      'mirror.example/iso',
      'file:///srv/iso',
      'ftp://mirror.example/iso',
      'https://m.example/iso?x=1',
      'https://m.example/#f',
    ]) {
      expect(() => checkMirror(m), m).toThrow(`The ISO mirror "${m}" is not an http(s):// folder URL`);
    }
    try {
      checkMirror('ftp://x');
    } catch (e) {
      expect((e as MachineError).fix).toMatch(
        /^give the URL of the folder holding the released ISO files \(--iso-mirror or MACHINE_ISO_MIRROR\)/,
      );
    }
  });
});

describe('where the ISO comes from when none is given', () => {
  let dir: string;
  let served: string;
  let iso: Buffer;
  let release: IsoRelease;
  let server: Awaited<ReturnType<typeof startFileServer>>;
  let cache: string;
  const saved = {
    PATH: process.env.PATH,
    MACHINE_ISO_MANIFEST: process.env.MACHINE_ISO_MANIFEST,
    MACHINE_CACHE_DIR: process.env.MACHINE_CACHE_DIR,
  };
  const fileName = `boot2docker-v26.1.5-${KEY}-${hostArch()}.iso`;
  /** A PATH without bash or apt-get: what a Windows user has. */
  let noTools: string;
  const writeManifest = async (isos: IsoRelease[]) => {
    const file = path.join(dir, 'iso.json');
    await fs.writeFile(file, manifestText(isos));
    process.env.MACHINE_ISO_MANIFEST = file;
  };

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'releases-'));
    served = path.join(dir, 'served');
    noTools = path.join(dir, 'empty-bin');
    await fs.mkdir(path.join(dir, 'root', 'boot'), { recursive: true });
    await fs.mkdir(noTools);
    await fs.mkdir(served);
    await fs.writeFile(path.join(dir, 'root', 'boot', 'vmlinuz'), 'kernel');
    const file = path.join(served, fileName);
    execFileSync(
      'xorriso',
      [
        '-as',
        'mkisofs',
        '-quiet',
        '-V',
        'b2d-v26.1.5',
        '-publisher',
        'machine-b2d',
        '-A',
        `machine-b2d ${KEY}`,
        '-o',
        file,
        path.join(dir, 'root'),
      ],
      {
        stdio: 'ignore',
      },
    );
    iso = await fs.readFile(file);
    server = await startFileServer(served, { ranges: true });
    release = entry({
      arch: hostArch(),
      url: `https://releases.invalid/machine/iso/${fileName}`,
      size: iso.length,
      sha256: createHash('sha256').update(iso).digest('hex'),
    });
  });
  afterAll(async () => {
    await server.stop();
    await fs.rm(dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    cache = await fs.mkdtemp(path.join(dir, 'cache-'));
    server.log.length = 0;
    await writeManifest([release]);
  });
  afterEach(() => {
    for (const [k, v] of Object.entries(saved)) v === undefined ? delete process.env[k] : (process.env[k] = v);
  });

  it('without bash: downloads the newest release through the mirror, verified, into the cache; the next time takes it from there', async () => {
    process.env.PATH = noTools;
    const lines: string[] = [];
    const first = await resolveIso('', cache, { report: (l) => lines.push(l), mirror: server.base });
    const cached = path.join(cache, 'releases', release.arch, release.sha256.slice(0, 16), fileName);
    expect(first.path).toBe(cached);
    expect(first.source).toBe(
      `the ${hostArch()} ISO release ${KEY} (Docker 26.1.5, kernel 6.12.57+deb13-amd64) from ${server.base}/${fileName}`,
    );
    expect(first.info.volumeId).toBe('b2d-v26.1.5');
    expect(first.preseed).toBe(true);
    expect(lines[0]).toBe(`Downloading ${server.base}/${fileName}`);
    expect(lines.at(-1)).toBe(`Download verified (size and sha256), cached in ${cached}`);
    expect(server.log).toEqual([{ path: `/${fileName}`, range: undefined, status: 200, bytes: iso.length }]);
    expect((await fs.readFile(cached)).equals(iso)).toBe(true);

    const second = await resolveIso('', cache, { mirror: server.base });
    expect(second.path).toBe(cached);
    expect(second.source).toMatch(/, cached in /);
    expect(server.log).toHaveLength(1);
  });

  it('a new release replaces the cached one it supersedes, once verified', async () => {
    process.env.PATH = noTools;
    const older = path.join(cache, 'releases', 'amd64', 'a'.repeat(16));
    await fs.mkdir(older, { recursive: true });
    await fs.writeFile(path.join(older, 'boot2docker-v26.1.4.iso'), Buffer.alloc(3 * 1024 * 1024));
    await fs.writeFile(path.join(older, 'boot2docker-v26.1.5.iso.part'), 'broken off');
    // A failed download keeps it.
    await expect(releaseIso({ ...release, sha256: 'b'.repeat(64) }, cache, { mirror: server.base })).rejects.toThrow(/is corrupt/);
    expect(await fs.readdir(older)).toHaveLength(2);
    const lines: string[] = [];
    const res = await releaseIso(release, cache, { mirror: server.base, report: (l) => lines.push(l) });
    expect(lines).toContain(`Removed an older cached ISO release (3.0 MB): ${older}`);
    expect(await fs.readdir(path.join(cache, 'releases', 'amd64'))).toEqual([path.basename(path.dirname(res.path))]);
  });

  it("each architecture has its own release and cache: an arm64 machine's ISO leaves the amd64 one, and Toolbox's x86 ISO is not for it", async () => {
    process.env.PATH = noTools;
    const amd64 = { ...release, arch: 'amd64' };
    const arm64 = { ...release, arch: 'arm64', kernel: '6.12.57+deb13-arm64' };
    await writeManifest([amd64, arm64]);
    await fs.writeFile(path.join(cache, 'boot2docker.iso'), iso);
    const res = await resolveIso('', cache, { mirror: server.base, arch: 'arm64' });
    expect(res.path).toBe(path.join(cache, 'releases', 'arm64', release.sha256.slice(0, 16), fileName));
    expect(res.source).toMatch(/^the arm64 ISO release /);
    const amd = await releaseIso(amd64, cache, { mirror: server.base });
    expect(await fs.readdir(path.join(cache, 'releases'))).toEqual(['amd64', 'arm64']);
    expect((await fs.stat(res.path)).size).toBe(iso.length);
    expect(amd.path).toBe(path.join(cache, 'releases', 'amd64', release.sha256.slice(0, 16), fileName));
  });

  it('two at once download it once: the second waits for the first', async () => {
    process.env.PATH = noTools;
    const [a, b] = await Promise.all([
      releaseIso(release, cache, { mirror: server.base }),
      releaseIso(release, cache, { mirror: server.base }),
    ]);
    expect(a.path).toBe(b.path);
    expect(server.log).toHaveLength(1);
    expect((await fs.readFile(a.path)).equals(iso)).toBe(true);
  });

  it("the store's cache/boot2docker.iso comes first for create, not for upgrade", async () => {
    process.env.PATH = noTools;
    const toolbox = path.join(cache, 'boot2docker.iso');
    await fs.writeFile(toolbox, iso);
    expect((await resolveIso('', cache, { mirror: server.base })).path).toBe(toolbox);
    expect(server.log).toHaveLength(0);
    expect((await resolveIso('', cache, { mirror: server.base, newest: true })).path).toMatch(/releases/);
    expect(server.log).toHaveLength(1);
  });

  it('with bash: the ISO built from the recipe wins over a release when it is built (a developer checkout)', async () => {
    process.env.MACHINE_CACHE_DIR = path.join(dir, 'build-cache');
    const built = await builtIsoPath();
    expect(built.startsWith(process.env.MACHINE_CACHE_DIR)).toBe(true);
    // Not built: the release.
    expect((await resolveIso('', cache, { mirror: server.base })).path).toMatch(/releases/);
    await fs.mkdir(path.dirname(built), { recursive: true });
    await fs.writeFile(built, iso);
    const res = await resolveIso('', cache, { mirror: server.base, newest: true });
    expect(res.path).toBe(built);
    expect(res.source).toMatch(/\(built from .*iso\)$/);
  });

  it('no release for this architecture and no bash: one line naming the problem and the fix', async () => {
    process.env.PATH = noTools;
    await writeManifest([entry({ arch: 'sparc' })]);
    const err = (await resolveIso('', cache).catch((e: Error) => e)) as MachineError;
    expect(err.line).toBe(
      `No ISO is released for ${hostArch()} machines in ${path.join(dir, 'iso.json')}, and its recipe cannot be built here (no bash or apt-get: it builds on Debian or Ubuntu): ` +
        'pass --boot2docker-url with a path or URL of a boot2docker ISO (or build one on Debian/Ubuntu with "npm run iso")',
    );
    expect(server.log).toHaveLength(0);
  });

  it('a download from a mirror holding another file is never used or cached', async () => {
    process.env.PATH = noTools;
    await writeManifest([{ ...release, sha256: 'b'.repeat(64) }]);
    await expect(resolveIso('', cache, { mirror: server.base })).rejects.toThrow(/is corrupt: its sha256 is [0-9a-f]{64}, expected b{64}/);
    expect(await fs.readdir(path.join(cache, 'releases', 'amd64', 'bbbbbbbbbbbbbbbb'))).toEqual([]);
  });
});
