import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { machine, tempStore } from '../helpers/cli.js';

let store: string;
beforeAll(async () => {
  store = await tempStore();
});
afterAll(async () => {
  await fs.rm(store, { recursive: true, force: true });
});

const machines = async () => fs.readdir(path.join(store, 'machines')).catch(() => [] as string[]);

/** Bad input: one line on stderr naming the problem (and the fix), a non-zero exit, nothing made. */
async function rejects(args: string[], line: RegExp, code = 1) {
  const res = await machine(store, args);
  expect(res.exitCode, res.all).toBe(code);
  const err = String(res.stderr).trim();
  expect(err.split('\n'), err).toHaveLength(1);
  expect(err).toMatch(line);
  expect(await machines()).toEqual([]);
  return res;
}

describe('CLI input validation', () => {
  it('create without a name, with two names, with a bad name', async () => {
    await rejects(['create'], /^Error: No machine name specified: usage: machine create \[OPTIONS\] NAME$/);
    await rejects(['create', 'a', 'b'], /^Invalid command line\. Found extra arguments \[b\]$/);
    await rejects(['create', 'bad_name'], /^Invalid machine name "bad_name": Allowed hostname chars are: 0-9a-zA-Z \. -/);
  });

  it('unknown driver, from the flag and from MACHINE_DRIVER', async () => {
    await rejects(['create', '-d', 'nosuch', 'x'], /argument 'nosuch' is invalid\. Allowed choices are virtualbox, qemu, generic\./);
    const res = await machine(store, ['create', 'x'], { env: { MACHINE_DRIVER: 'nosuch' } });
    expect(res.exitCode).toBe(1);
    expect(String(res.stderr).trim()).toBe(
      "error: option '-d, --driver <driver>' value 'nosuch' from env 'MACHINE_DRIVER' is invalid. Allowed choices are virtualbox, qemu, generic.",
    );
  });

  it('bad sizes and counts', async () => {
    await rejects(
      ['create', '-d', 'qemu', '--qemu-memory', 'lots', 'x'],
      /'lots' is invalid\. "lots" is not a size: use MB \(2048\) or a unit \(2G, 512M\)/,
    );
    await rejects(
      ['create', '-d', 'qemu', '--qemu-memory', '100', 'x'],
      /^--qemu-memory 100 is too small: give the machine at least 256 MB/,
    );
    await rejects(['create', '-d', 'qemu', '--qemu-disk-size', '10M', 'x'], /^--qemu-disk-size 10 is too small/);
    await rejects(['create', '-d', 'qemu', '--qemu-cpu-count', 'two', 'x'], /"two" is not a whole number/);
    const res = await machine(store, ['create', '-d', 'qemu', 'x'], { env: { QEMU_MEMORY: '64' } });
    expect(String(res.stderr).trim()).toMatch(/^--qemu-memory 64 is too small/);
  });

  it('engine options and retired Swarm flags', async () => {
    await rejects(
      ['create', '-d', 'qemu', '--engine-opt', '--log-level=debug', 'x'],
      /^--engine-opt "--log-level=debug" is not a daemon flag: use the form flag=value/,
    );
    await rejects(['create', '-d', 'qemu', '--engine-env', 'NOEQUALS', 'x'], /^--engine-env "NOEQUALS" is not NAME=value/);
    await rejects(['create', '-d', 'qemu', '--swarm', 'x'], /^Classic Swarm \(--swarm\*\) is not supported/);
  });

  it('a missing or corrupt ISO fails before any VM exists and leaves nothing', async () => {
    await rejects(
      ['create', '-d', 'qemu', '--boot2docker-url', '/nonexistent/b2d.iso', 'x'],
      /The boot2docker ISO \/nonexistent\/b2d\.iso does not exist: check the --boot2docker-url path/,
    );
    const junk = path.join(store, 'junk.iso');
    await fs.writeFile(junk, Buffer.alloc(100_000, 1));
    await rejects(['create', '-d', 'qemu', '--boot2docker-url', `file://${junk}`, 'x'], /junk\.iso is corrupt or not an ISO/);
  });

  it("names machines that do not exist, with docker-machine's words", async () => {
    await rejects(
      ['status', 'nosuch'],
      /^Docker machine "nosuch" does not exist\. Use "machine ls" to list machines\. Use "machine create" to add a new one\.$/,
    );
    await rejects(['start', 'nosuch'], /^Docker machine "nosuch" does not exist/);
    await rejects(['ip'], /^Error: No machine name\(s\) specified and no "default" machine exists$/);
    await rejects(['env', '-u', 'x'], /^Error: Expected no machine name when the -u flag is present$/);
    await rejects(['status', 'a', 'b'], /^Error: Expected one machine name as an argument$/);
    await rejects(['frobnicate'], /^machine: 'frobnicate' is not a machine command\. See 'machine --help'\.$/);
  });

  it('rm of a missing machine: exit 1 (also with -f: nothing was removed), errors on stderr', async () => {
    const res = await machine(store, ['rm', '-y', 'nosuch']);
    expect(res.exitCode).toBe(1);
    expect(String(res.stdout)).toBe('About to remove nosuch\nWARNING: This action will delete both local reference and remote instance.');
    expect(String(res.stderr)).toBe(
      'Error removing host "nosuch": Docker machine "nosuch" does not exist. Use "machine ls" to list machines. Use "machine create" to add a new one.',
    );
    const forced = await machine(store, ['rm', '-f', 'nosuch']);
    expect(forced.exitCode).toBe(1);
    expect(String(forced.stderr)).toMatch(/Can't remove "nosuch"$/);
    const answeredNo = await machine(store, ['rm', 'nosuch'], { input: 'n\n', stdin: undefined });
    expect(answeredNo.exitCode).toBe(0);
    expect(String(answeredNo.stdout)).toMatch(/Are you sure\? \(y\/n\): $/);
    // No answer at all (a script's closed stdin) is not a "no": nothing happens, and it says so.
    const eof = await machine(store, ['rm', 'nosuch'], { input: '', stdin: undefined });
    expect(eof.exitCode).toBe(1);
    expect(String(eof.stderr).trim()).toBe('No answer to the question (end of input): pass -y to go ahead without asking');
  });

  it('a corrupt config.json: one line for the machine, a row in ls, and rm -f still removes it', async () => {
    const dir = path.join(store, 'machines', 'broken');
    await fs.mkdir(dir, { recursive: true });
    await fs.writeFile(path.join(dir, 'config.json'), '{ not json');
    const status = await machine(store, ['status', 'broken']);
    expect(status.exitCode).toBe(1);
    expect(String(status.stderr)).toMatch(
      /^The config of machine "broken" is corrupt \(.*\): fix the JSON by hand or remove the machine with "machine rm -f broken"$/,
    );
    const ls = await machine(store, ['ls']);
    expect(ls.exitCode).toBe(0);
    expect(String(ls.stdout)).toMatch(/^broken\s+-\s+not found\s+Error\s+Unknown\s+The config of machine "broken" is corrupt/m);
    expect(await fs.readFile(path.join(dir, 'config.json'), 'utf8')).toBe('{ not json'); // nothing lost
    const rm = await machine(store, ['rm', '-f', 'broken']);
    expect(rm.exitCode).toBe(0);
    expect(await machines()).toEqual([]);
  });

  it('every command has --help', async () => {
    const commands = [
      'create',
      'ls',
      'env',
      'ip',
      'url',
      'status',
      'inspect',
      'config',
      'ssh',
      'scp',
      'start',
      'stop',
      'restart',
      'kill',
      'rm',
      'regenerate-certs',
      'provision',
      'upgrade',
      'active',
      'version',
      'logs',
    ];
    const results = await Promise.all(commands.map((c) => machine(store, [c, '--help'])));
    results.forEach((res, i) => {
      expect(res.exitCode, commands[i]).toBe(0);
      expect(String(res.stdout), commands[i]).toMatch(/^Usage: machine /);
    });
    const create = String(results[0]!.stdout);
    expect(create).toContain('--qemu-memory <mb>');
    expect(create).toContain('env: QEMU_MEMORY');
    expect(create).toContain('--virtualbox-hostonly-cidr <cidr>');
  }, 60_000);

  it("docker-machine's global --tls-* flags (and MACHINE_TLS_*) choose where create keeps the CA and client pair", async () => {
    const tls = path.join(store, 'my-tls');
    const res = await machine(
      store,
      [
        '--tls-ca-cert',
        path.join(tls, 'ca.pem'),
        '--tls-ca-key',
        path.join(tls, 'ca-key.pem'),
        '--tls-client-cert',
        path.join(tls, 'cert.pem'),
        'create',
        '-d',
        'generic',
        '--generic-ip-address',
        '127.0.0.1',
        '--keep-on-failure',
        'tlsflags',
      ],
      { env: { MACHINE_TLS_CLIENT_KEY: path.join(tls, 'key.pem') } },
    );
    expect(res.exitCode).toBe(3); // nothing listens: the pre-create check fails, and the config is kept
    const cfg = JSON.parse(await fs.readFile(path.join(store, 'machines', 'tlsflags', 'config.json'), 'utf8'));
    expect(cfg.HostOptions.AuthOptions).toMatchObject({
      CaCertPath: path.join(tls, 'ca.pem'),
      CaPrivateKeyPath: path.join(tls, 'ca-key.pem'),
      ClientCertPath: path.join(tls, 'cert.pem'),
      ClientKeyPath: path.join(tls, 'key.pem'),
    });
    expect((await machine(store, ['rm', '-f', 'tlsflags'])).exitCode).toBe(0);
  });
});
