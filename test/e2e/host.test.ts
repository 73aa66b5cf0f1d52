import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contextId } from '../../src/context/docker-contexts.js';
import { machine, ROOT, tempStore } from '../helpers/cli.js';
import { busyboxRootfs } from '../helpers/docker.js';
import { processesMentioning } from '../helpers/processes.js';
import { findNu, onPath } from '../helpers/shells.js';
import { Tmux } from '../helpers/tmux.js';
import { testIso } from '../helpers/vm.js';

/**
 * The Windows and macOS host experience, on one real VM (QEMU, software emulation, restricted
 * network): the Quickstart terminal creates "default" under tmux and its shell runs containers;
 * `machine env` is evaluated by each real shell, which is detected by itself; `machine use` writes a
 * context the real docker CLI uses; doctor judges the running machine; a second Quickstart starts
 * the stopped machine without regenerating anything; rm removes the context. Every docker CLI run
 * has its own DOCKER_CONFIG.
 */
describe('host experience on a real VM', () => {
  const BIN = path.join(ROOT, 'bin');
  let store: string;
  let tmp: string;
  /** The docker config quickstart activates its context in (as a user's ~/.docker). */
  let userDocker: string;
  let tar: string;
  let base: Record<string, string>;
  const timings: Record<string, number[]> = {};

  const time = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    try {
      return await fn();
    } finally {
      (timings[what] ??= []).push(Math.round(performance.now() - t0));
    }
  };
  const docker = (config: string, args: string[], env: Record<string, string> = {}) =>
    execa('docker', args, { env: { ...base, DOCKER_CONFIG: config, ...env }, reject: false, stdin: 'ignore', timeout: 120_000 });

  beforeAll(async () => {
    store = await tempStore('host-e2e-');
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'host-e2e-tmp-'));
    userDocker = path.join(tmp, 'user-docker');
    tar = path.join(tmp, 'busybox.tar');
    await fs.writeFile(tar, await busyboxRootfs());
    await fs.mkdir(path.join(tmp, 'home'));
    base = {
      PATH: `${BIN}:${process.env.PATH}`,
      HOME: path.join(tmp, 'home'),
      MACHINE_STORAGE_PATH: store,
      MACHINE_DRIVER: 'qemu',
      MACHINE_BOOT2DOCKER_URL: await testIso(),
      QEMU_NETWORK: 'restricted',
      QEMU_ACCEL: 'tcg',
      DOCKER_HOST: '',
      DOCKER_CONTEXT: '',
      DOCKER_CERT_PATH: '',
      DOCKER_TLS_VERIFY: '',
      DOCKER_MACHINE_NAME: '',
      LANG: 'C.UTF-8',
    };
  });

  afterAll(async () => {
    await machine(store, ['rm', '-f', 'default'], { env: { DOCKER_CONFIG: userDocker } });
    for (const pid of await processesMentioning(store)) process.kill(pid, 'SIGKILL');
    await fs.rm(store, { recursive: true, force: true });
    await fs.rm(tmp, { recursive: true, force: true });
    console.log('timings (ms):', JSON.stringify(timings));
  });

  it('a Quickstart that fails says in which step, in one line with the fix, and keeps the window open', async () => {
    const empty = await tempStore('host-e2e-fail-');
    const t = await Tmux.start(path.join(BIN, 'quickstart'), {
      env: { ...base, MACHINE_STORAGE_PATH: empty, MACHINE_BOOT2DOCKER_URL: '/nonexistent/b2d.iso', DOCKER_CONFIG: path.join(tmp, 'fail') },
    });
    try {
      const screen = await t.waitFor(/Press Enter to continue\.\.\./, 60_000);
      expect(screen).toMatch(/The boot2docker ISO \/nonexistent\/b2d\.iso does not exist: check the --boot2docker-url path/);
      expect(screen).toContain('Looks like something went wrong in step ´Checking machine default´... Press Enter to continue...');
      expect(await t.exited()).toBe(false);
      await t.keys('Enter');
      for (let i = 0; i < 50 && !(await t.exited()); i++) await new Promise((r) => setTimeout(r, 100));
      expect(await t.exited()).toBe(true);
      expect(await fs.readdir(path.join(empty, 'machines')).catch(() => [])).toEqual([]);
    } finally {
      await t.kill();
      await fs.rm(empty, { recursive: true, force: true });
    }
  }, 90_000);

  it('the Quickstart terminal creates "default", shows the whale, and its shell (the user\'s zsh) runs containers', async () => {
    const zdot = path.join(tmp, 'zdot');
    await fs.mkdir(zdot);
    await fs.writeFile(path.join(zdot, '.zshrc'), "PROMPT='qs%# '\n");
    const t = await Tmux.start(path.join(BIN, 'quickstart'), {
      env: { ...base, DOCKER_CONFIG: userDocker, SHELL: onPath('zsh') ?? '/bin/bash', ZDOTDIR: zdot },
      width: 200,
      height: 60,
    });
    try {
      const started = Date.now();
      const screen = await t.waitFor(/Start interactive shell\s*\n(.*\n)*qs# /, 600_000);
      (timings.quickstartCreate ??= []).push(Date.now() - started);
      expect(screen).toContain('Creating machine "default" (qemu)');
      expect(screen).toContain('/"""""""""""""""""\\___/ ===');
      expect(screen).toMatch(/docker is configured to use the default machine with IP 127\.0\.0\.1\n/);
      expect(screen).toMatch(/Docker daemon: tcp:\/\/127\.0\.0\.1:\d+ \(TLS; certificates in .*machines\/default\)/);
      expect(screen).toContain('Every terminal\'s docker uses it too (docker context "machine-default"; undo with: machine use --unset)');

      await t.send('echo "shell=$ZSH_NAME host=$DOCKER_HOST verify=$DOCKER_TLS_VERIFY"');
      await t.waitFor(/^shell=zsh host=tcp:\/\/127\.0\.0\.1:\d+ verify=1$/m, 10_000);
      // `machine` is still on PATH in the opened shell (no login profile reset it), and sees the env.
      await t.send("machine ls --format '{{.Name}} active={{.Active}} {{.State}}'");
      await t.waitFor(/^default active=\* Running$/m, 30_000);
      await t.send(`docker import ${tar} qs/busybox:1 >/dev/null && docker run --rm qs/busybox:1 sh -c 'echo $((6*7)) quickstart-ok'`);
      await t.waitFor(/^42 quickstart-ok$/m, 180_000);
      await t.send('exit');
      for (let i = 0; i < 50 && !(await t.exited()); i++) await new Promise((r) => setTimeout(r, 100));
      expect(await t.exited()).toBe(true);
    } finally {
      await t.kill();
    }
    // Created with `machine create`'s defaults and variables, as the CLI would have read them.
    const config = JSON.parse(await fs.readFile(path.join(store, 'machines', 'default', 'config.json'), 'utf8'));
    expect(config.Driver).toMatchObject({ Network: 'restricted', Accel: 'tcg', Memory: 1024 });
    // Created with --activate: the docker CLI of every terminal uses it now.
    expect(JSON.parse(await fs.readFile(path.join(userDocker, 'config.json'), 'utf8')).currentContext).toBe('machine-default');
    const res = await docker(userDocker, ['version', '--format', '{{.Server.Os}}']);
    expect(res.stdout.trim(), res.stderr).toBe('linux');
  }, 900_000);

  // Each shell loads `machine env default` as its hint line says, with no --shell and a wrong
  // $SHELL: the parent-process detection picks the syntax. A fresh DOCKER_CONFIG (no context) makes
  // the docker CLI depend on the variables alone.
  const shells: [string, string | undefined, string[]][] = [
    ['bash', onPath('bash'), ['--norc', '--noprofile', '-c', "eval $(machine env default) && docker version --format '{{.Server.Os}}'"]],
    ['zsh', onPath('zsh'), ['-f', '-c', "eval $(machine env default) && docker version --format '{{.Server.Os}}'"]],
    ['fish', onPath('fish'), ['--no-config', '-c', "eval (machine env default); and docker version --format '{{.Server.Os}}'"]],
    ['tcsh', onPath('tcsh'), ['-f', '-c', "eval `machine env default` && docker version --format '{{.Server.Os}}'"]],
    [
      'nushell',
      findNu(),
      ['--no-config-file', '-c', "machine env default | from nuon | load-env; ^docker version --format '{{.Server.Os}}'"],
    ],
  ];
  for (const [name, bin, args] of shells) {
    it.skipIf(!bin)(
      `${name} evaluates machine env (detected, not told) and the docker CLI reaches the VM`,
      async () => {
        const config = await fs.mkdtemp(path.join(tmp, `docker-${name}-`));
        const res = await time(`env+docker in ${name}`, () =>
          execa(bin!, args, {
            env: { ...base, DOCKER_CONFIG: config, SHELL: '/bin/sh' },
            reject: false,
            stdin: 'ignore',
            timeout: 120_000,
          }),
        );
        expect(res.stdout.trim(), `${res.stderr}`).toBe('linux');
      },
      150_000,
    );
  }

  it('machine env: how long it takes', async () => {
    for (let i = 0; i < 5; i++) {
      const res = await time('machine env', () => machine(store, ['env', '--shell', 'bash', 'default']));
      expect(res.exitCode, String(res.all)).toBe(0);
    }
  }, 120_000);

  it('machine use writes a context the real docker CLI uses; ls and active see it; --unset goes back', async () => {
    const config = path.join(tmp, 'docker-use');
    const env = { ...base, DOCKER_CONFIG: config };
    const use = await time('machine use', () => machine(store, ['use', 'default'], { env }));
    expect(use.exitCode, String(use.all)).toBe(0);
    expect(String(use.stdout)).toMatch(/^Current context is now "machine-default" \(machine "default", tcp:\/\/127\.0\.0\.1:\d+\)$/);
    const id = contextId('machine-default');
    expect((await fs.stat(path.join(config, 'contexts', 'tls', id, 'docker', 'key.pem'))).mode & 0o777).toBe(0o600);

    expect((await docker(config, ['--context', 'machine-default', 'version', '--format', '{{.Server.Os}}'])).stdout.trim()).toBe('linux');
    expect((await docker(config, ['info', '--format', '{{.Name}}'])).stdout.trim()).toBe('default');
    expect((await docker(config, ['context', 'show'])).stdout.trim()).toBe('machine-default');
    expect(String((await machine(store, ['ls', '--format', '{{.Name}} {{.Active}}'], { env })).stdout).trim()).toBe('default *');
    expect(String((await machine(store, ['active'], { env })).stdout).trim()).toBe('default');

    const shadowed = await machine(store, ['use', 'default'], { env: { ...env, DOCKER_HOST: 'tcp://127.0.0.1:1' } });
    expect(String(shadowed.stderr)).toMatch(
      /^DOCKER_HOST is set in this shell \(tcp:\/\/127\.0\.0\.1:1\) and the docker CLI uses it instead/,
    );

    const unset = await machine(store, ['use', '--unset'], { env });
    expect(String(unset.stdout)).toBe('Current context is now "default" (was "machine-default")');
    expect((await docker(config, ['context', 'show'])).stdout.trim()).toBe('default');
    const none = await machine(store, ['active'], { env });
    expect([none.exitCode, String(none.stderr).trim()]).toEqual([1, 'No active host found']);
  }, 120_000);

  it('doctor judges the running machine: certificates, API versions, clock, ports, where docker points', async () => {
    const res = await time('machine doctor', () =>
      machine(store, ['doctor', '--format', 'json'], { env: { ...base, DOCKER_CONFIG: userDocker } }),
    );
    const report = JSON.parse(String(res.stdout));
    const of = (id: string) =>
      report.checks.find((c: { id: string; machine?: string }) => c.id === id && (c.machine === 'default' || id === 'target'));
    expect(of('machine')).toMatchObject({ status: 'ok', message: 'running (qemu)' });
    expect(of('certs')).toMatchObject({
      status: 'ok',
      message: expect.stringMatching(/^valid for 127\.0\.0\.1, the address in use \(it names localhost, 127\.0\.0\.1, default, 10\.0\.2\.15\)/),
    });
    expect(of('docker-api')).toMatchObject({ status: 'ok', details: { daemon: expect.stringMatching(/^1\.\d+$/) } });
    expect(['ok', 'warn']).toContain(of('clock').status);
    expect(Math.abs(of('clock').details.skewSeconds)).toBeLessThan(300);
    expect(of('ports')).toMatchObject({ status: 'ok', message: expect.stringMatching(/forwarded to the running VM$/) });
    expect(of('target')).toMatchObject({
      status: 'ok',
      message: expect.stringContaining('"machine-default" (machine use) is machine "default"'),
    });
    expect(report.summary.fail, JSON.stringify(report.checks.filter((c: { status: string }) => c.status === 'fail'))).toBe(0);
    expect(res.exitCode).toBe(0);
  }, 120_000);

  it('a second Quickstart starts the stopped machine without regenerating anything, and runs a command', async () => {
    const serverPem = path.join(store, 'machines', 'default', 'server.pem');
    const before = await fs.readFile(serverPem, 'utf8');
    const profile = async () => String((await machine(store, ['ssh', 'default', '--', 'cat /var/lib/boot2docker/profile'])).stdout);
    const profileBefore = await profile();
    expect(profileBefore).toContain('DOCKER_TLS');
    expect((await machine(store, ['stop', 'default'])).exitCode).toBe(0);

    const res = await time('quickstart start', () =>
      execa(path.join(BIN, 'quickstart'), ['docker', 'run', '--rm', 'qs/busybox:1', 'echo', 'again-ok'], {
        env: { ...base, CI: '1', DOCKER_CONFIG: userDocker, SHELL: '/bin/bash' },
        reject: false,
        stdin: 'ignore',
        all: true,
        timeout: 600_000,
      }),
    );
    expect(res.exitCode, res.all).toBe(0);
    expect(res.stdout).toContain('Starting machine "default" (Stopped)');
    expect(res.stdout).toContain('docker is configured to use the default machine with IP 127.0.0.1');
    expect(res.stdout).toContain('Every terminal\'s docker uses it too (docker context "machine-default"');
    expect(res.stdout).toMatch(/Start shell with command\nagain-ok$/);
    expect(res.all).not.toMatch(/Regenerat|Issued a server certificate/);
    expect(await fs.readFile(serverPem, 'utf8')).toBe(before);
    expect(await profile()).toBe(profileBefore);
  }, 700_000);

  it('rm removes the machine and the context it made current', async () => {
    const res = await machine(store, ['rm', '-f', 'default'], { env: { DOCKER_CONFIG: userDocker } });
    expect(res.exitCode, String(res.all)).toBe(0);
    expect(String(res.stdout)).toMatch(/Successfully removed default\nRemoved docker context "machine-default"$/);
    expect(JSON.parse(await fs.readFile(path.join(userDocker, 'config.json'), 'utf8')).currentContext).toBeUndefined();
    expect(await fs.readdir(path.join(userDocker, 'contexts', 'meta'))).toEqual([]);
    expect((await docker(userDocker, ['context', 'show'])).stdout.trim()).toBe('default');
    expect(await processesMentioning(store)).toEqual([]);
  }, 120_000);
});
