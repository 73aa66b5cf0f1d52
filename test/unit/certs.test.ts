import { execFileSync } from 'node:child_process';
import { createHash, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { promises as fs } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { certPathsIn, ensureClientCerts } from '../../src/certs/bootstrap.js';
import * as der from '../../src/certs/der.js';
import { ensureServerCert, machineCertPaths } from '../../src/certs/server.js';
import {
  certCovers,
  certificateHosts,
  certificateStatus,
  createCertificate,
  generateRsaKey,
  issuedBy,
  validSan,
} from '../../src/certs/x509.js';
import { fixture } from '../helpers/fixtures.js';

let root: string;
beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'certs-test-'));
});
afterAll(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

const openssl = (...args: string[]) => execFileSync('openssl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const opensslIn = (input: string, ...args: string[]) =>
  execFileSync('openssl', args, { input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
const mode = async (p: string) => (await fs.stat(p)).mode & 0o777;

/** The fields of a certificate's TBSCertificate (version, serial, signature, issuer, validity, subject, key, extensions). */
const tbsFields = (pem: string) => der.children(der.children(der.read(new X509Certificate(pem).raw))[0]!);

/**
 * A certificate as hex, field by field, without what differs between two issues of the same
 * certificate: the serial, the public key, the key ids (their presence is kept).
 */
function shape(pem: string): Record<string, unknown> {
  const [version, serial, signature, issuer, validity, subject, spki, exts] = tbsFields(pem).map((f) => f.der.toString('hex'));
  const extensions = der.children(der.children(tbsFields(pem)[7]!)[0]!).map((e) => {
    const [id, ...rest] = der.children(e).map((f) => f.der.toString('hex'));
    return [id, ...(id === '0603551d0e' || id === '0603551d23' ? [...rest.slice(0, -1), 'key id'] : rest)];
  });
  return {
    version,
    serial: serial!.slice(0, 2),
    signature,
    issuer,
    validity,
    subject,
    publicKey: `${spki!.slice(0, 40)}…${spki!.length}`,
    extensionsTag: exts!.slice(0, 2),
    extensions,
  };
}

describe('certificates, checked with the openssl CLI', () => {
  it('bootstraps a CA and a client certificate like docker-machine', async () => {
    const paths = certPathsIn(path.join(root, 'certs'));
    const certs = await ensureClientCerts(paths);
    expect(certs.created).toEqual([`Creating CA: ${paths.caCert}`, `Creating client certificate: ${paths.clientCert}`]);
    expect(await mode(paths.caKey)).toBe(0o600);
    expect(await mode(paths.clientKey)).toBe(0o600);
    expect(await mode(path.join(root, 'certs'))).toBe(0o700);
    for (const key of [paths.caKey, paths.clientKey]) {
      expect(await fs.readFile(key, 'utf8')).toMatch(/^-----BEGIN RSA PRIVATE KEY-----\n/); // PKCS#1, as docker-machine
      expect(openssl('rsa', '-in', key, '-check', '-noout', '-text')).toMatch(/Private-Key: \(2048 bit, 2 primes\)[\s\S]*RSA key ok/);
    }

    const ca = openssl('x509', '-in', paths.caCert, '-noout', '-text');
    expect(ca).toMatch(/Public-Key: \(2048 bit\)/);
    expect(ca).toMatch(/Signature Algorithm: sha256WithRSAEncryption/);
    expect(ca).toMatch(/X509v3 Basic Constraints: critical\s+CA:TRUE/);
    expect(ca).toMatch(/X509v3 Key Usage: critical\s+Digital Signature, Key Encipherment, Key Agreement, Certificate Sign/);
    const client = openssl('x509', '-in', paths.clientCert, '-noout', '-text');
    expect(client).toMatch(/Subject: O = .+\.<bootstrap>/);
    expect(client).toMatch(/TLS Web Client Authentication/);
    expect(client).toMatch(/CA:FALSE/);
    // -x509_strict also wants the key identifiers (SKI in the CA, AKI in leaves).
    expect(openssl('verify', '-x509_strict', '-CAfile', paths.caCert, '-purpose', 'sslclient', paths.clientCert)).toContain(': OK');
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
    const ca = path.join(root, 'certs/ca.pem');
    expect(openssl('verify', '-x509_strict', '-CAfile', ca, '-purpose', 'sslserver', paths.serverCert)).toContain(': OK');
    expect(await mode(paths.serverKey)).toBe(0o600);
    expect(await fs.readFile(paths.serverKey, 'utf8')).toMatch(/^-----BEGIN RSA PRIVATE KEY-----\n/);
    expect(openssl('rsa', '-in', paths.serverKey, '-check', '-noout', '-text')).toMatch(
      /Private-Key: \(2048 bit, 2 primes\)[\s\S]*RSA key ok/,
    );
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

  it("are docker-machine's certificates field by field (all but the serial, the key and its ids)", async () => {
    // What docker-machine wrote for user alice at 10:21 on 2026-11-23, made again with other keys.
    const now = new Date('2026-11-23T10:21:30Z');
    const [caKey, clientKey, serverKey] = await Promise.all([generateRsaKey(), generateRsaKey(), generateRsaKey()]);
    const caPem = createCertificate({ kind: 'ca', org: 'alice', keyPem: caKey, now });
    const ca = { certPem: caPem, keyPem: caKey };
    const ours = {
      ca: caPem,
      client: createCertificate({ kind: 'client', org: 'alice.<bootstrap>', keyPem: clientKey, ca, now }),
      server: createCertificate({
        kind: 'server',
        org: 'alice.default',
        keyPem: serverKey,
        ca,
        hosts: ['localhost', '192.168.99.100'],
        now,
      }),
    };
    const theirs = {
      ca: fixture('docker-machine/store-sample/certs/ca.pem'),
      client: fixture('docker-machine/store-sample/certs/cert.pem'),
      server: fixture('docker-machine/store-sample/machines/default/server.pem'),
    };
    for (const kind of ['ca', 'client', 'server'] as const) expect(shape(ours[kind]), kind).toEqual(shape(theirs[kind]));

    // The leaves name their CA's key id, which is the SHA-1 of its public key, as Go computes it.
    const keyIds = (pem: string) => opensslIn(pem, 'x509', '-noout', '-ext', 'subjectKeyIdentifier,authorityKeyIdentifier');
    const caKeyId = /Subject Key Identifier:\s*\n\s*([0-9A-F:]{59})\n/.exec(keyIds(caPem))![1]!;
    const rsaPublicKey = execFileSync('openssl', ['rsa', '-RSAPublicKey_out', '-outform', 'DER'], {
      input: caKey,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    expect(caKeyId).toBe(createHash('sha1').update(rsaPublicKey).digest('hex').toUpperCase().match(/../g)!.join(':'));
    for (const leaf of [ours.client, ours.server]) expect(keyIds(leaf)).toContain(caKeyId);

    // Serials: 128 random bits, a positive INTEGER in its shortest form (Go refuses a leading zero byte).
    for (const pem of Object.values(ours)) {
      const serial = tbsFields(pem)[1]!.content;
      expect(serial.length).toBeLessThanOrEqual(17);
      expect(serial[0]! & 0x80).toBe(0);
      if (serial.length > 1) expect(serial[0] !== 0 || serial[1]! & 0x80).toBeTruthy();
    }
  });

  it('issue under a CA made elsewhere (--tls-ca-cert), v3 or v1: its subject is copied byte for byte', async () => {
    const dir = await fs.mkdtemp(path.join(root, 'ext-ca-'));
    const key = path.join(dir, 'ca-key.pem');
    await fs.writeFile(key, await generateRsaKey());
    const subj = '/C=DE/O=Corp GmbH/OU=IT/CN=Corp Root CA';
    const v3 = path.join(dir, 'v3.pem');
    openssl('req', '-x509', '-key', key, '-subj', subj, '-days', '30', '-out', v3);
    const csr = path.join(dir, 'ca.csr');
    openssl('req', '-new', '-key', key, '-subj', subj, '-out', csr);
    const v1 = path.join(dir, 'v1.pem');
    openssl('x509', '-req', '-in', csr, '-signkey', key, '-days', '30', '-out', v1);
    expect(openssl('x509', '-in', v1, '-noout', '-text')).toMatch(/Version: 1 /);

    const keyPem = await fs.readFile(key, 'utf8');
    for (const caFile of [v3, v1]) {
      const caPem = await fs.readFile(caFile, 'utf8');
      const leaf = createCertificate({
        kind: 'server',
        org: 'bob.m',
        keyPem: await generateRsaKey(),
        ca: { certPem: caPem, keyPem },
        hosts: ['m'],
      });
      const caFields = tbsFields(caPem);
      const subject = caFields[caFields[0]!.tag === der.TAG.context(0) ? 5 : 4]!;
      expect(tbsFields(leaf)[3]!.der.equals(subject.der), caFile).toBe(true);
      expect(issuedBy(leaf, caPem)).toBe(true);
      expect(opensslIn(leaf, 'verify', '-CAfile', caFile, '-purpose', 'sslserver')).toContain('OK');
      // An AKI only when the CA has a key id to name (openssl gives v3 CAs one).
      expect(opensslIn(leaf, 'x509', '-noout', '-text').includes('Authority Key Identifier'), caFile).toBe(caFile === v3);
    }
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'sec1', format: 'pem' });
    const caPem = await fs.readFile(v3, 'utf8');
    expect(() => createCertificate({ kind: 'client', org: 'x', keyPem, ca: { certPem: caPem, keyPem: ec } })).toThrow(/not an RSA key/);
  });

  it('a node:tls server and client made with them handshake on 127.0.0.1, each verifying the other', async () => {
    const client = await ensureClientCerts(certPathsIn(path.join(root, 'certs')));
    const server = await ensureServerCert(machineCertPaths(path.join(root, 'machines', 'tls')), client, 'tls', [
      'localhost',
      '127.0.0.1',
      '::1',
    ]);
    const srv = tls.createServer(
      { key: server.keyPem, cert: server.certPem, ca: client.caCertPem, requestCert: true, rejectUnauthorized: true },
      (s) => s.end(`${s.authorized} ${String((s.getPeerCertificate() as tls.PeerCertificate).subject.O)}`),
    );
    const refused: Error[] = [];
    srv.on('tlsClientError', (err) => refused.push(err));
    srv.listen(0, '127.0.0.1');
    await once(srv, 'listening');
    const { port } = srv.address() as AddressInfo;
    const talk = (opts: tls.ConnectionOptions) =>
      new Promise<string>((resolve, reject) => {
        const sock = tls.connect({ host: '127.0.0.1', port, ca: client.caCertPem, ...opts });
        let got = '';
        sock.on('data', (d: Buffer) => (got += d.toString()));
        sock.on('end', () => resolve(got));
        sock.on('error', reject);
      });
    try {
      expect(await talk({ key: client.clientKeyPem, cert: client.clientCertPem })).toMatch(/^true .+\.<bootstrap>$/);
      // Without a client certificate the daemon's side refuses (TLS 1.3 reports it after the handshake).
      await expect(talk({})).rejects.toThrow();
      expect(refused[0]?.message).toMatch(/certificate/i);
      // A server certificate for other names is refused by the client (docker's "valid for X, not Y").
      await expect(
        talk({
          key: client.clientKeyPem,
          cert: client.clientCertPem,
          servername: 'elsewhere',
          checkServerIdentity: tls.checkServerIdentity,
        }),
      ).rejects.toThrow(/not in the cert's altnames|does not match/i);
    } finally {
      srv.close();
    }
  });

  it('DER as X.509 needs it: shortest positive INTEGERs, UTCTime until 2049, named bits without trailing zeros', () => {
    const hex = (b: Buffer) => b.toString('hex');
    expect(hex(der.unsigned(Buffer.from([0, 0, 0x7f])))).toBe('02017f');
    expect(hex(der.unsigned(Buffer.from([0, 0x80])))).toBe('02020080');
    expect(hex(der.unsigned(Buffer.from([0x80, 1])))).toBe('0203008001');
    expect(hex(der.unsigned(Buffer.from([0])))).toBe('020100');
    expect(der.time(new Date('2049-12-31T23:59:59Z')).toString('latin1')).toBe('\x17\x0d491231235959Z');
    expect(der.time(new Date('2050-01-01T00:00:00Z')).toString('latin1')).toBe('\x18\x0f20500101000000Z');
    expect(hex(der.namedBits([0]))).toBe('03020780'); // digitalSignature
    expect(hex(der.namedBits([0, 2, 4, 5]))).toBe('030202ac'); // + keyEncipherment, keyAgreement, keyCertSign
    expect(hex(der.namedBits([8]))).toBe('0303070080'); // decipherOnly: a second byte
    expect(hex(der.oid('1.2.840.113549.1.1.11'))).toBe('06092a864886f70d01010b');
    const long = der.tlv(0x04, Buffer.alloc(300));
    expect(hex(long.subarray(0, 4))).toBe('0482012c');
    expect(der.read(long).content.length).toBe(300);
    for (const cut of [100, 3, 1]) expect(() => der.read(long.subarray(0, cut)), `${cut}`).toThrow(/truncated/);
  });

  it('IPv6 addresses, mapped IPv4 ones too, go in as 16 bytes', async () => {
    const client = await ensureClientCerts(certPathsIn(path.join(root, 'certs')));
    const hosts = ['::1', 'fe80::1:2', '2001:db8::ff00:42:8329', '::ffff:10.0.0.1', '2001:db8:0:0:1:0:0:1'];
    const { certPem } = await ensureServerCert(machineCertPaths(path.join(root, 'machines', 'v6')), client, 'v6', hosts);
    expect(opensslIn(certPem, 'x509', '-noout', '-ext', 'subjectAltName')).toContain(
      'IP Address:0:0:0:0:0:0:0:1, IP Address:FE80:0:0:0:0:0:1:2, IP Address:2001:DB8:0:0:0:FF00:42:8329, IP Address:0:0:0:0:0:FFFF:A00:1, IP Address:2001:DB8:0:0:1:0:0:1',
    );
    for (const host of hosts) expect(certCovers(certPem, host), host).toBe(true);
    expect(certCovers(certPem, '::2')).toBe(false);
  });

  it('only names and addresses go into a certificate', () => {
    for (const ok of ['docker.local', 'bücher.example', '*.dev.local', '10.0.0.1', '::1', 'a-b.c']) expect(validSan(ok), ok).toBe(true);
    for (const bad of ['a,b', 'a b', '', '-x.com', 'a..b', 'x/y', "a'b", '$(id)', 'a*.b']) expect(validSan(bad), bad).toBe(false);
  });
});
