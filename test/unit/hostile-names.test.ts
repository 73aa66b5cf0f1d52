import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inBatches, machine, tempStore, writeMachineConfig } from '../helpers/cli.js';

/**
 * Names as a careless script or a hostile user types them, against every command that takes a
 * machine name, in a sandboxed HOME whose files must all survive: each is refused with a non-zero
 * exit and one clear line, and nothing under HOME changes (not the store's CA key, not another
 * machine, not ~/Documents, not what a symlink in machines/ points at).
 */

const TRAVERSAL = ['..', '.', '', 'a/../..', '/etc', '../../../Documents', 'good/..', 'evil'];

/** Every command with a machine name, as argv with NAME where the name goes. */
const COMMANDS: string[][] = [
  ['create', '-d', 'generic', '--generic-ip-address', '127.0.0.1', 'NAME'],
  ['env', 'NAME'],
  ['ip', 'NAME'],
  ['url', 'NAME'],
  ['status', 'NAME'],
  ['inspect', 'NAME'],
  ['config', 'NAME'],
  ['ssh', 'NAME', '--', 'true'],
  ['start', 'NAME'],
  ['stop', 'NAME'],
  ['restart', 'NAME'],
  ['kill', 'NAME'],
  ['rm', '-f', 'NAME'],
  ['rm', '-y', 'NAME'],
  ['regenerate-certs', '-f', 'NAME'],
  ['provision', 'NAME'],
  ['upgrade', 'NAME'],
  ['version', 'NAME'],
  ['logs', 'NAME'],
  ['ports', 'NAME'],
  ['use', 'NAME'],
  ['path', '-m', 'NAME', '.'],
  ['quickstart', 'NAME'],
  ['__port-forwarder', 'NAME'],
];

/** Every file under dir with the sha256 of its content (and symlinks with their target). */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (d: string): Promise<void> => {
    for (const e of await fs.readdir(d, { withFileTypes: true })) {
      const full = path.join(d, e.name);
      const rel = path.relative(dir, full);
      if (e.isSymbolicLink()) out[rel] = `-> ${await fs.readlink(full)}`;
      else if (e.isDirectory()) {
        out[`${rel}/`] = 'dir';
        await walk(full);
      } else
        out[rel] = createHash('sha256')
          .update(await fs.readFile(full))
          .digest('hex');
    }
  };
  await walk(dir);
  return out;
}

describe('hostile machine names against every command', () => {
  let home: string;
  let store: string;
  let before: Record<string, string>;

  beforeAll(async () => {
    home = await tempStore('hostile-home-');
    store = path.join(home, '.docker', 'machine');
    await fs.mkdir(path.join(home, 'Documents'), { recursive: true });
    await fs.writeFile(path.join(home, 'Documents', 'thesis.txt'), 'four years of work');
    // Bait: a folder outside the store that looks like a machine, reached by a symlink in machines/.
    await fs.writeFile(path.join(home, 'Documents', 'config.json'), '{}');
    await fs.mkdir(path.join(store, 'certs'), { recursive: true });
    await fs.writeFile(path.join(store, 'certs', 'ca-key.pem'), 'the CA key');
    await writeMachineConfig(store, 'good', 'generic', { IPAddress: '127.0.0.1', SSHPort: 1 });
    await fs.symlink(path.join(home, 'Documents'), path.join(store, 'machines', 'evil'));
    before = await snapshot(home);
  });
  afterAll(async () => {
    await fs.rm(home, { recursive: true, force: true });
  });

  it('refuses each name with a non-zero exit and one line, touching nothing', async () => {
    const runs = COMMANDS.flatMap((cmd) => TRAVERSAL.map((name) => cmd.map((a) => (a === 'NAME' ? name : a))));
    const failures: string[] = [];
    await inBatches(runs, 8, async (argv) => {
      const res = await machine(store, argv, { env: { HOME: home, DOCKER_CONFIG: path.join(home, '.docker') } });
      const errLines = String(res.stderr).trim().split('\n').filter(Boolean);
      // rm names what it could not remove in two lines under -f ("Error removing...", "Can't remove...").
      const maxLines = argv[0] === 'rm' ? 2 : 1;
      if (res.exitCode === 0 || errLines.length === 0 || errLines.length > maxLines) {
        failures.push(
          `machine ${argv.map((a) => JSON.stringify(a)).join(' ')}: exit ${res.exitCode}, stderr ${JSON.stringify(res.stderr)}`,
        );
      }
    });
    expect(failures).toEqual([]);
    expect(await snapshot(home)).toEqual(before);
  }, 300_000);

  it('names the problem: the name rule, or a symlink that is not a machine', async () => {
    const dotdot = await machine(store, ['rm', '-f', '..'], { env: { HOME: home } });
    expect(String(dotdot.stderr)).toMatch(/^Error removing host "\.\.": Invalid machine name "\.\.": Allowed hostname chars are/);
    const empty = await machine(store, ['inspect', ''], { env: { HOME: home } });
    expect(String(empty.stderr).trim()).toMatch(/^Invalid machine name "" \(an empty name\)/);
    const link = await machine(store, ['rm', '-f', 'evil'], { env: { HOME: home } });
    expect(String(link.stderr)).toContain(
      `${path.join(store, 'machines', 'evil')} is a symbolic link: it is not a machine, so machine leaves it alone`,
    );
    // An empty MACHINE_STORAGE_PATH must not make the current folder the store.
    const cwdStore = await machine('', ['rm', '-f', 'good'], { cwd: store, env: { HOME: home } });
    expect(cwdStore.exitCode).toBe(1);
    expect(String(cwdStore.stderr).trim()).toBe(
      'The storage path is empty (MACHINE_STORAGE_PATH or --storage-path): unset MACHINE_STORAGE_PATH to use ~/.docker/machine, or give a folder',
    );
    expect(await snapshot(home)).toEqual(before);
  });
});
