import { promises as fs } from 'node:fs';
import path from 'node:path';
import { readIfExists, writeFileAtomic } from '../core/files.js';
import { type ClientCerts, certOrg } from './bootstrap.js';
import { certCovers, certificateStatus, createCertificate, generateRsaKey, issuedBy, keyMatches } from './x509.js';

/** The per-machine TLS files: DOCKER_CERT_PATH = machine dir (ca.pem, cert.pem, key.pem) + server pair. */
export interface MachineCertPaths {
  dir: string;
  serverCert: string;
  serverKey: string;
}

export function machineCertPaths(machineDir: string, serverCert?: string, serverKey?: string): MachineCertPaths {
  return {
    dir: machineDir,
    serverCert: serverCert || path.join(machineDir, 'server.pem'),
    serverKey: serverKey || path.join(machineDir, 'server-key.pem'),
  };
}

export interface ServerCerts {
  certPem: string;
  keyPem: string;
  /** True when the certificate was (re)issued by this call: the daemon must be given it. */
  issued: boolean;
  /** Why it was issued, for the user. */
  reason?: string;
}

/**
 * Make sure the machine has a server certificate, signed by the current CA, valid for a while,
 * verifying for every host in `mustCover` (default: all of `hosts`). A certificate that does is
 * kept (no daemon restart needed), even if it lacks other names it would get today (a machine
 * docker-machine made has no name in it); otherwise it is re-issued for `hosts`, reusing the
 * server key. This is what fixes docker-machine's "certificate is valid for X, not Y" (#531).
 */
export async function ensureServerCert(
  paths: MachineCertPaths,
  client: ClientCerts,
  name: string,
  hosts: string[],
  opts: { force?: boolean; mustCover?: string[] } = {},
): Promise<ServerCerts> {
  await fs.mkdir(paths.dir, { recursive: true, mode: 0o700 });
  await copyClientCerts(paths.dir, client);
  let keyPem = await readIfExists(paths.serverKey);
  const certPem = await readIfExists(paths.serverCert);
  const reason = opts.force
    ? 'forced'
    : certPem && keyPem
      ? staleReason(certPem, keyPem, client.caCertPem, opts.mustCover ?? hosts)
      : 'missing';
  if (!reason && certPem && keyPem) return { certPem, keyPem, issued: false };

  if (!keyPem || opts.force) {
    keyPem = await generateRsaKey();
    await writeFileAtomic(paths.serverKey, keyPem, 0o600);
  }
  const issued = createCertificate({
    kind: 'server',
    org: `${certOrg()}.${name}`,
    keyPem,
    ca: { certPem: client.caCertPem, keyPem: client.caKeyPem },
    hosts: unique(hosts),
  });
  await writeFileAtomic(paths.serverCert, issued, 0o644);
  return { certPem: issued, keyPem, issued: true, reason: reason ?? undefined };
}

function staleReason(certPem: string, keyPem: string, caPem: string, hosts: string[]): string | undefined {
  const status = certificateStatus(certPem);
  if (status.expiresSoon) return `expires ${status.notAfter.toISOString()}`;
  if (!issuedBy(certPem, caPem)) return 'not signed by the current CA';
  if (!keyMatches(certPem, keyPem)) return 'does not match server-key.pem';
  const missing = hosts.filter((h) => !certCovers(certPem, h));
  if (missing.length) return `does not cover ${missing.join(', ')}`;
  return undefined;
}

/** Copies of the CA and client pair in the machine dir, which is DOCKER_CERT_PATH. */
async function copyClientCerts(dir: string, client: ClientCerts): Promise<void> {
  const files: [string, string, number][] = [
    ['ca.pem', client.caCertPem, 0o644],
    ['cert.pem', client.clientCertPem, 0o644],
    ['key.pem', client.clientKeyPem, 0o600],
  ];
  await Promise.all(
    files.map(async ([file, content, mode]) => {
      const target = path.join(dir, file);
      if ((await readIfExists(target)) !== content) await writeFileAtomic(target, content, mode);
    }),
  );
}

function unique(hosts: string[]): string[] {
  return [...new Set(hosts.filter(Boolean))];
}
