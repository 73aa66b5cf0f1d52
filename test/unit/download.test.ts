import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { MachineError } from '../../src/core/errors.js';
import { DOWNLOAD_TIMEOUTS, download } from '../../src/iso/download.js';
import { startFileServer, startLoggingProxy } from '../helpers/servers.js';

let server: http.Server;
let base: string;
let dir: string;
const body = Buffer.alloc(3 * 1024 * 1024, 7);
const sha = createHash('sha256').update(body).digest('hex');

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'download-'));
  server = http.createServer((req, res) => {
    if (req.url === '/b2d.iso' || req.url === '/signed.iso') return res.writeHead(200, { 'Content-Length': body.length }).end(body);
    if (req.url === '/signed.iso.sha256') return res.end(`${sha}  signed.iso\n`);
    // Half the file, then nothing: a stalled mirror.
    if (req.url === '/stall.iso')
      return void res.writeHead(200, { 'Content-Length': body.length }).write(body.subarray(0, body.length / 2));
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await fs.rm(dir, { recursive: true, force: true });
});

describe('ISO download', () => {
  it('reports progress and checks the sha256 given in the URL', async () => {
    const seen: number[] = [];
    const dest = path.join(dir, 'a.iso');
    const res = await download(`${base}/b2d.iso#sha256=${sha}`, dest, { onProgress: (p) => seen.push(p.received) });
    expect(res).toEqual({ sha256: sha, checked: true, resumedFrom: 0 });
    expect(seen.at(-1)).toBe(body.length);
    expect((await fs.readFile(dest)).equals(body)).toBe(true);
  });

  it('finds a published .sha256 next to the file', async () => {
    expect(await download(`${base}/signed.iso`, path.join(dir, 'b.iso'))).toEqual({ sha256: sha, checked: true, resumedFrom: 0 });
    expect((await download(`${base}/b2d.iso`, path.join(dir, 'c.iso'))).checked).toBe(false);
  });

  it('refuses a corrupt download and leaves no file', async () => {
    const dest = path.join(dir, 'bad.iso');
    await expect(download(`${base}/b2d.iso#sha256=${'0'.repeat(64)}`, dest)).rejects.toThrow(/is corrupt: its sha256 is/);
    await expect(fs.access(dest)).rejects.toThrow();
    expect((await fs.readdir(dir)).filter((f) => f.includes('.tmp'))).toEqual([]);
    await expect(download(`${base}/missing.iso`, path.join(dir, 'm.iso'))).rejects.toThrow(/HTTP 404/);
  });

  it('gives up on a stalled download with one line, keeps nothing, and never shows credentials', async () => {
    const saved = DOWNLOAD_TIMEOUTS.idleMs;
    DOWNLOAD_TIMEOUTS.idleMs = 1000;
    try {
      const dest = path.join(dir, 'stall.iso');
      const u = new URL(`${base}/stall.iso`);
      u.username = 'me';
      u.password = 's3cret';
      const err = (await download(u.toString(), dest).catch((e: Error) => e)) as Error;
      expect(err.message).toMatch(new RegExp(`^The download of ${base}/stall.iso broke off after 1572864 bytes`));
      expect(err.message).not.toContain('s3cret');
      await expect(fs.access(dest)).rejects.toThrow();
      expect((await fs.readdir(dir)).filter((f) => f.includes('stall'))).toEqual([]);
    } finally {
      DOWNLOAD_TIMEOUTS.idleMs = saved;
    }
  });

  it('goes through HTTP_PROXY', async () => {
    const proxy = await startLoggingProxy();
    const saved = { HTTP_PROXY: process.env.HTTP_PROXY, NO_PROXY: process.env.NO_PROXY, no_proxy: process.env.no_proxy };
    process.env.HTTP_PROXY = `http://127.0.0.1:${proxy.port}`;
    process.env.NO_PROXY = '';
    delete process.env.no_proxy;
    try {
      await download(`${base}/b2d.iso`, path.join(dir, 'p.iso'));
      // undici tunnels through the proxy with CONNECT, for http:// too.
      expect(proxy.log).toContain(`CONNECT ${new URL(base).host}`);
    } finally {
      for (const [k, v] of Object.entries(saved)) v === undefined ? delete process.env[k] : (process.env[k] = v);
      await proxy.stop();
    }
  });
});

