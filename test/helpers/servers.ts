import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { promises as fs } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../src/core/ports.js';
import { poll } from '../../src/core/wait.js';

/** Debian's docker-registry (distribution 2.8) on 127.0.0.1, optionally with TLS. */
export async function startRegistry(opts: { certPem?: string; keyPem?: string } = {}): Promise<{ port: number; stop(): Promise<void> }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'registry-'));
  const port = await freePort();
  let tls = '';
  if (opts.certPem && opts.keyPem) {
    await fs.writeFile(path.join(dir, 'cert.pem'), opts.certPem);
    await fs.writeFile(path.join(dir, 'key.pem'), opts.keyPem);
    tls = `  tls:\n    certificate: ${dir}/cert.pem\n    key: ${dir}/key.pem\n`;
  }
  await fs.writeFile(
    path.join(dir, 'config.yml'),
    `version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: ${dir}/data\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:${port}\n${tls}`,
  );
  const child = spawn('docker-registry', ['serve', path.join(dir, 'config.yml')], { stdio: 'ignore' });
  await poll(
    () =>
      new Promise<true | undefined>((resolve) => {
        const s = net.connect(port, '127.0.0.1', () => (s.destroy(), resolve(true)));
        s.on('error', () => resolve(undefined));
      }),
    { timeoutMs: 15_000, what: 'docker-registry' },
  );
  return { port, stop: () => stopChild(child, dir) };
}

async function stopChild(child: ChildProcess, dir: string): Promise<void> {
  child.kill('SIGTERM');
  await new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once('exit', r)));
  await fs.rm(dir, { recursive: true, force: true });
}

/**
 * An HTTP proxy on 127.0.0.1 that records what passes and only ever connects to this host's
 * loopback: requests for the VM's view of the host (10.0.2.2) go to 127.0.0.1, anything else is
 * refused. Plain requests and CONNECT tunnels.
 */
export async function startLoggingProxy(): Promise<{ port: number; log: string[]; stop(): Promise<void> }> {
  const log: string[] = [];
  const loopback = (host: string) => (host === '10.0.2.2' || host === '127.0.0.1' || host === 'localhost' ? '127.0.0.1' : undefined);
  const server = http.createServer((req, res) => {
    log.push(`${req.method} ${req.url}`);
    const target = new URL(req.url ?? '/');
    const host = loopback(target.hostname);
    if (!host) return res.writeHead(403).end('only loopback');
    const upstream = http.request(
      { host, port: target.port || 80, path: `${target.pathname}${target.search}`, method: req.method, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', () => res.writeHead(502).end());
    req.pipe(upstream);
  });
  const tunnels = new Set<import('node:stream').Duplex>();
  server.on('connect', (req, socket, head) => {
    log.push(`CONNECT ${req.url}`);
    tunnels.add(socket);
    socket.on('close', () => tunnels.delete(socket));
    const [h, p] = (req.url ?? '').split(':');
    const host = loopback(h ?? '');
    if (!host) return socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
    const upstream = net.connect(Number(p), host, () => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(socket).pipe(upstream);
    });
    upstream.on('error', () => socket.destroy());
    socket.on('error', () => upstream.destroy());
  });
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  // The daemon keeps its connections open: end them, or close() waits forever.
  const stop = () =>
    new Promise<void>((r) => {
      server.close(() => r());
      server.closeAllConnections();
      for (const t of tunnels) t.destroy();
    });
  return { port, log, stop };
}

/** A CA and a server certificate for an IP, made with the openssl CLI (independent of our code). */
export async function opensslCa(ip: string): Promise<{ caPem: string; certPem: string; keyPem: string }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ca-'));
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  run(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-days',
    '2',
    '-subj',
    '/CN=Test Corporate CA',
  );
  run('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'srv.key', '-out', 'srv.csr', '-subj', `/CN=${ip}`);
  await fs.writeFile(path.join(dir, 'ext.cnf'), `subjectAltName=IP:${ip},IP:127.0.0.1\n`);
  run(
    'x509',
    '-req',
    '-in',
    'srv.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'srv.pem',
    '-days',
    '2',
    '-extfile',
    'ext.cnf',
  );
  const read = (f: string) => fs.readFile(path.join(dir, f), 'utf8');
  const result = { caPem: await read('ca.pem'), certPem: await read('srv.pem'), keyPem: await read('srv.key') };
  await fs.rm(dir, { recursive: true, force: true });
  return result;
}

/** What a file server answered: the path asked for, the Range asked for, the status, and how many body bytes it sent. */
export interface ServedRequest {
  path: string;
  range?: string;
  status: number;
  bytes: number;
}

/**
 * A static file server on 127.0.0.1 over `dir` that logs what it sends. `ranges`: it honours
 * "Range: bytes=N-" with 206 (else it ignores Range and sends the whole file, as some servers do);
 * `cutFirstAt`: the first answer for each file stops after that many bytes and drops the connection;
 * `corrupt`: every answer has one byte changed.
 */
export async function startFileServer(
  dir: string,
  opts: { ranges?: boolean; cutFirstAt?: number; corrupt?: boolean } = {},
): Promise<{ base: string; log: ServedRequest[]; stop(): Promise<void> }> {
  const log: ServedRequest[] = [];
  const cut = new Set<string>();
  const server = http.createServer((req, res) => {
    void (async () => {
      const name = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname).replace(/^\/+/, '');
      const range = req.headers.range;
      const entry: ServedRequest = { path: `/${name}`, range, status: 404, bytes: 0 };
      log.push(entry);
      const file = name && !name.includes('..') ? await fs.readFile(path.join(dir, name)).catch(() => undefined) : undefined;
      if (!file) return void res.writeHead(404).end();
      let body = file;
      if (opts.corrupt) {
        body = Buffer.from(file);
        body[body.length >> 1] = body[body.length >> 1]! ^ 0xff;
      }
      const start = opts.ranges ? Number(/^bytes=(\d+)-$/.exec(range ?? '')?.[1] ?? 0) : 0;
      if (start >= body.length && start > 0) {
        entry.status = 416;
        return void res.writeHead(416, { 'Content-Range': `bytes */${body.length}` }).end();
      }
      entry.status = start > 0 ? 206 : 200;
      res.writeHead(entry.status, {
        'Content-Length': body.length - start,
        'Accept-Ranges': opts.ranges ? 'bytes' : 'none',
        ...(start > 0 ? { 'Content-Range': `bytes ${start}-${body.length - 1}/${body.length}` } : {}),
      });
      if (opts.cutFirstAt !== undefined && !cut.has(name)) {
        cut.add(name);
        entry.bytes = Math.min(opts.cutFirstAt, body.length - start);
        return void res.write(body.subarray(start, start + entry.bytes), () => res.destroy());
      }
      entry.bytes = body.length - start;
      res.end(body.subarray(start));
    })();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  const stop = () =>
    new Promise<void>((r) => {
      server.close(() => r());
      server.closeAllConnections();
    });
  return { base, log, stop };
}
