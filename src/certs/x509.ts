import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPair,
  type KeyObject,
  randomBytes,
  sign,
  X509Certificate,
} from 'node:crypto';
import net from 'node:net';
import { domainToASCII } from 'node:url';
import * as der from './der.js';
import { TAG } from './der.js';

/**
 * Certificates as docker-machine makes them (libmachine/cert): RSA-2048 keys in PKCS#1 PEM,
 * subject O=<org> only, valid from five minutes ago (truncated to the minute, to tolerate VM clock
 * skew) for 1080 days, sha256WithRSA. All native (node:crypto): keys, signatures; der.ts writes
 * the certificate around them.
 */

export const VALIDITY_DAYS = 1080;

export function generateRsaKey(bits = 2048): Promise<string> {
  return new Promise((resolve, reject) =>
    generateKeyPair(
      'rsa',
      { modulusLength: bits, publicKeyEncoding: { type: 'pkcs1', format: 'pem' }, privateKeyEncoding: { type: 'pkcs1', format: 'pem' } },
      (err, _pub, priv) => (err ? reject(err) : resolve(priv)),
    ),
  );
}

export type CertKind = 'ca' | 'client' | 'server';

export interface CertRequest {
  kind: CertKind;
  org: string;
  /** PEM of the key the certificate is for. */
  keyPem: string;
  /** Issuer; absent for the self-signed CA. */
  ca?: { certPem: string; keyPem: string };
  /** Server certificates: DNS names and IP addresses for the subjectAltName. */
  hosts?: string[];
  now?: Date;
}

/** A PEM certificate signed natively; its issuer's subject is copied from the CA certificate, byte for byte. */
export function createCertificate(req: CertRequest): string {
  const key = createPrivateKey(req.keyPem);
  const signer = req.ca ? createPrivateKey(req.ca.keyPem) : key;
  if (signer.asymmetricKeyType !== 'rsa') throw new Error('The CA key is not an RSA key');
  const subject = orgName(req.org);
  const issuer = req.ca ? issuerOf(req.ca.certPem) : { name: subject, keyId: undefined };
  const notBefore = new Date(req.now ?? Date.now());
  notBefore.setSeconds(0, 0);
  notBefore.setMinutes(notBefore.getMinutes() - 5);
  const notAfter = new Date(notBefore.getTime() + VALIDITY_DAYS * 86_400_000);
  const publicKey = createPublicKey(key);

  const tbs = der.sequence(
    der.tlv(TAG.context(0), der.unsigned(Buffer.from([2]))), // v3
    der.unsigned(randomBytes(16)), // docker-machine's serial: random in [0, 2^128)
    SHA256_WITH_RSA,
    issuer.name,
    der.sequence(der.time(notBefore), der.time(notAfter)),
    subject,
    publicKey.export({ type: 'spki', format: 'der' }),
    der.tlv(TAG.context(3), der.sequence(...extensions(req, publicKey, issuer.keyId))),
  );
  const cert = der.sequence(tbs, SHA256_WITH_RSA, der.bitString(sign('sha256', tbs, signer)));
  return new X509Certificate(cert).toString();
}

const OID = {
  organizationName: '2.5.4.10',
  sha256WithRSAEncryption: '1.2.840.113549.1.1.11',
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
};

const SHA256_WITH_RSA = der.sequence(der.oid(OID.sha256WithRSAEncryption), der.tlv(TAG.null));

/** KeyUsage bits (RFC 5280 4.2.1.3). */
const DIGITAL_SIGNATURE = 0;
const KEY_ENCIPHERMENT = 2;
const KEY_AGREEMENT = 4;
const KEY_CERT_SIGN = 5;

/**
 * The extensions Go's x509 (docker-machine) writes, in its order: key usages, basicConstraints,
 * the CA's subject key id (SHA-1 of its RSAPublicKey), the issuer's key id in leaves, the SANs.
 */
function extensions(req: CertRequest, publicKey: KeyObject, issuerKeyId: Buffer | undefined): Buffer[] {
  const ext = (id: string, critical: boolean, value: Buffer) =>
    der.sequence(der.oid(id), critical ? der.tlv(TAG.boolean, Buffer.from([0xff])) : Buffer.alloc(0), der.tlv(TAG.octetString, value));
  const keyUsage = (...bits: number[]) => ext(OID.keyUsage, true, der.namedBits(bits));
  const extKeyUsage = (usage: string) => ext(OID.extKeyUsage, false, der.sequence(der.oid(usage)));
  const basicConstraints = (ca: boolean) =>
    ext(OID.basicConstraints, true, der.sequence(ca ? der.tlv(TAG.boolean, Buffer.from([0xff])) : Buffer.alloc(0)));
  const authorityKeyId = issuerKeyId
    ? [ext(OID.authorityKeyIdentifier, false, der.sequence(der.tlv(TAG.contextPrimitive(0), issuerKeyId)))]
    : [];
  switch (req.kind) {
    case 'ca': {
      const keyId = createHash('sha1')
        .update(publicKey.export({ type: 'pkcs1', format: 'der' }))
        .digest();
      return [
        keyUsage(DIGITAL_SIGNATURE, KEY_ENCIPHERMENT, KEY_AGREEMENT, KEY_CERT_SIGN),
        basicConstraints(true),
        ext(OID.subjectKeyIdentifier, false, der.tlv(TAG.octetString, keyId)),
      ];
    }
    case 'client':
      return [keyUsage(DIGITAL_SIGNATURE), extKeyUsage(OID.clientAuth), basicConstraints(false), ...authorityKeyId];
    case 'server': {
      const names = (req.hosts ?? []).map((h) =>
        net.isIP(h) ? der.tlv(TAG.contextPrimitive(7), ipBytes(h)) : der.text(TAG.contextPrimitive(2), sanName(h)),
      );
      return [
        keyUsage(DIGITAL_SIGNATURE, KEY_ENCIPHERMENT, KEY_AGREEMENT),
        extKeyUsage(OID.serverAuth),
        basicConstraints(false),
        ...authorityKeyId,
        ext(OID.subjectAltName, false, der.sequence(...names)),
      ];
    }
  }
}