describe('resumable downloads (sha256 and size known)', () => {
  const iso = Buffer.alloc(2 * 1024 * 1024 + 123);
  for (let i = 0; i < iso.length; i++) iso[i] = (i * 7 + (i >> 11)) & 0xff;
  const isoSha = createHash('sha256').update(iso).digest('hex');
  const expected = { sha256: isoSha, size: iso.length };
  const cutAt = 1024 * 1024 + 17;
  let files: string;
  let cache: string;
  const servers: Awaited<ReturnType<typeof startFileServer>>[] = [];
  const serve = async (opts: Parameters<typeof startFileServer>[1]) => {
    const s = await startFileServer(files, opts);
    servers.push(s);
    return s;
  };
  const leftovers = async () => (await fs.readdir(cache)).filter((f) => !f.startsWith('.') || !f.endsWith('.lock'));

  beforeAll(async () => {
    files = await fs.mkdtemp(path.join(os.tmpdir(), 'served-'));
    await fs.writeFile(path.join(files, 'b2d.iso'), iso);
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await fs.rm(files, { recursive: true, force: true });
  });
  beforeEach(async () => {
    cache = await fs.mkdtemp(path.join(os.tmpdir(), 'cache-'));
  });

  it('keeps what a cut connection delivered under a temp name and fetches only the rest with Range', async () => {
    const server = await serve({ ranges: true, cutFirstAt: cutAt });
    const dest = path.join(cache, 'b2d.iso');
    const part = path.join(cache, '.b2d.iso.part');
    const err = (await download(`${server.base}/b2d.iso`, dest, expected).catch((e: Error) => e)) as MachineError;
    // What the client had read when the connection dropped is on disk (the HTTP client may drop
    // the last chunks it held but had not handed over: the part says exactly what was kept).
    const kept = (await fs.stat(part)).size;
    expect(kept).toBeGreaterThan(cutAt / 2);
    expect(kept).toBeLessThanOrEqual(cutAt);
    expect((await fs.readFile(part)).equals(iso.subarray(0, kept))).toBe(true);
    expect(err.message).toBe(`The download of ${server.base}/b2d.iso broke off after ${kept} bytes: other side closed`);
    expect(err.fix).toBe('run the command again: the download resumes where it stopped');
    await expect(fs.access(dest)).rejects.toThrow();

    const notes: string[] = [];
    const res = await download(`${server.base}/b2d.iso`, dest, { ...expected, onNote: (l) => notes.push(l) });
    expect(res).toEqual({ sha256: isoSha, checked: true, resumedFrom: kept });
    expect(server.log).toEqual([
      { path: '/b2d.iso', range: undefined, status: 200, bytes: cutAt },
      { path: '/b2d.iso', range: `bytes=${kept}-`, status: 206, bytes: iso.length - kept },
    ]);
    expect(notes).toEqual([`Resuming the download at ${(kept / 1048576).toFixed(1)} MB of 2.0 MB`]);
    expect((await fs.readFile(dest)).equals(iso)).toBe(true);
    expect(await leftovers()).toEqual(['b2d.iso']);
  });

  it('starts over when the server ignores Range', async () => {
    const server = await serve({ ranges: false, cutFirstAt: cutAt });
    const dest = path.join(cache, 'b2d.iso');
    await expect(download(`${server.base}/b2d.iso`, dest, expected)).rejects.toThrow(/broke off after/);
    const kept = (await fs.stat(path.join(cache, '.b2d.iso.part'))).size;
    const notes: string[] = [];
    const res = await download(`${server.base}/b2d.iso`, dest, { ...expected, onNote: (l) => notes.push(l) });
    expect(res.resumedFrom).toBe(0);
    expect(server.log.map((e) => [e.range, e.status, e.bytes])).toEqual([
      [undefined, 200, cutAt],
      [`bytes=${kept}-`, 200, iso.length],
    ]);
    expect(notes).toEqual([`${new URL(server.base).host} does not resume downloads (it ignored the Range request): starting over`]);
    expect((await fs.readFile(dest)).equals(iso)).toBe(true);
    expect(await leftovers()).toEqual(['b2d.iso']);
  });

  it('deletes a body whose sha256 does not match: never used, never cached, never resumed', async () => {
    const server = await serve({ ranges: true, corrupt: true });
    const dest = path.join(cache, 'b2d.iso');
    const err = (await download(`${server.base}/b2d.iso`, dest, expected).catch((e: Error) => e)) as MachineError;
    expect(err.message).toMatch(
      new RegExp(`^The download of ${server.base}/b2d.iso is corrupt: its sha256 is [0-9a-f]{64}, expected ${isoSha}$`),
    );
    expect(await leftovers()).toEqual([]);
    // The next attempt starts from nothing (no Range): nothing corrupt was kept to continue.
    await download(`${server.base}/b2d.iso`, dest, expected).catch(() => undefined);
    expect(server.log.map((e) => e.range)).toEqual([undefined, undefined]);
    expect(await leftovers()).toEqual([]);
  });

  it('a kept part that is itself corrupt fails the check once, then the download starts over and succeeds', async () => {
    const server = await serve({ ranges: true });
    const dest = path.join(cache, 'b2d.iso');
    const bad = Buffer.from(iso.subarray(0, cutAt));
    bad[5] = bad[5]! ^ 1;
    await fs.writeFile(path.join(cache, '.b2d.iso.part'), bad);
    await expect(download(`${server.base}/b2d.iso`, dest, expected)).rejects.toThrow(/is corrupt: its sha256 is/);
    expect(await leftovers()).toEqual([]);
    expect((await download(`${server.base}/b2d.iso`, dest, expected)).resumedFrom).toBe(0);
    expect((await fs.readFile(dest)).equals(iso)).toBe(true);
  });

  it('refuses a file of another size before downloading it, and a part longer than the file is dropped', async () => {
    const server = await serve({ ranges: true });
    const dest = path.join(cache, 'b2d.iso');
    const err = (await download(`${server.base}/b2d.iso`, dest, { ...expected, size: iso.length - 1 }).catch((e: Error) => e)) as Error;
    expect(err.message).toBe(`${server.base}/b2d.iso is ${iso.length} bytes, but the ISO it should be has ${iso.length - 1}`);
    expect(await leftovers()).toEqual([]);
    await fs.writeFile(path.join(cache, '.b2d.iso.part'), Buffer.alloc(iso.length + 10));
    expect((await download(`${server.base}/b2d.iso`, dest, expected)).resumedFrom).toBe(0);
    expect(server.log.at(-1)).toEqual({ path: '/b2d.iso', range: undefined, status: 200, bytes: iso.length });
    expect(await leftovers()).toEqual(['b2d.iso']);
  });
});
