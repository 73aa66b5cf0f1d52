import { promises as fs } from 'node:fs';
import { execa } from 'execa';
import { MachineError } from '../core/errors.js';

const LINUX_BUNDLES = [
  '/etc/ssl/certs/ca-certificates.crt',
  '/etc/pki/tls/certs/ca-bundle.crt',
  '/etc/ssl/ca-bundle.pem',
  '/etc/ssl/cert.pem',
];

/**
 * The CA certificates of the host, for VMs behind a corporate TLS-inspecting proxy: the system
 * trust store ("system": the bundle on Linux, the keychains on macOS, the Root stores on Windows)
 * or a PEM file.
 */
export async function hostCaBundle(spec: string): Promise<string> {
  let pem: string;
  if (spec !== 'system') {
    pem = await fs.readFile(spec, 'utf8').catch(() => {
      throw new MachineError(`Cannot read the CA file ${spec}`, {
        fix: 'pass a PEM file to --import-host-ca, or no value for the system store',
      });
    });
  } else if (process.platform === 'darwin') {
    const res = await execa('security', [
      'find-certificate',
      '-a',
      '-p',
      '/Library/Keychains/System.keychain',
      '/System/Library/Keychains/SystemRootCertificates.keychain',
    ]);
    pem = res.stdout;
  } else if (process.platform === 'win32') {
    const script =
      "Get-ChildItem Cert:\\LocalMachine\\Root,Cert:\\CurrentUser\\Root | ForEach-Object { '-----BEGIN CERTIFICATE-----'; [Convert]::ToBase64String($_.RawData, 'InsertLineBreaks'); '-----END CERTIFICATE-----' }";
    pem = (await execa('powershell.exe', ['-NoProfile', '-Command', script])).stdout.replace(/\r/g, '');
  } else {
    const found = await Promise.all(LINUX_BUNDLES.map((f) => fs.readFile(f, 'utf8').catch(() => undefined)));
    pem = found.find(Boolean) ?? '';
  }
  const certs = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (!certs.length) throw new MachineError(`No CA certificate found in ${spec === 'system' ? 'the system trust store' : spec}`);
  return `${certs.join('\n')}\n`;
}
