import { readFileSync } from 'node:fs';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tar from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { diskHead, MAGIC, PRESEED_OFFSET, userdataTar, writeRawDisk } from '../../src/iso/userdata.js';
import { generateKeyPair } from '../../src/ssh/keys.js';
import { FIXTURES } from '../helpers/fixtures.js';

interface Entry {
  name: string;
  type: string;
  mode: number;
  content: string;
}

async function entries(archive: Buffer): Promise<Entry[]> {
  const out: Entry[] = [];
  const extract = tar.extract();
  extract.on('entry', (header, stream, next) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      out.push({
        name: header.name.replace(/\/$/, ''),
        type: header.type ?? 'file',
        mode: header.mode ?? 0,
        content: Buffer.concat(chunks).toString(),
      });
      next();
    });
  });
  const done = new Promise((resolve, reject) => extract.on('finish', resolve).on('error', reject));
  extract.end(archive);
  await done;
  return out;
}

describe('the boot2docker magic userdata disk', () => {
  const docker = readFileSync(path.join(FIXTURES, 'docker-machine/userdata-disk-head.bin'));
  const key = generateKeyPair().publicKey;

  it('has the layout docker-machine wrote (same members, types and modes)', async () => {
    const theirs = await entries(docker.subarray(0, 4608));
    const ours = await entries(await userdataTar(key));
    expect(ours.map((e) => [e.name, e.type])).toEqual(theirs.map((e) => [e.name, e.type]));
    expect(ours.map((e) => e.mode).slice(1)).toEqual(theirs.map((e) => e.mode).slice(1));
    expect(ours[0]!.content).toBe(MAGIC);
    expect(ours[2]!.content).toBe(`${key}\n`);
    expect(ours[3]!.content).toBe(`${key}\n`);
  });

  it("starts with the magic string and fits boot2docker's 4096-byte read, end marker included", async () => {
    const archive = await userdataTar(key);
    expect(archive.subarray(0, MAGIC.length).toString()).toBe(MAGIC);
    expect(docker.subarray(0, MAGIC.length).toString()).toBe(MAGIC);
    expect(archive.length - 512).toBeLessThanOrEqual(4096);
    expect(archive.subarray(archive.length - 1024).every((b) => b === 0)).toBe(true);
    // What boot2docker keeps (4096 bytes) still lists every member.
    expect((await entries(Buffer.concat([archive.subarray(0, 4096), Buffer.alloc(1024)]))).length).toBe(4);
  });

  it('drops authorized_keys2 for a key too long to fit, and refuses one that cannot fit at all', async () => {
    const longKey = `ssh-rsa ${'A'.repeat(700)}`;
    const names = (await entries(await userdataTar(longKey))).map((e) => e.name);
    expect(names).toEqual([MAGIC, '.ssh', '.ssh/authorized_keys']);
    await expect(userdataTar(`ssh-rsa ${'A'.repeat(3000)}`)).rejects.toThrow(/too long for the boot2docker userdata disk/);
  });

  it("puts the preseed archive at 64 KiB, invisible to boot2docker's read", async () => {
    const head = await diskHead(key, [
      { path: 'profile', content: 'EXTRA_ARGS=\n', mode: 0o644 },
      { path: 'server-key.pem', content: 'secret', mode: 0o600 },
    ]);
    expect(head.subarray(4096, PRESEED_OFFSET).every((b) => b === 0)).toBe(true);
    expect(head.toString('latin1', PRESEED_OFFSET + 257, PRESEED_OFFSET + 262)).toBe('ustar');
    const preseed = await entries(head.subarray(PRESEED_OFFSET));
    expect(preseed.map((e) => [e.name, e.mode, e.content])).toEqual([
      ['profile', 0o644, 'EXTRA_ARGS=\n'],
      ['server-key.pem', 0o600, 'secret'],
    ]);
  });

  it('writes a sparse raw disk of the requested size', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'disk-test-'));
    try {
      const file = path.join(dir, 'disk.raw');
      await writeRawDisk(file, await diskHead(key), 20000);
      const st = await fs.stat(file);
      expect(st.size).toBe(20000 * 1024 * 1024);
      expect(st.blocks * 512).toBeLessThan(1024 * 1024);
      expect((st.mode & 0o777).toString(8)).toBe('600');
      await expect(writeRawDisk(file, Buffer.alloc(1), 1)).rejects.toThrow(/EEXIST/);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
