import type { TarFile } from '../iso/userdata.js';

/** What provisioning would write, given to our ISO in advance (see src/iso/userdata.ts). */
export interface PreseedParts {
  hostname: string;
  profile: string;
  caCertPem: string;
  serverCertPem: string;
  serverKeyPem: string;
  /** OpenSSH private host key: the key sshd presents from the first boot, pinned by us. */
  hostKeyPrivate: string;
  /** Extra CA certificates (--import-host-ca), trusted from the first boot. */
  extraCaPem?: string;
}

/** The preseed archive's members, relative to /var/lib/boot2docker. */
export function preseedFiles(p: PreseedParts): TarFile[] {
  return [
    { path: 'profile', content: p.profile, mode: 0o644 },
    { path: 'ca.pem', content: p.caCertPem, mode: 0o644 },
    { path: 'server.pem', content: p.serverCertPem, mode: 0o644 },
    { path: 'server-key.pem', content: p.serverKeyPem, mode: 0o600 },
    { path: 'etc', mode: 0o755, dir: true },
    { path: 'etc/hostname', content: `${p.hostname}\n`, mode: 0o644 },
    { path: 'ssh', mode: 0o700, dir: true },
    { path: 'ssh/ssh_host_ed25519_key', content: p.hostKeyPrivate, mode: 0o600 },
    ...(p.extraCaPem
      ? [
          { path: 'certs', mode: 0o755, dir: true },
          { path: 'certs/machine-host-ca.pem', content: p.extraCaPem, mode: 0o644 },
        ]
      : []),
  ];
}
