import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readIfExists, writeFileAtomic } from '../core/files.js';
import { certificateStatus, createCertificate, generateRsaKey, issuedBy } from './x509.js';

/** Where the shared CA and client certificate live (AuthOptions of config.json). */
export interface ClientCertPaths {
  caCert: string;
  caKey: string;
  clientCert: string;
  clientKey: string;
}

export function certPathsIn(certsDir: string): ClientCertPaths {
  return {
    caCert: path.join(certsDir, 'ca.pem'),
    caKey: path.join(certsDir, 'ca-key.pem'),
    clientCert: path.join(certsDir, 'cert.pem'),
    clientKey: path.join(certsDir, 'key.pem'),
  };
}

/** The organisation docker-machine puts in certificates: the user name. */
export function certOrg(): string {
  let user = process.env.USER ?? process.env.USERNAME ?? '';
  if (!user) {
    try {
      user = os.userInfo().username;
    } catch {
      user = '';
    }
  }
  return user || 'unknown';
}

export interface ClientCerts {
  caCertPem: string;
  caKeyPem: string;
  clientCertPem: string;
  clientKeyPem: string;
  /** What was created, for the user ("Creating CA: <path>"). */
  created: string[];
}

/**
 * Make sure the shared CA and client certificate exist, are valid for at least 30 more days and
 * belong together; create or renew what is missing. `force` renews both (regenerate-certs
 * --client-certs; docker-machine's flag did not actually force).
 */
export async function ensureClientCerts(paths: ClientCertPaths, opts: { force?: boolean } = {}): Promise<ClientCerts> {
  await fs.mkdir(path.dirname(paths.caCert), { recursive: true, mode: 0o700 });
  await fs.mkdir(path.dirname(paths.clientCert), { recursive: true, mode: 0o700 });
  const created: string[] = [];
  const org = certOrg();

  let caCertPem = await readIfExists(paths.caCert);
  let caKeyPem = await readIfExists(paths.caKey);
  const caUsable = caCertPem && caKeyPem && !opts.force && !certificateStatus(caCertPem).expiresSoon;
  // A new CA means a new client certificate too: generate both keys at once (key generation runs
  // on libuv's thread pool, so this halves the wait on a first run).
  const newClientKey = caUsable ? undefined : generateRsaKey();
  newClientKey?.catch(() => undefined);
  if (!caUsable) {
    // Keep an existing CA key when only the certificate is missing (docker-machine refused here).
    if (!caKeyPem || opts.force || caCertPem) caKeyPem = await generateRsaKey();
    caCertPem = createCertificate({ kind: 'ca', org, keyPem: caKeyPem });
    await writeFileAtomic(paths.caKey, caKeyPem, 0o600);
    await writeFileAtomic(paths.caCert, caCertPem, 0o644);
    created.push(`Creating CA: ${paths.caCert}`);
  }

  let clientCertPem = await readIfExists(paths.clientCert);
  let clientKeyPem = await readIfExists(paths.clientKey);
  const clientUsable =
    caUsable && clientCertPem && clientKeyPem && !certificateStatus(clientCertPem).expiresSoon && issuedBy(clientCertPem, caCertPem!);
  if (!clientUsable) {
    clientKeyPem = await (newClientKey ?? generateRsaKey());
    clientCertPem = createCertificate({
      kind: 'client',
      org: `${org}.<bootstrap>`,
      keyPem: clientKeyPem,
      ca: { certPem: caCertPem!, keyPem: caKeyPem! },
    });
    await writeFileAtomic(paths.clientKey, clientKeyPem, 0o600);
    await writeFileAtomic(paths.clientCert, clientCertPem, 0o644);
    created.push(`Creating client certificate: ${paths.clientCert}`);
  }
  return { caCertPem: caCertPem!, caKeyPem: caKeyPem!, clientCertPem: clientCertPem!, clientKeyPem: clientKeyPem!, created };
}
