import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GUEST_ARCHES } from '../../src/core/arch.js';
import { PROJECT_ROOT } from '../../src/core/paths.js';

/**
 * The recipe key and the locks, on a copy of iso/ (build.sh keys what lies next to it). Building
 * itself is covered by the suite's ISOs; these checks need no archive.
 */
describe('the ISO recipe and its locks', () => {
  let repo: string;
  const env = () => ({ ...process.env, MACHINE_CACHE_DIR: path.join(repo, 'cache') });
  const printPath = async (arch = 'amd64') =>
    (await execa('bash', [path.join(repo, 'iso/build.sh'), '--arch', arch, '--print-path'], { env: env() })).stdout.trim();
  const lockLines = async (arch: string) =>
    (await fs.readFile(path.join(PROJECT_ROOT, `iso/packages-${arch}.lock`), 'utf8')).split('\n').filter((l) => l && !l.startsWith('#'));
  beforeAll(async () => {
    repo = await fs.mkdtemp(path.join(os.tmpdir(), 'recipe-'));
    await fs.cp(path.join(PROJECT_ROOT, 'iso'), path.join(repo, 'iso'), { recursive: true });
  });
  afterAll(async () => fs.rm(repo, { recursive: true, force: true }));

  it.each(GUEST_ARCHES)('%s: pins the engine from forky, the 6.12 kernel and qemu-user, each with a sha256', async (arch) => {
    const lines = await lockLines(arch);
    for (const l of lines) expect(l).toMatch(new RegExp(`^[a-z0-9][a-z0-9+.-]* \\S+ (${arch}|all) [0-9a-f]{64}$`));
    const version = (p: string) => lines.find((l) => l.startsWith(`${p} `))?.split(' ')[1];
    expect(version('docker.io')).toMatch(/^28\./);
    expect(version('containerd')).toMatch(/^2\./);
    expect(version('runc')).toMatch(/^1\.3\./);
    expect(version('qemu-user')).toMatch(/^1:10\./);
    expect(lines.some((l) => new RegExp(`^linux-image-6\\.12\\.\\S+-${arch} `).test(l))).toBe(true);
    expect(lines.some((l) => l.startsWith(`grub-efi-${arch}-signed `))).toBe(true);
  });

  it('both architectures are built from the same packages at the same versions (but boot loaders and the kernel flavour)', async () => {
    // binNMUs (+bN) rebuild one architecture's package from the same source
    const same = (lines: string[]) =>
      lines
        .map((l) =>
          l
            .split(' ')
            .slice(0, 2)
            .join(' ')
            .replace(/\+b\d+$/, ''),
        )
        .filter((l) => !/^(linux-image-|grub-efi-|isolinux |syslinux-common )/.test(l));
    expect(same(await lockLines('arm64'))).toEqual(same(await lockLines('amd64')));
  });

  it('the key covers the locks: one changed version gives another ISO path, one per architecture', async () => {
    const before = await printPath();
    expect(before).toMatch(/\/iso\/[0-9a-f]{16}\/amd64\/boot2docker\.iso$/);
    expect(await printPath('arm64')).toBe(before.replace('/amd64/', '/arm64/'));
    expect(await printPath()).toBe(before);
    const lock = path.join(repo, 'iso/packages-arm64.lock');
    const text = await fs.readFile(lock, 'utf8');
    await fs.writeFile(lock, text.replace(/^(runc \S+)/m, '$1.1'));
    const after = await printPath();
    await fs.writeFile(lock, text);
    expect(after).not.toBe(before);
    expect(await printPath()).toBe(before);
  });

  it('refuses an architecture it has no recipe for', async () => {
    const res = await execa('bash', [path.join(repo, 'iso/build.sh'), '--arch', 'riscv64'], { env: env(), reject: false });
    expect(res.exitCode).toBe(2);
    expect(res.stderr).toMatch(/usage: .* \[--arch amd64\|arm64\]/);
  });

  it('a build without its lock says which command makes one', async () => {
    await fs.rename(path.join(repo, 'iso/packages-arm64.lock'), path.join(repo, 'packages.lock'));
    try {
      const res = await execa('bash', [path.join(repo, 'iso/build.sh'), '--arch', 'arm64'], { env: env(), reject: false });
      expect(res.exitCode).toBe(1);
      expect(res.stderr).toMatch(/packages-arm64\.lock is missing: run npm run iso:update -- --arch arm64/);
    } finally {
      await fs.rename(path.join(repo, 'packages.lock'), path.join(repo, 'iso/packages-arm64.lock'));
    }
  });
});
