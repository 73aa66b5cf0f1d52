import https from 'node:https';
import { MachineError } from '../core/errors.js';

/** Client TLS material: the CA that signed the daemon's certificate and our client pair. */
export interface ClientTls {
  ca: string;
  cert: string;
  key: string;
}

export interface DockerEndpoint {
  host: string;
  port: number;
  tls: ClientTls;
}

export interface DockerVersion {
  Version: string;
  ApiVersion: string;
  Os: string;
  Arch: string;
  KernelVersion?: string;
}

/**
 * One HTTPS request to the Docker API with client-certificate authentication, as the docker CLI
 * makes it. Certificate problems come back as docker-machine worded them.
 */
export function dockerRequest(
  ep: DockerEndpoint,
  method: string,
  path: string,
  opts: { timeoutMs?: number; body?: unknown; signal?: AbortSignal } = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    const req = https.request(
      {
        host: ep.host,
        port: ep.port,
        method,
        path,
        ca: ep.tls.ca,
        cert: ep.tls.cert,
        key: ep.tls.key,
        agent: false,
        timeout: opts.timeoutMs ?? 10_000,
        signal: opts.signal,
        headers: payload ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) } : {},
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer from ${ep.host}:${ep.port} within ${opts.timeoutMs ?? 10_000} ms`)));
    req.on('error', (err) => reject(describeTlsError(err as NodeJS.ErrnoException, ep)));
    req.end(payload);
  });
}

function describeTlsError(err: NodeJS.ErrnoException, ep: DockerEndpoint): Error {
  const tlsCodes = [
    'ERR_TLS_CERT_ALTNAME_INVALID',
    'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    'CERT_HAS_EXPIRED',
    'CERT_NOT_YET_VALID',
    'DEPTH_ZERO_SELF_SIGNED_CERT',
    'SELF_SIGNED_CERT_IN_CHAIN',
    'CERT_SIGNATURE_FAILURE',
  ];
  if (err.code && tlsCodes.includes(err.code)) {
    return new TlsCertificateError(`There was an error validating certificates for host "${ep.host}:${ep.port}": ${err.message}`);
  }
  return err;
}

/** The daemon answered, but its certificate is not one we accept. */
export class TlsCertificateError extends MachineError {}

export async function dockerPing(ep: DockerEndpoint, timeoutMs = 5_000, signal?: AbortSignal): Promise<boolean> {
  const res = await dockerRequest(ep, 'GET', '/_ping', { timeoutMs, signal });
  return res.status === 200 && res.body === 'OK';
}

export async function dockerVersion(ep: DockerEndpoint, timeoutMs = 10_000): Promise<DockerVersion> {
  const res = await dockerRequest(ep, 'GET', '/version', { timeoutMs });
  if (res.status !== 200) throw new Error(`GET /version answered ${res.status}: ${res.body.trim()}`);
  return JSON.parse(res.body) as DockerVersion;
}
