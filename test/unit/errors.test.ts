import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MACHINE, machine, tempStore, writeMachineConfig } from '../helpers/cli.js';

/**
 * Every failure class of the trust issue: one line on stderr naming the problem and the fix, a
 * non-zero exit, and nothing lost. Real conditions where they can be made here (a read-only and a
 * full file system mounted for the test, another user's permissions), not mocked errors.
 */

const asRoot = process.getuid?.() === 0;
let dir: string;
const mounts: string[] = [];

beforeAll(async () => {
  dir = await tempStore('errors-');
});
afterAll(async () => {
  for (const m of mounts) await execa('umount', ['-l', m], { reject: false });
  await fs.rm(dir, { recursive: true, force: true });
});

/** The run's stderr must be exactly one line matching re, with a non-zero exit. */
function oneLine(res: { exitCode?: number; stderr: unknown }, re: RegExp): void {
  expect(res.exitCode, String(res.stderr)).not.toBe(0);
  const lines = String(res.stderr).trim().split('\n');
  expect(lines, String(res.stderr)).toHaveLength(1);
  expect(lines[0]).toMatch(re);
}

async function tmpfs(name: string, opts: string): Promise<string> {
  const at = path.join(dir, name);
  await fs.mkdir(at);
  await execa('mount', ['-t', 'tmpfs', '-o', opts, 'tmpfs', at]);
  mounts.push(at);
  return at;
}

describe('the store unusable', () => {
  it.runIf(asRoot)('read-only: create and rm fail naming the read-only file system; the machine is kept', async () => {
    const ro = await tmpfs('ro', 'size=4m,mode=0700');
    await writeMachineConfig(ro, 'kept', 'generic', { IPAddress: '127.0.0.1', SSHPort: 1 });
    await execa('mount', ['-o', 'remount,ro', ro]);
    oneLine(
      await machine(ro, ['create', '-d', 'generic', '--generic-ip-address', '127.0.0.1', 'new']),
      new RegExp(`^${ro}/machines is on a read-only file system: remount it read-write, or use another store`),
    );
    const rm = await machine(ro, ['rm', '-f', 'kept']);
    expect(rm.exitCode).toBe(1);
    expect(String(rm.stderr)).toMatch(/is on a read-only file system/);
    expect(JSON.parse(await fs.readFile(path.join(ro, 'machines/kept/config.json'), 'utf8')).Name).toBe('kept');
  });

  it.runIf(asRoot)('full: create fails naming the full disk and leaves no half-made machine', async () => {
    const full = await tmpfs('full', 'size=256k,mode=0700');
    await fs.mkdir(path.join(full, 'machines'));
    await execa('sh', ['-c', `dd if=/dev/zero of=${full}/filler bs=4k 2>/dev/null; true`]);
    const res = await machine(full, ['create', '-d', 'generic', '--generic-ip-address', '127.0.0.1', 'm']);
    oneLine(res, /No space left on the disk holding .*: free some space, or use another store/);
    expect(await fs.readdir(path.join(full, 'machines'))).toEqual([]);
  });

  it.runIf(asRoot)("another user's store: permission denied on it, with the fix", async () => {
    const store = path.join(dir, 'private');
    await writeMachineConfig(store, 'm', 'generic');
    await fs.chmod(store, 0o700);
    await fs.chmod(dir, 0o755);
    const res = await execa('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, MACHINE, 'ls'], {
      reject: false,
      env: { MACHINE_STORAGE_PATH: store, HOME: '/nonexistent', CI: '1' },
    });
    oneLine(res, new RegExp(`^Permission denied on ${store}/machines: check who owns it and its permissions \\(ls -ld`));
  });

  it('a file, an empty value, a kernel pseudo filesystem', async () => {
    const file = path.join(dir, 'afile');
    await fs.writeFile(file, 'x');
    oneLine(await machine(file, ['ls']), new RegExp(`^A part of ${file}/machines is a file, not a folder: check the path`));
    oneLine(await machine('', ['ls']), /^The storage path is empty \(MACHINE_STORAGE_PATH or --storage-path\)/);
    const proc = await machine('/proc/self', ['ls'], { timeout: 10_000 });
    oneLine(proc, /^The storage path \/proc\/self is inside a kernel pseudo filesystem: give a folder on a real disk/);
  });
});

