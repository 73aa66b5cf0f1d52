import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { EnvHttpProxyAgent, fetch } from 'undici';
import { MachineError } from '../core/errors.js';

export interface DownloadProgress {
  received: number;
  total?: number;
}

/**
 * Download url to dest (atomically), through HTTP(S)_PROXY/NO_PROXY like curl, checking the
 * sha256 when one is known: from the URL's "#sha256=<hex>" fragment, or a "<url>.sha256" file
 * published next to it.
 */
export async function download(
  url: string,
  dest: string,
  opts: { onProgress?: (p: DownloadProgress) => void; signal?: AbortSignal } = {},
): Promise<{ sha256: string; checked: boolean }> {
  const u = new URL(url);
  // Credentials in the URL go in a header (fetch refuses them in URLs); messages never show them.
  const headers: Record<string, string> = {};
  if (u.username || u.password) {
    headers.authorization = `Basic ${Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString('base64')}`;
    u.username = u.password = '';
  }
  const expected =
    /^sha256=([0-9a-f]{64})$/i.exec(u.hash.slice(1))?.[1]?.toLowerCase() ?? (await publishedChecksum(u, headers, opts.signal));
  u.hash = '';
  const dispatcher = agent();
  let res;
  try {
    res = await fetch(u, { dispatcher, headers, signal: opts.signal, redirect: 'follow' });
  } catch (err) {
    if (opts.signal?.aborted) throw opts.signal.reason;
    throw new MachineError(`Could not download ${u}: ${(err as Error & { cause?: Error }).cause?.message ?? (err as Error).message}`, {
      fix: 'check the URL and your network; behind a proxy set HTTPS_PROXY',
    });
  }
  if (!res.ok || !res.body)
    throw new MachineError(`Could not download ${u}: HTTP ${res.status} ${res.statusText}`, { fix: 'check the URL' });
  const total = Number(res.headers.get('content-length')) || undefined;
  const hash = createHash('sha256');
  let received = 0;
  let lastReport = 0;
  const tmp = path.join(path.dirname(dest), `.${path.basename(dest)}.tmp${randomBytes(4).toString('hex')}`);
  try {
    const body = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream);
    body.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      received += chunk.length;
      if (opts.onProgress && Date.now() - lastReport > 200) {
        lastReport = Date.now();
        opts.onProgress({ received, total });
      }
    });
    try {
      await pipeline(body, createWriteStream(tmp, { mode: 0o644 }), { signal: opts.signal });
    } catch (err) {
      if (opts.signal?.aborted) throw opts.signal.reason;
      throw new MachineError(`The download of ${u} broke off after ${received} bytes: ${(err as Error).message}`, {
        fix: `try again (nothing was kept); a stalled download ends after ${DOWNLOAD_TIMEOUTS.idleMs / 1000} s without data`,
      });
    }
    const sha256 = hash.digest('hex');
    if (expected && sha256 !== expected) {
      throw new MachineError(`The download of ${u} is corrupt: its sha256 is ${sha256}, expected ${expected}`, {
        fix: 'try again, or check the URL',
      });
    }
    await fs.rename(tmp, dest);
    opts.onProgress?.({ received, total });
    return { sha256, checked: Boolean(expected) };
  } finally {
    await fs.rm(tmp, { force: true });
  }
}

/** Downloads that stall end: no connection in 30 s, no headers in 30 s, no data for 60 s. */
export const DOWNLOAD_TIMEOUTS = { connectMs: 30_000, headersMs: 30_000, idleMs: 60_000 };

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