/**
 * The Name O=<org>, in Go's string type: PrintableString when it can hold the value, else
 * UTF8String ("<bootstrap>"); the docker CLI refuses a PrintableString holding "<".
 */
function orgName(org: string): Buffer {
  const type = /^[A-Za-z0-9 '()+,\-./:=?]*$/.test(org) ? TAG.printableString : TAG.utf8String;
  return der.sequence(der.tlv(TAG.set, der.sequence(der.oid(OID.organizationName), der.text(type, org))));
}

/** The CA's subject, byte for byte (whatever its fields), and its subject key id if it has one. */
function issuerOf(caPem: string): { name: Buffer; keyId: Buffer | undefined } {
  const [tbs] = der.children(der.read(new X509Certificate(caPem).raw));
  const fields = der.children(tbs!);
  if (fields[0]?.tag === TAG.context(0)) fields.shift(); // the version; absent in v1 certificates
  const name = fields[4]!.der; // serial, signature algorithm, issuer, validity, subject
  const exts = fields.find((f) => f.tag === TAG.context(3));
  const skiOid = der.oid(OID.subjectKeyIdentifier);
  for (const e of exts ? der.children(der.children(exts)[0]!) : []) {
    const [id, ...rest] = der.children(e);
    if (id!.der.equals(skiOid)) return { name, keyId: der.read(rest[rest.length - 1]!.content).content };
  }
  return { name, keyId: undefined };
}

/** An IP address as iPAddress holds it: 4 or 16 bytes. */
function ipBytes(ip: string): Buffer {
  if (net.isIPv4(ip)) return Buffer.from(ip.split('.').map(Number));
  let v6 = ip.replace(/%.*$/, ''); // no zone in a certificate
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(v6); // ::ffff:1.2.3.4
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    v6 = `${v6.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = v6.split('::') as [string, string | undefined];
  const groups = (s: string | undefined) => (s ? s.split(':') : []);
  const all = tail === undefined ? groups(head) : [...groups(head), ...groups(tail)];
  if (tail !== undefined) all.splice(groups(head).length, 0, ...Array<string>(8 - all.length).fill('0'));
  const out = Buffer.alloc(16);
  all.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), 2 * i));
  return out;
}

/** A DNS name as certificates hold it: ASCII, internationalised names in punycode ("bücher" → "xn--bcher-kva"). */
export function sanName(host: string): string {
  return domainToASCII(host.toLowerCase()) || host;
}

/**
 * Whether a name or address may go into a server certificate: an IP address, or a DNS name
 * (letters, digits, hyphens, dots; internationalised names allowed; a leading "*." wildcard).
 */
export function validSan(host: string): boolean {
  if (net.isIP(host)) return true;
  // Letters, digits, marks, dots and hyphens only: domainToASCII would cut "a/b" down to "a".
  if (!/^(\*\.)?[\p{L}\p{N}\p{M}.-]+$/u.test(host)) return false;
  const ascii = domainToASCII(host.replace(/^\*\./, 'x.'));
  return ascii !== '' && ascii.length <= 253 && ascii.split('.').every((l) => /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i.test(l));
}

/**
 * Does the certificate verify for this host the way a TLS client checks it (node's checkHost and
 * checkIP: wildcards, IDNA, IP forms), not by comparing text?
 */
export function certCovers(certPem: string, host: string): boolean {
  const cert = new X509Certificate(certPem);
  return net.isIP(host) ? cert.checkIP(host) !== undefined : cert.checkHost(sanName(host)) !== undefined;
}

/** The subjectAltName entries of a certificate, as plain strings ("localhost", "127.0.0.1"). */
export function certificateHosts(certPem: string): string[] {
  const san = new X509Certificate(certPem).subjectAltName ?? '';
  return san
    .split(/,\s*/)
    .filter(Boolean)
    .map((entry) => entry.replace(/^(DNS|IP Address):/, ''));
}

export interface CertificateStatus {
  notBefore: Date;
  notAfter: Date;
  expired: boolean;
  /** True when it expires within 30 days: time to renew. */
  expiresSoon: boolean;
}

export function certificateStatus(certPem: string, now = new Date()): CertificateStatus {
  const cert = new X509Certificate(certPem);
  const notBefore = new Date(cert.validFrom);
  const notAfter = new Date(cert.validTo);
  return {
    notBefore,
    notAfter,
    expired: now > notAfter || now < notBefore,
    expiresSoon: notAfter.getTime() - now.getTime() < 30 * 86_400_000,
  };
}

/** True when certPem was signed by the CA in caPem. */
export function issuedBy(certPem: string, caPem: string): boolean {
  const cert = new X509Certificate(certPem);
  const ca = new X509Certificate(caPem);
  return cert.checkIssued(ca) && cert.verify(ca.publicKey);
}

/** True when the key in keyPem belongs to the certificate. */
export function keyMatches(certPem: string, keyPem: string): boolean {
  return new X509Certificate(certPem).checkPrivateKey(createPrivateKey(keyPem));
}
