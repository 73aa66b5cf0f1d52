import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ssh2 from 'ssh2';
import { describe, expect, it } from 'vitest';
import { generateKeyPair } from '../../src/ssh/keys.js';

describe('SSH keys', () => {
  // ssh2's generator writes about one key in 180 that cannot be read back: 1000 keys would hit it.
  it('every generated key reads back, with the public half it was given', () => {
    for (let i = 0; i < 1000; i++) {
      const pair = generateKeyPair();
      const parsed = ssh2.utils.parseKey(pair.privateKey);
      expect(parsed instanceof Error ? parsed.message : `${parsed.type} ${parsed.getPublicSSH().toString('base64')}`).toBe(pair.publicKey);
    }
  });

  it("OpenSSH's ssh-keygen reads the private key and derives the same public key", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'keys-'));
    try {
      const pair = generateKeyPair();
      const file = path.join(dir, 'id_ed25519');
      writeFileSync(file, pair.privateKey, { mode: 0o600 });
      expect(execFileSync('ssh-keygen', ['-y', '-f', file], { encoding: 'utf8' }).trim()).toBe(pair.publicKey);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
