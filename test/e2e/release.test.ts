import { createHash } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GUEST_ARCHES } from '../../src/core/arch.js';
import { loadManifest, parseManifest, SHIPPED_MANIFEST, type IsoRelease } from '../../src/iso/releases.js';
import { machine, ROOT, tempStore } from '../helpers/cli.js';
import { DockerCli } from '../helpers/docker.js';
import { parseExports, processesMentioning } from '../helpers/processes.js';
import { startFileServer } from '../helpers/servers.js';
import { testIso } from '../helpers/vm.js';

async function sha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file), hash);
  return hash.digest('hex');
}

/**
 * The ISO is a pure function of the recipe and the lock: the one this run built (here, today) is
 * byte for byte the one scripts/release-iso.sh built for the manifest the package ships (on another
 * machine, another day). So the shipped sha256 is what any rebuild gives, and the manifest is kept
 * current: an iso/ change without a release fails here.
 */
it.each(GUEST_ARCHES)('the %s ISO this run built is the shipped release of its recipe, byte for byte', async (arch) => {
  const iso = await testIso(arch);
  const key = path.basename(path.dirname(path.dirname(iso))); // <cache>/iso/<key>/<arch>/boot2docker.iso
  const shipped = (await loadManifest(SHIPPED_MANIFEST)).isos.find((r) => r.key === key && r.arch === arch);
  expect(shipped, `releases/iso.json lists no ${arch} ISO of recipe ${key}: run bash scripts/release-iso.sh --arch ${arch}`).toBeDefined();
  expect(await sha256(iso)).toBe(shipped!.sha256);
  expect((await fs.stat(iso)).size).toBe(shipped!.size);
});

/**
 * A new Windows/macOS user's first create: no bash and no apt on PATH (so the recipe can neither
 * be asked nor built: the same code path as on Windows), an empty cache, and a release manifest
 * made by scripts/release-iso.sh from the real built ISO, whose files a mirror on 127.0.0.1
 * serves. The manifest's own URL is the placeholder release host (.invalid never resolves), so
 * anything that ignored the mirror or the cache would fail rather than reach the internet. One VM
 * at a time (QEMU, software emulation, restricted network).
 */
describe('a create with no ISO anywhere but the release manifest', () => {
  let store: string;
  let tmp: string;
  let manifestFile: string;
  let release: IsoRelease;
  let server: Awaited<ReturnType<typeof startFileServer>>;
  let env: Record<string, string>;

  beforeAll(async () => {
    const iso = await testIso();
    store = await tempStore('release-store-');
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'release-e2e-'));
    const out = path.join(tmp, 'out');
    manifestFile = path.join(tmp, 'iso.json');
    const made = await execa(
      'bash',
      [
        path.join(ROOT, 'scripts', 'release-iso.sh'),
        '--out',
        out,
        '--manifest',
        manifestFile,
        '--base-url',
        'https://releases.invalid/machine/iso',
      ],
      { reject: false, all: true },
    );
    expect(made.exitCode, String(made.all)).toBe(0);
    release = parseManifest(await fs.readFile(manifestFile, 'utf8'), manifestFile).isos.at(-1)!;
    // The release is the built ISO, byte for byte.
    expect(release.sha256).toBe(await sha256(iso));
    expect(String(made.stdout).trim()).toBe(path.join(out, path.basename(new URL(release.url).pathname)));
    server = await startFileServer(out, { ranges: true });
    // node, QEMU and ps: what the CLI runs; no bash, no apt-get.
    const bin = path.join(tmp, 'bin');
    await fs.mkdir(bin);
    await fs.symlink(process.execPath, path.join(bin, 'node'));
    for (const tool of ['qemu-system-x86_64', 'ps']) {
      const found = (await execa('sh', ['-c', `command -v ${tool}`])).stdout.trim();
      await fs.symlink(found, path.join(bin, tool));
    }
    env = {
      PATH: bin,
      MACHINE_ISO_MANIFEST: manifestFile,
      MACHINE_BOOT2DOCKER_URL: '',
      MACHINE_ISO_MIRROR: '',
      HTTP_PROXY: '',
      HTTPS_PROXY: '',
      http_proxy: '',
      https_proxy: '',
    };
  }, 120_000);

  afterAll(async () => {
    await machine(store, ['rm', '-f', 'rel', 'rel2']);
    for (const pid of await processesMentioning(store)) process.kill(pid, 'SIGKILL');
    await server?.stop();
    await fs.rm(store, { recursive: true, force: true });
    await fs.rm(tmp, { recursive: true, force: true });
  });

  it('downloads the release through --iso-mirror, verified, caches it, and boots it to a working Docker', async () => {
    const cached = path.join(
      store,
      'cache',
      'releases',
      release.arch,
      release.sha256.slice(0, 16),
      path.basename(new URL(release.url).pathname),
    );
    const t0 = Date.now();
    const res = await machine(store, ['create', '-d', 'qemu', '--qemu-no-share', '--iso-mirror', `${server.base}/`, 'rel'], { env });
    const output = String(res.all);
    expect(res.exitCode, output).toBe(0);
    const url = `${server.base}/${path.basename(cached)}`;
    expect(output).toContain(`Downloading ${url}`);
    expect(output).toContain(`Download verified (size and sha256), cached in ${cached}`);
    expect(output).toContain(
      `Using b2d-v${release.docker} (recipe ${release.key}) from the ${release.arch} ISO release ${release.key} (Docker ${release.docker}, kernel ${release.kernel}) from ${url}`,
    );
    expect(server.log).toEqual([{ path: `/${path.basename(cached)}`, range: undefined, status: 200, bytes: release.size }]);
    expect(await sha256(cached)).toBe(release.sha256);
    expect(await sha256(path.join(store, 'machines', 'rel', 'boot2docker.iso'))).toBe(release.sha256);
    expect((await fs.readdir(path.dirname(cached))).filter((f) => f.endsWith('.part'))).toEqual([]);

    const vars = parseExports(String((await machine(store, ['env', 'rel'], { env: { SHELL: '/bin/bash' } })).stdout));
    const docker = DockerCli.forEnv(vars);
    // Debian's version of the same release: 28.5.2+dfsg4 for 28.5.2.
    expect((await docker.ok(['version', '--format', '{{.Server.Version}}'])).trim()).toMatch(
      new RegExp(`^${release.docker.replace(/\./g, '\\.')}(\\+|$)`),
    );
    console.log(`release e2e: create with download ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  }, 900_000);

  it('upgrade finds the machine on the newest release already, without a download', async () => {
    const res = await machine(store, ['upgrade', 'rel'], { env });
    expect(res.exitCode, String(res.all)).toBe(0);
    expect(String(res.all)).toContain(`(rel) Already on b2d-v${release.docker} (recipe ${release.key})`);
    expect(server.log).toHaveLength(1);
  }, 120_000);

  it('a second create takes the ISO from the cache: no request, and no mirror needed', async () => {
    expect((await machine(store, ['rm', '-f', 'rel'])).exitCode).toBe(0);
    const t0 = Date.now();
    const res = await machine(store, ['create', '-d', 'qemu', '--qemu-no-share', 'rel2'], { env });
    const output = String(res.all);
    expect(res.exitCode, output).toBe(0);
    expect(output).not.toContain('Downloading');
    expect(output).toMatch(new RegExp(`from the ${release.arch} ISO release ${release.key} .*, cached in `));
    expect(server.log).toHaveLength(1);
    console.log(`release e2e: create from the cache ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  }, 900_000);
});
