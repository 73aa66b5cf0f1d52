import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { certPathsIn, ensureClientCerts } from '../../src/certs/bootstrap.js';
import { ensureServerCert, machineCertPaths } from '../../src/certs/server.js';
import { certCovers, certificateHosts, certificateStatus, issuedBy, validSan } from '../../src/certs/x509.js';
import { fixture } from '../helpers/fixtures.js';

let root: string;
beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'certs-test-'));
});
afterAll(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

const openssl = (...args: string[]) => execFileSync('openssl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const mode = async (p: string) => (await fs.stat(p)).mode & 0o777;

describe('certificates, checked with the openssl CLI', () => {
  it('bootstraps a CA and a client certificate like docker-machine', async () => {
    const paths = certPathsIn(path.join(root, 'certs'));
    const certs = await ensureClientCerts(paths);
    expect(certs.created).toEqual([`Creating CA: ${paths.caCert}`, `Creating client certificate: ${paths.clientCert}`]);
    expect(await mode(paths.caKey)).toBe(0o600);
    expect(await mode(paths.clientKey)).toBe(0o600);
    expect(await mode(path.join(root, 'certs'))).toBe(0o700);
    expect(await fs.readFile(paths.caKey, 'utf8')).toMatch(/^-----BEGIN RSA PRIVATE KEY-----/);

    const ca = openssl('x509', '-in', paths.caCert, '-noout', '-text');
    expect(ca).toMatch(/Public-Key: \(2048 bit\)/);
    expect(ca).toMatch(/Signature Algorithm: sha256WithRSAEncryption/);
    expect(ca).toMatch(/X509v3 Basic Constraints: critical\s+CA:TRUE/);
    expect(ca).toMatch(/X509v3 Key Usage: critical\s+Digital Signature, Key Encipherment, Key Agreement, Certificate Sign/);
    const client = openssl('x509', '-in', paths.clientCert, '-noout', '-text');
    expect(client).toMatch(/Subject: O = .+\.<bootstrap>/);
    expect(client).toMatch(/TLS Web Client Authentication/);
    expect(client).toMatch(/CA:FALSE/);
    expect(openssl('verify', '-CAfile', paths.caCert, '-purpose', 'sslclient', paths.clientCert)).toContain(': OK');
    // String types as Go writes them: Go (the docker CLI) rejects a PrintableString holding "<".
    expect(openssl('asn1parse', '-in', paths.clientCert)).toMatch(/UTF8STRING\s+:.+\.<bootstrap>/);
    expect(openssl('asn1parse', '-in', paths.caCert)).toMatch(/PRINTABLESTRING\s+:[\w.-]+\n/);

    // 1080 days from five minutes ago, truncated to the minute.
    const st = certificateStatus(await fs.readFile(paths.caCert, 'utf8'));
    expect(st.notBefore.getUTCSeconds()).toBe(0);
    expect(Date.now() - st.notBefore.getTime()).toBeGreaterThanOrEqual(4 * 60_000);
    expect(Math.round((st.notAfter.getTime() - st.notBefore.getTime()) / 86_400_000)).toBe(1080);

    const again = await ensureClientCerts(paths);
    expect(again.created).toEqual([]);
    expect(again.caCertPem).toBe(certs.caCertPem);
  });

  it('issues a server certificate covering every address, and reissues it only when one is missing', async () => {
    const client = await ensureClientCerts(certPathsIn(path.join(root, 'certs')));
    const dir = path.join(root, 'machines', 'dev');
    const paths = machineCertPaths(dir);
    const first = await ensureServerCert(paths, client, 'dev', ['localhost', '127.0.0.1', 'dev', '10.0.2.15']);
    expect(first.issued).toBe(true);
    const text = openssl('x509', '-in', paths.serverCert, '-noout', '-text');
    expect(text).toMatch(/DNS:localhost, IP Address:127\.0\.0\.1, DNS:dev, IP Address:10\.0\.2\.15/);
    expect(text).toMatch(/TLS Web Server Authentication/);
    expect(text).toMatch(/Subject: O = .+\.dev/);
    expect(openssl('verify', '-CAfile', path.join(root, 'certs/ca.pem'), '-purpose', 'sslserver', paths.serverCert)).toContain(': OK');
    expect(await mode(paths.serverKey)).toBe(0o600);
    for (const f of ['ca.pem', 'cert.pem', 'key.pem']) expect(await fs.readFile(path.join(dir, f), 'utf8')).toBeTruthy();
    expect(await mode(path.join(dir, 'key.pem'))).toBe(0o600);

    const same = await ensureServerCert(paths, client, 'dev', ['127.0.0.1', 'localhost']);
    expect(same.issued).toBe(false);
    const moved = await ensureServerCert(paths, client, 'dev', ['localhost', '127.0.0.1', 'dev', '192.168.99.101']);
    expect(moved.issued).toBe(true);
    expect(moved.reason).toBe('does not cover 192.168.99.101');
    expect(moved.keyPem).toBe(first.keyPem); // the key is kept; only the certificate changes
    expect(certificateHosts(moved.certPem)).toContain('192.168.99.101');
  });

  it('reissues the server certificate when the CA changes (regenerate-certs --client-certs)', async () => {
    const paths = certPathsIn(path.join(root, 'certs'));
    const dir = path.join(root, 'machines', 'dev');
    const before = await fs.readFile(path.join(dir, 'server.pem'), 'utf8');
    const client = await ensureClientCerts(paths, { force: true });
    expect(client.created).toHaveLength(2);
    expect(issuedBy(before, client.caCertPem)).toBe(false);
    const server = await ensureServerCert(machineCertPaths(dir), client, 'dev', ['localhost']);
    expect(server.issued).toBe(true);
    expect(server.reason).toBe('not signed by the current CA');
    expect(issuedBy(server.certPem, client.caCertPem)).toBe(true);
    expect(await fs.readFile(path.join(dir, 'ca.pem'), 'utf8')).toBe(client.caCertPem);
  });

  it('are accepted by the real docker CLI (it parses them before connecting)', async () => {
    const dir = path.join(root, 'machines', 'dev');
    const { execa } = await import('execa');
    const res = await execa('docker', ['version'], {
      reject: false,
      env: { DOCKER_HOST: 'tcp://127.0.0.1:9', DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: dir, DOCKER_CONFIG: dir, DOCKER_CONTEXT: '' },
    });
    expect(res.exitCode).not.toBe(0);
    expect(res.stderr).not.toMatch(/x509|tls info|certificate/i);
    expect(res.stderr).toMatch(/connect|refused/i);
  });

  it("reads docker-machine's own certificates", () => {
    const server = fixture('docker-machine/store-sample/machines/default/server.pem');
    const ca = fixture('docker-machine/store-sample/certs/ca.pem');
    expect(certificateHosts(server)).toEqual(['localhost', '192.168.99.100']);
    expect(issuedBy(server, ca)).toBe(true);
    expect(issuedBy(fixture('docker-machine/store-sample/certs/cert.pem'), ca)).toBe(true);
  });

  it('coverage is what a TLS client checks, not text: IDNA, wildcards, IP forms; a name-less docker-machine certificate is kept', async () => {
    const client = await ensureClientCerts(certPathsIn(path.join(root, 'certs')));
    const dir = path.join(root, 'machines', 'idn');
    const first = await ensureServerCert(machineCertPaths(dir), client, 'idn', ['localhost', '127.0.0.1', 'bücher.example', '*.dev.local']);
    expect(certificateHosts(first.certPem)).toEqual(['localhost', '127.0.0.1', 'xn--bcher-kva.example', '*.dev.local']);
    for (const host of ['bücher.example', 'xn--bcher-kva.example', 'BÜCHER.example', 'api.dev.local', '127.0.0.1', 'LOCALHOST'])
      expect(certCovers(first.certPem, host), host).toBe(true);
    for (const host of ['a.b.dev.local', 'dev.local', '127.0.0.2', 'example']) expect(certCovers(first.certPem, host), host).toBe(false);
    // Asked again with the same names in another spelling: nothing to re-issue (no daemon restart).
    const again = await ensureServerCert(machineCertPaths(dir), client, 'idn', ['LOCALHOST', 'bücher.example', 'x.dev.local']);
    expect(again.issued).toBe(false);
    // docker-machine's certificate lacks the machine's name; if what clients use is covered, it stays.
    const server = fixture('docker-machine/store-sample/machines/default/server.pem');
    expect(certCovers(server, '192.168.99.100')).toBe(true);
    expect(certCovers(server, 'default')).toBe(false);
  });

  it('only names and addresses go into a certificate', () => {
    for (const ok of ['docker.local', 'bücher.example', '*.dev.local', '10.0.0.1', '::1', 'a-b.c']) expect(validSan(ok), ok).toBe(true);
    for (const bad of ['a,b', 'a b', '', '-x.com', 'a..b', 'x/y', "a'b", '$(id)', 'a*.b']) expect(validSan(bad), bad).toBe(false);
  });
});
