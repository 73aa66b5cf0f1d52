import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { certPathsIn, ensureClientCerts } from '../src/certs/bootstrap.js';
import { ensureServerCert, machineCertPaths } from '../src/certs/server.js';
import { createCertificate, generateRsaKey } from '../src/certs/x509.js';
import { median, timeAsync } from './lib.js';

// Key generation time varies a lot from run to run (a random search for primes): many runs.
const RUNS = 15;

/**
 * Certificate generation on a fresh store: the shared CA and client pair, one machine's server
 * certificate, and that certificate re-issued for a new address (its key kept: signing only).
 * One RSA-2048 key generation and one signed server certificate (no files) show where the time goes.
 */
export async function benchCerts(): Promise<Record<string, number>> {
  const caAndClient: number[] = [];
  const server: number[] = [];
  const total: number[] = [];
  const totalCpu: number[] = [];
  const reissue: number[] = [];
  const keygen: number[] = [];
  const sign: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bench-certs-'));
    try {
      const cpu = process.cpuUsage();
      const client = await timeAsync(() => ensureClientCerts(certPathsIn(path.join(dir, 'certs'))));
      const paths = machineCertPaths(path.join(dir, 'm'));
      const first = await timeAsync(() => ensureServerCert(paths, client.value, 'm', ['localhost', '127.0.0.1', 'm']));
      const used = process.cpuUsage(cpu);
      const moved = await timeAsync(() => ensureServerCert(paths, client.value, 'm', ['localhost', '127.0.0.2', 'm']));
      if (!moved.value.issued) throw new Error('bench: the server certificate was not re-issued for the new address');
      caAndClient.push(client.ms);
      server.push(first.ms);
      total.push(client.ms + first.ms);
      totalCpu.push((used.user + used.system) / 1000);
      reissue.push(moved.ms);
      keygen.push((await timeAsync(() => generateRsaKey())).ms);
      const ca = { certPem: client.value.caCertPem, keyPem: client.value.caKeyPem };
      const keyPem = moved.value.keyPem;
      sign.push((await timeAsync(async () => createCertificate({ kind: 'server', org: 'o.m', keyPem, ca, hosts: ['localhost'] }))).ms);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  }
  return {
    ca_and_client_ms: median(caAndClient),
    server_cert_ms: median(server),
    ca_client_server_total_ms: median(total),
    // CPU time (all threads): what the work costs, less swayed than wall time by a busy host.
    ca_client_server_total_cpu_ms: median(totalCpu),
    server_cert_reissue_ms: median(reissue),
    rsa2048_keygen_ms: median(keygen),
    server_cert_sign_only_ms: median(sign),
  };
}
