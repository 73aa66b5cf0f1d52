import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DOWNLOAD_TIMEOUTS, download } from '../../src/iso/download.js';
import { startLoggingProxy } from '../helpers/servers.js';

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
    expect(res).toEqual({ sha256: sha, checked: true });
    expect(seen.at(-1)).toBe(body.length);
    expect((await fs.readFile(dest)).equals(body)).toBe(true);
  });

  it('finds a published .sha256 next to the file', async () => {
    expect(await download(`${base}/signed.iso`, path.join(dir, 'b.iso'))).toEqual({ sha256: sha, checked: true });
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