describe('a broken machine', () => {
  it('config.json with a port as text, without AuthOptions: the field is named', async () => {
    const store = path.join(dir, 'configs');
    await writeMachineConfig(store, 'text', 'qemu', { SSHPort: '2222' });
    oneLine(
      await machine(store, ['status', 'text']),
      /^The config of machine "text" is invalid: Driver\.SSHPort is "2222", not a port number \(.*\): fix that field by hand or remove the machine with "machine rm -f text"$/,
    );
    const noAuth = await writeMachineConfig(store, 'noauth', 'qemu');
    const cfg = JSON.parse(await fs.readFile(path.join(noAuth, 'config.json'), 'utf8'));
    delete cfg.HostOptions.AuthOptions;
    await fs.writeFile(path.join(noAuth, 'config.json'), JSON.stringify(cfg));
    oneLine(await machine(store, ['url', 'noauth']), /^The config of machine "noauth" is invalid: HostOptions\.AuthOptions is missing/);
    await fs.writeFile(path.join(noAuth, 'config.json'), '{"ConfigVersion": 3, "Dri');
    oneLine(await machine(store, ['inspect', 'noauth']), /^The config of machine "noauth" is corrupt/);
    // rm -f still removes them: they are machine folders.
    expect((await machine(store, ['rm', '-f', 'text', 'noauth'])).exitCode).toBe(0);
  });

  it('an SSH key that is not a key', async () => {
    const store = path.join(dir, 'keys');
    const sshd = net.createServer((s) => s.end());
    await new Promise<void>((r) => sshd.listen(0, '127.0.0.1', r));
    try {
      const port = (sshd.address() as net.AddressInfo).port;
      const mdir = await writeMachineConfig(store, 'k', 'generic', { IPAddress: '127.0.0.1', SSHPort: port, EnginePort: 2376 });
      await fs.writeFile(path.join(mdir, 'id_ed25519'), 'not a key\n', { mode: 0o600 });
      oneLine(
        await machine(store, ['ssh', 'k', '--', 'true']),
        /^The SSH key of machine "k" \(.*id_ed25519\) is not a private key machine can use \(.*\): restore it from a backup, or remove the machine/,
      );
    } finally {
      sshd.close();
    }
  });

  it('a qemu.pid naming another program: shown Stopped, and kill or rm never touch that program', async () => {
    const store = path.join(dir, 'pids');
    const mdir = await writeMachineConfig(store, 'q', 'qemu', { DockerPort: 1, Shares: [] });
    await fs.writeFile(path.join(mdir, 'disk.raw'), '');
    const other = spawn('sleep', ['600'], { stdio: 'ignore' });
    try {
      await fs.writeFile(path.join(mdir, 'qemu.pid'), `${other.pid}\n`);
      expect(String((await machine(store, ['status', 'q'])).stdout).trim()).toBe('Stopped');
      const kill = await machine(store, ['kill', 'q']);
      expect(kill.exitCode).toBe(1);
      expect(String(kill.stderr).trim().split('\n').pop()).toBe('Machine "q" is already stopped.');
      expect((await machine(store, ['rm', '-f', 'q'])).exitCode).toBe(0);
      expect(other.exitCode).toBeNull();
      expect(() => process.kill(other.pid!, 0)).not.toThrow();
    } finally {
      other.kill('SIGKILL');
    }
  });
});

describe('bad input', () => {
  it('templates, timeouts, MACHINE_DEBUG, a prompt answered by end of input', async () => {
    const store = path.join(dir, 'input');
    await writeMachineConfig(store, 'm', 'generic', { IPAddress: '127.0.0.1', SSHPort: 1 });
    oneLine(
      await machine(store, ['ls', '--format', '{{.Name']),
      /^Template error: "\{\{\.Name" has an unclosed or unopened action: write every field as \{\{\.Field\}\}$/,
    );
    oneLine(await machine(store, ['inspect', '-f', '{{.Nope}}', 'm']), /^Template error: can't evaluate field Nope/);
    oneLine(await machine(store, ['ls', '-t', '-3']), /"-3" is not a timeout: give a number of seconds, at least 1/);
    oneLine(await machine(store, ['active', '-t', '0']), /"0" is not a timeout/);
    oneLine(
      await machine(store, ['ls'], { env: { MACHINE_DEBUG: 'banana' } }),
      /^MACHINE_DEBUG="banana" is not a debug setting: set it to 1/,
    );
    expect((await machine(store, ['ls', '-q'], { env: { MACHINE_DEBUG: '1' } })).exitCode).toBe(0);
    const regen = await machine(store, ['regenerate-certs', 'm'], { input: '', stdin: undefined });
    oneLine(regen, /^No answer to the question \(end of input\): pass -f to go ahead without asking$/);
  });
});

describe('an ISO that takes the well-known password', () => {
  it('inspect warns on stderr (stdout stays the JSON) and doctor warns with the fix; our ISO gets no warning', async () => {
    const store = path.join(dir, 'b2d');
    const content = path.join(dir, 'iso-content');
    await fs.mkdir(content, { recursive: true });
    await fs.writeFile(path.join(content, 'version'), '19.03.12');
    const cases = [
      { name: 'old', publisher: 'boot2docker', warned: true },
      { name: 'ours', publisher: 'machine-b2d', warned: false },
    ];
    for (const c of cases) {
      const mdir = await writeMachineConfig(store, c.name, 'qemu', { SSHPort: 1, DockerPort: 2, Shares: [] });
      await execa('xorriso', [
        '-as',
        'mkisofs',
        '-quiet',
        '-R',
        '-V',
        'b2d-v19.03.12',
        '-publisher',
        c.publisher,
        '-o',
        path.join(mdir, 'boot2docker.iso'),
        content,
      ]);
      const inspect = await machine(store, ['inspect', c.name]);
      expect(inspect.exitCode).toBe(0);
      expect(JSON.parse(String(inspect.stdout)).Name).toBe(c.name);
      if (c.warned) {
        expect(String(inspect.stderr).trim()).toBe(
          `Warning: machine "old": it boots b2d-v19.03.12, which accepts SSH logins with the well-known password "tcuser": any local user can log in to it and get root`,
        );
      } else expect(String(inspect.stderr)).toBe('');
    }
    const report = JSON.parse(String((await machine(store, ['doctor', '--format', 'json', 'old', 'ours'])).stdout));
    const password = report.checks.filter((x: { id: string }) => x.id === 'ssh-password');
    expect(password).toEqual([
      expect.objectContaining({ machine: 'old', status: 'warn', fix: expect.stringContaining("machine's own ISO") }),
    ]);
  }, 120_000);
});
