import { promises as fs } from 'node:fs';
import ssh2 from 'ssh2';
import { writeFileAtomic } from '../core/files.js';

export interface KeyPair {
  /** OpenSSH private key (readable by ssh2, OpenSSH and docker-machine's Go client). */
  privateKey: string;
  /** authorized_keys line: "ssh-ed25519 AAAA...". */
  publicKey: string;
}

/**
 * ed25519: tiny public half (fits boot2docker's 4096-byte userdata), instant to generate. ssh2's
 * generator writes about one key in 180 that ssh2 itself then refuses ("Malformed OpenSSH private
 * key": a public half one byte short), so each key is read back before it is used.
 */
export function generateKeyPair(): KeyPair {
  for (;;) {
    const pair = ssh2.utils.generateKeyPairSync('ed25519');
    const publicKey = pair.public.trim();
    const parsed = ssh2.utils.parseKey(pair.private);
    if (!(parsed instanceof Error) && `${parsed.type} ${parsed.getPublicSSH().toString('base64')}` === publicKey) {
      return { privateKey: pair.private, publicKey };
    }
  }
}

/** Write id_x (0600) and id_x.pub (0600, as docker-machine did) unless the key already exists. */
export async function ensureKeyPair(privatePath: string): Promise<KeyPair> {
  try {
    const privateKey = await fs.readFile(privatePath, 'utf8');
    const parsed = ssh2.utils.parseKey(privateKey);
    if (parsed instanceof Error) throw parsed;
    return { privateKey, publicKey: `${parsed.type} ${parsed.getPublicSSH().toString('base64')}` };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const pair = generateKeyPair();
  await writeFileAtomic(privatePath, pair.privateKey, 0o600);
  await writeFileAtomic(`${privatePath}.pub`, `${pair.publicKey}\n`, 0o600);
  return pair;
}

/** The "type base64" public line of an OpenSSH private key. */
export function publicLineOf(privateKey: string): string {
  const parsed = ssh2.utils.parseKey(privateKey);
  if (parsed instanceof Error) throw parsed;
  return `${parsed.type} ${parsed.getPublicSSH().toString('base64')}`;
}
