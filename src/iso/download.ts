import { createHash, type Hash } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { EnvHttpProxyAgent, fetch, type Response } from 'undici';
import { MachineError } from '../core/errors.js';
import { tempSibling } from '../core/files.js';
import { withFileLock } from '../core/lock.js';

export interface DownloadProgress {
  received: number;
  total?: number;
}

export interface DownloadOptions {
  onProgress?: (p: DownloadProgress) => void;
  /** What is worth telling on the way: a resumed download, a server that cannot resume, a wait for another download. */
  onNote?: (line: string) => void;
  signal?: AbortSignal;
  /** The sha256 the file must have (a release manifest's); else the URL's "#sha256=<hex>" or a published "<url>.sha256". */
  sha256?: string;
  /** The size the file must have, when known. */
  size?: number;
}

export interface DownloadResult {
  sha256: string;
  checked: boolean;
  /** Bytes kept from an earlier attempt that this one continued from (0: from the start). */
  resumedFrom: number;
}

/**
 * Download url to dest (atomically), through HTTP(S)_PROXY/NO_PROXY like curl. The one download
 * of machine. When the sha256 is known, the file is verified (sha256, and size when known) before
 * it gets its name, and a download that breaks off is kept beside dest as ".<name>.part" and
 * continued with an HTTP Range request next time (started over where the server ignores Range; a
 * part that does not verify is deleted). Without a sha256 nothing half-made is ever kept.
 */
export async function download(url: string, dest: string, opts: DownloadOptions = {}): Promise<DownloadResult> {
  const u = new URL(url);
  // Credentials in the URL go in a header (fetch refuses them in URLs); messages never show them.
  const headers: Record<string, string> = {};
  if (u.username || u.password) {
    headers.authorization = `Basic ${Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString('base64')}`;
    u.username = u.password = '';
  }
  const expected =
    opts.sha256?.toLowerCase() ??
    /^sha256=([0-9a-f]{64})$/i.exec(u.hash.slice(1))?.[1]?.toLowerCase() ??
    (await publishedChecksum(u, headers, opts.signal));
  u.hash = '';
  const get = { url: u, headers, opts };
  if (!expected) {
    const tmp = tempSibling(dest);
    try {
      const { sha256 } = await fetchInto(get, tmp, false);
      await fs.rename(tmp, dest);
      return { sha256, checked: false, resumedFrom: 0 };
    } finally {
      await fs.rm(tmp, { force: true });
    }
  }
  const part = path.join(path.dirname(dest), `.${path.basename(dest)}.part`);
  const lock = {
    waitMs: DOWNLOAD_TIMEOUTS.lockMs,
    onWait: (o: { pid: number; command: string }) =>
      opts.onNote?.(`Waiting for "${o.command}" (pid ${o.pid}), which is downloading ${path.basename(dest)} too`),
    busy: (o: { pid: number; command: string }) =>
      new MachineError(`"${o.command}" (pid ${o.pid}) is still downloading ${path.basename(dest)}`, {
        fix: 'let it finish, or end it and run this again (the download resumes)',
      }),
  };
  return withFileLock(path.join(path.dirname(dest), `.${path.basename(dest)}.lock`), lock, async () => {
    // It may have finished while we waited: a file gets its name only once verified.
    const done = await fs.stat(dest).catch(() => undefined);
    if (done && (opts.size === undefined || done.size === opts.size)) return { sha256: expected, checked: true, resumedFrom: 0 };
    const { sha256, resumedFrom } = await fetchInto(get, part, true);
    if (sha256 !== expected) {
      await fs.rm(part, { force: true });
      throw new MachineError(`The download of ${u} is corrupt: its sha256 is ${sha256}, expected ${expected}`, {
        fix: 'run the command again (the download starts over); if it happens again, check the URL or the mirror',
      });
    }
    await fs.rename(part, dest);
    return { sha256, checked: true, resumedFrom };
  });
}

/** Downloads that stall end: no connection in 30 s, no headers in 30 s, no data for 60 s. A wait for another download of the same file ends after 30 min. */
export const DOWNLOAD_TIMEOUTS = { connectMs: 30_000, headersMs: 30_000, idleMs: 60_000, lockMs: 30 * 60_000 };

interface Get {
  url: URL;
  headers: Record<string, string>;
  opts: DownloadOptions;
}

/**
 * Write the body of url into file: from the start, or (resume) after the bytes file already has.
 * Returns the sha256 of the whole file. With resume, what was received stays in file when the
 * transfer breaks off; a file that cannot be the one expected (too long) is deleted.
 */
