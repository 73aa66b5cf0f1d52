import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/core/paths.js';

/**
 * The recipe key and the lock, on a copy of iso/ (build.sh keys what lies next to it). Building
 * itself is covered by the suite's ISO; these checks need no archive.
 */
describe('the ISO recipe and its lock', () => {
  let repo: string;
  const env = () => ({ ...process.env, MACHINE_CACHE_DIR: path.join(repo, 'cache') });
  const printPath = async () => (await execa('bash', [path.join(repo, 'iso/build.sh'), '--print-path'], { env: env() })).stdout.trim();
  beforeAll(async () => {
    repo = await fs.mkdtemp(path.join(os.tmpdir(), 'recipe-'));
    await fs.cp(path.join(PROJECT_ROOT, 'iso'), path.join(repo, 'iso'), { recursive: true });
  });
  afterAll(async () => fs.rm(repo, { recursive: true, force: true }));

  it('pins the engine from forky and the 6.12 kernel, each with a sha256', async () => {
    const lines = (await fs.readFile(path.join(PROJECT_ROOT, 'iso/packages.lock'), 'utf8'))
      .split('\n')
      .filter((l) => l && !l.startsWith('#'));
    for (const l of lines) expect(l).toMatch(/^[a-z0-9][a-z0-9+.-]* \S+ (amd64|all) [0-9a-f]{64}$/);
    const version = (p: string) => lines.find((l) => l.startsWith(`${p} `))?.split(' ')[1];
    expect(version('docker.io')).toMatch(/^28\./);
    expect(version('containerd')).toMatch(/^2\./);
    expect(version('runc')).toMatch(/^1\.3\./);
    expect(lines.some((l) => /^linux-image-6\.12\.\S+-amd64 /.test(l))).toBe(true);
  });

  it('the key covers the lock: one changed version gives another ISO path', async () => {
    const before = await printPath();
    expect(before).toMatch(/\/iso\/[0-9a-f]{16}\/boot2docker\.iso$/);
    expect(await printPath()).toBe(before);
    const lock = path.join(repo, 'iso/packages.lock');
    const text = await fs.readFile(lock, 'utf8');
    await fs.writeFile(lock, text.replace(/^(runc \S+)/m, '$1.1'));
    const after = await printPath();
    await fs.writeFile(lock, text);
    expect(after).not.toBe(before);
    expect(await printPath()).toBe(before);
  });

  it('a build without a lock says which command makes one', async () => {
    await fs.rename(path.join(repo, 'iso/packages.lock'), path.join(repo, 'packages.lock'));
    try {
      const res = await execa('bash', [path.join(repo, 'iso/build.sh')], { env: env(), reject: false });
      expect(res.exitCode).toBe(1);
      expect(res.stderr).toMatch(/packages\.lock is missing: run npm run iso:update/);
    } finally {
      await fs.rename(path.join(repo, 'packages.lock'), path.join(repo, 'iso/packages.lock'));
    }
  });
});
