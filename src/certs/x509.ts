import { createPrivateKey, generateKeyPair, randomBytes, X509Certificate } from 'node:crypto';
import net from 'node:net';
import { domainToASCII } from 'node:url';
import forge from 'node-forge';

/**
 * Certificates as docker-machine makes them (libmachine/cert): RSA-2048 keys in PKCS#1 PEM,
 * subject O=<org> only, valid from five minutes ago (truncated to the minute, to tolerate VM clock
 * skew) for 1080 days, sha256WithRSA. Keys come from node:crypto (native, fast); forge only builds
 * and signs the certificate.
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

export function createCertificate(req: CertRequest): string {
  const key = forge.pki.privateKeyFromPem(req.keyPem) as forge.pki.rsa.PrivateKey;
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.setRsaPublicKey(key.n, key.e);
  const serial = randomBytes(16);
  serial[0]! &= 0x7f; // a positive INTEGER
  cert.serialNumber = serial.toString('hex');
  const notBefore = new Date(req.now ?? Date.now());
  notBefore.setSeconds(0, 0);
  notBefore.setMinutes(notBefore.getMinutes() - 5);
  cert.validity.notBefore = notBefore;
  cert.validity.notAfter = new Date(notBefore.getTime() + VALIDITY_DAYS * 86_400_000);
  // Go's choice of string type: PrintableString when it can hold the value, else UTF8String
  // ("<bootstrap>"); the docker CLI refuses a PrintableString holding "<".
  const printable = /^[A-Za-z0-9 '()+,\-./:=?]*$/.test(req.org);
  const subject = [
    {
      shortName: 'O',
      value: req.org,
      valueTagClass: (printable ? forge.asn1.Type.PRINTABLESTRING : forge.asn1.Type.UTF8) as unknown as forge.asn1.Class,
    },
  ];
  cert.setSubject(subject);

  let signer = key;
  if (req.ca) {
    const caCert = forge.pki.certificateFromPem(req.ca.certPem);
    cert.setIssuer(caCert.subject.attributes);
    signer = forge.pki.privateKeyFromPem(req.ca.keyPem) as forge.pki.rsa.PrivateKey;
  } else {
    cert.setIssuer(subject);
  }

  const extensions: object[] = [];
  switch (req.kind) {
    case 'ca':
      extensions.push(
        { name: 'keyUsage', critical: true, digitalSignature: true, keyEncipherment: true, keyAgreement: true, keyCertSign: true },
        { name: 'basicConstraints', critical: true, cA: true },
        { name: 'subjectKeyIdentifier' },
      );
      break;
    case 'client':
      extensions.push(
        { name: 'keyUsage', critical: true, digitalSignature: true },
        { name: 'extKeyUsage', clientAuth: true },
        { name: 'basicConstraints', critical: true, cA: false },
      );
      break;
    case 'server':
      extensions.push(
        { name: 'keyUsage', critical: true, digitalSignature: true, keyEncipherment: true, keyAgreement: true },
        { name: 'extKeyUsage', serverAuth: true },
        { name: 'basicConstraints', critical: true, cA: false },
        {
          name: 'subjectAltName',
          altNames: (req.hosts ?? []).map((h) => (net.isIP(h) ? { type: 7, ip: h } : { type: 2, value: sanName(h) })),
        },
      );
      break;
  }
  cert.setExtensions(extensions);
  cert.sign(signer, forge.md.sha256.create());
  return forge.pki.certificateToPem(cert);
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