async function fetchInto(get: Get, file: string, resume: boolean): Promise<{ sha256: string; resumedFrom: number }> {
  const { url: u, opts } = get;
  const size = opts.size;
  let offset = resume ? ((await fs.stat(file).catch(() => undefined))?.size ?? 0) : 0;
  if (size !== undefined && offset > size) {
    await fs.rm(file, { force: true });
    offset = 0;
  }
  let hash = createHash('sha256');
  if (offset > 0) await hashFile(file, hash); // the kept part counts towards the sha256
  if (size !== undefined && offset === size) return { sha256: hash.digest('hex'), resumedFrom: offset }; // complete, not yet renamed
  let res = await request(get, offset);
  if (offset > 0) {
    const start = res.status === 206 ? /^bytes (\d+)-/.exec(res.headers.get('content-range') ?? '')?.[1] : undefined;
    if (Number(start) !== offset) {
      // 200 (Range ignored), 416 (the part is longer than the file is now) or a range we did not ask for.
      opts.onNote?.(
        res.status === 416
          ? `The kept part of the download does not fit the file on ${u.host}: starting over`
          : `${u.host} does not resume downloads (it ignored the Range request): starting over`,
      );
      offset = 0;
      hash = createHash('sha256');
      if (res.status !== 200) {
        await res.body?.cancel().catch(() => undefined);
        res = await request(get, 0);
      }
    } else {
      opts.onNote?.(`Resuming the download at ${mb(offset)}${size ? ` of ${mb(size)}` : ''}`);
    }
  }
  if (!res.ok || !res.body)
    throw new MachineError(`Could not download ${u}: HTTP ${res.status} ${res.statusText}`, { fix: 'check the URL' });
  const length = Number(res.headers.get('content-length')) || undefined;
  const total = length === undefined ? size : offset + length;
  if (size !== undefined && total !== size) {
    await res.body.cancel().catch(() => undefined);
    throw new MachineError(`${u} is ${total} bytes, but the ISO it should be has ${size}`, {
      fix: 'the server (or mirror) holds another file under that name: check the URL or the mirror',
    });
  }
  const handle = await fs.open(file, offset > 0 ? 'a' : 'w', 0o644);
  let received = offset;
  let lastReport = 0;
  let failure: unknown;
  try {
    // One chunk written before the next is read: what was received is on disk when the transfer breaks.
    for await (const chunk of Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>) as AsyncIterable<Buffer>) {
      await handle.write(chunk);
      hash.update(chunk);
      received += chunk.length;
      if (size !== undefined && received > size) break;
      if (opts.onProgress && Date.now() - lastReport > 200) {
        lastReport = Date.now();
        opts.onProgress({ received, total });
      }
    }
  } catch (err) {
    failure = err;
  } finally {
    await handle.close();
  }
  if (opts.signal?.aborted) throw opts.signal.reason;
  if (size !== undefined && received > size) {
    await fs.rm(file, { force: true });
    throw new MachineError(`The download of ${u} is corrupt: it is longer than the ${size} bytes expected`, {
      fix: 'check the URL or the mirror',
    });
  }
  if (failure) {
    throw new MachineError(`The download of ${u} broke off after ${received} bytes: ${messageOfCause(failure)}`, {
      fix: resume
        ? 'run the command again: the download resumes where it stopped'
        : `try again (nothing was kept); a stalled download ends after ${DOWNLOAD_TIMEOUTS.idleMs / 1000} s without data`,
    });
  }
  opts.onProgress?.({ received, total });
  return { sha256: hash.digest('hex'), resumedFrom: offset };
}

async function request({ url: u, headers, opts }: Get, offset: number): Promise<Response> {
  try {
    return await fetch(u, {
      dispatcher: agent(),
      // identity: a byte range of the file itself, and a Content-Length that is its size
      headers: { ...headers, 'accept-encoding': 'identity', ...(offset > 0 ? { range: `bytes=${offset}-` } : {}) },
      signal: opts.signal,
      redirect: 'follow',
    });
  } catch (err) {
    if (opts.signal?.aborted) throw opts.signal.reason;
    throw new MachineError(`Could not download ${u}: ${messageOfCause(err)}`, {
      fix: 'check the URL and your network; behind a proxy set HTTPS_PROXY',
    });
  }
}

async function hashFile(file: string, hash: Hash): Promise<void> {
  await pipeline(createReadStream(file), async (chunks: AsyncIterable<Buffer>) => {
    for await (const c of chunks) hash.update(c);
  });
}

function messageOfCause(err: unknown): string {
  return (err as Error & { cause?: Error }).cause?.message ?? (err as Error).message;
}

export function mb(bytes: number): string {
  return `${(bytes / 1048576).toFixed(1)} MB`;
}

function agent(): EnvHttpProxyAgent {
  return new EnvHttpProxyAgent({
    connect: { timeout: DOWNLOAD_TIMEOUTS.connectMs },
    headersTimeout: DOWNLOAD_TIMEOUTS.headersMs,
    bodyTimeout: DOWNLOAD_TIMEOUTS.idleMs,
  });
}

async function publishedChecksum(u: URL, headers: Record<string, string>, signal?: AbortSignal): Promise<string | undefined> {
  const sidecar = new URL(u);
  sidecar.hash = '';
  sidecar.pathname += '.sha256';
  try {
    const res = await fetch(sidecar, { dispatcher: agent(), headers, signal, redirect: 'follow' });
    if (!res.ok) return undefined;
    return /\b([0-9a-f]{64})\b/i.exec(await res.text())?.[1]?.toLowerCase();
  } catch {
    return undefined;
  }
}
