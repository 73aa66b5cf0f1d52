import { promises as fs } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { certificateHosts } from '../../src/certs/x509.js';
import { contextId } from '../../src/context/docker-contexts.js';
import { machine, ROOT, tempStore } from '../helpers/cli.js';
import { busyboxRootfs, DockerCli } from '../helpers/docker.js';
import { parseExports, processesMentioning } from '../helpers/processes.js';
import { findNu, onPath } from '../helpers/shells.js';
import { Tmux } from '../helpers/tmux.js';
import { testIso } from '../helpers/vm.js';

/**
 * Issue 3 and the Windows/macOS host experience, on two real VMs (QEMU, software emulation,
 * restricted network) in one store, so the read-only checks share one boot: the Quickstart
 * terminal creates "default" under tmux and its shell runs containers; then the lifecycle with the
 * real docker CLI (ls, env, ip/url/status/inspect/config/active, ssh and scp); `machine env` is
 * evaluated by each real shell, which is detected by itself; `machine use` writes a context the
 * real docker CLI uses; doctor judges the running machine; stop, start on a new port,
 * regenerate-certs; a second Quickstart starts the stopped machine without regenerating anything;
 * `machine create` makes a second machine side by side; rm removes both and the context, leaving
 * nothing behind. Every docker CLI run has its own DOCKER_CONFIG.
 */
describe('machine and the host experience on real VMs', () => {
  const BIN = path.join(ROOT, 'bin');
  let store: string;
  let iso: string;
  let tmp: string;
  /** The docker config quickstart activates its context in (as a user's ~/.docker). */
  let userDocker: string;
  let tar: string;
  let base: Record<string, string>;

  const env = async (name: string) => {
    const res = await machine(store, ['env', name], { env: { SHELL: '/bin/bash' } });
    expect(res.exitCode, String(res.all)).toBe(0);
    return parseExports(String(res.stdout));
  };
  const dockerFor = async (name: string) => DockerCli.forEnv(await env(name));
  const docker = (config: string, args: string[], extra: Record<string, string> = {}) =>
    execa('docker', args, { env: { ...base, DOCKER_CONFIG: config, ...extra }, reject: false, stdin: 'ignore', timeout: 120_000 });

  beforeAll(async () => {
    store = await tempStore('e2e-store-');
    iso = await testIso();
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
      MACHINE_BOOT2DOCKER_URL: iso,
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
    await machine(store, ['rm', '-f', 'default', 'dev'], { env: { DOCKER_CONFIG: userDocker } });
    for (const pid of await processesMentioning(store)) process.kill(pid, 'SIGKILL');
    await fs.rm(store, { recursive: true, force: true });
    await fs.rm(tmp, { recursive: true, force: true });
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
      const screen = await t.waitFor(/Start interactive shell\s*\n(.*\n)*qs# /, 600_000);
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

  it('ls shows it running with its Docker version; json for scripts', async () => {
    const ls = await machine(store, ['ls']);
    expect(String(ls.stdout)).toMatch(
      /^NAME\s+ACTIVE\s+DRIVER\s+STATE\s+URL\s+SWARM\s+DOCKER\s+ERRORS\ndefault\s+-\s+qemu\s+Running\s+tcp:\/\/127\.0\.0\.1:\d+\s+v28\.\d+\.\d+\S*\s*$/,
    );
    const json = JSON.parse(String((await machine(store, ['ls', '--format', 'json'])).stdout));
    expect(json[0]).toMatchObject({ Name: 'default', DriverName: 'qemu', State: 'Running', Error: '' });
  });

  it('env points the real docker CLI at it: version, info, and a container from an offline image', async () => {
    const vars = await env('default');
    expect(vars).toMatchObject({
      DOCKER_TLS_VERIFY: '1',
      DOCKER_MACHINE_NAME: 'default',
      DOCKER_CERT_PATH: path.join(store, 'machines', 'default'),
    });
    // --shell is obeyed over $SHELL.
    const told = await machine(store, ['env', '--shell', 'bash', 'default'], { env: { SHELL: '/usr/bin/fish' } });
    expect([told.exitCode, parseExports(String(told.stdout))]).toEqual([0, vars]);
    const docker = DockerCli.forEnv(vars);
    expect(await docker.ok(['version', '--format', '{{.Server.Version}}'])).toMatch(/^28\./);
    // a Toolbox-era client pinned to API 1.24 is still served
    const old = DockerCli.forEnv({ ...vars, DOCKER_API_VERSION: '1.24' });
    expect(await old.ok(['version', '--format', '{{.Client.APIVersion}} {{.Server.Version}}'])).toMatch(/^1\.24 28\./);
    expect(await docker.ok(['info', '--format', '{{.Name}} {{json .Labels}}'])).toMatch(/^default .*"provider=qemu"/);
    await docker.importBusybox();
    expect((await docker.ok(['run', '--rm', 'test/busybox:1', 'echo', 'hi from default'])).trim()).toBe('hi from default');
    // A shell evaluates the env output itself.
    const shell = await execa(
      'bash',
      ['-c', `eval "$(${path.resolve('bin/machine')} env default)" && docker version --format '{{.Server.Os}}'`],
      {
        env: { MACHINE_STORAGE_PATH: store, DOCKER_CONFIG: os.tmpdir(), SHELL: '/bin/bash' },
        reject: false,
      },
    );
    expect(shell.stdout.trim()).toBe('linux');
  }, 300_000);

  it('ip, url, status, inspect, config and active', async () => {
    const vars = await env('default');
    expect(String((await machine(store, ['ip', 'default'])).stdout).trim()).toBe('127.0.0.1');
    expect(String((await machine(store, ['url'])).stdout).trim()).toBe(vars.DOCKER_HOST);
    expect(String((await machine(store, ['status', 'default'])).stdout).trim()).toBe('Running');
    const inspect = JSON.parse(String((await machine(store, ['inspect', 'default'])).stdout));
    expect(inspect).toMatchObject({ ConfigVersion: 3, DriverName: 'qemu', Name: 'default' });
    expect(String((await machine(store, ['inspect', '-f', '{{.Driver.SSHUser}}', 'default'])).stdout).trim()).toBe('docker');
    const config = String((await machine(store, ['config', 'default'])).stdout);
    expect(config).toBe(
      `--tlsverify\n--tlscacert="${vars.DOCKER_CERT_PATH}/ca.pem"\n--tlscert="${vars.DOCKER_CERT_PATH}/cert.pem"\n--tlskey="${vars.DOCKER_CERT_PATH}/key.pem"\n-H=${vars.DOCKER_HOST}`,
    );
    expect(String((await machine(store, ['active'], { env: { DOCKER_HOST: vars.DOCKER_HOST! } })).stdout).trim()).toBe('default');
    const none = await machine(store, ['active'], { env: { DOCKER_HOST: '' } });
    expect([none.exitCode, String(none.stderr).trim()]).toEqual([1, 'No active host found']);
  });

  it('ssh runs commands with their exit code, and scp copies both ways (files and trees)', async () => {
    const echo = await machine(store, ['ssh', 'default', '--', 'echo', 'hello', '$(hostname)']);
    expect([echo.exitCode, String(echo.stdout)]).toEqual([0, 'hello default']);
    expect((await machine(store, ['ssh', 'default', '--', 'exit 3'])).exitCode).toBe(3);
    expect((await machine(store, ['ssh', 'default', 'sudo', 'true'])).exitCode).toBe(0);

    const local = await fs.mkdtemp(path.join(os.tmpdir(), 'scp-'));
    await fs.mkdir(path.join(local, 'tree', 'sub'), { recursive: true });
    await fs.writeFile(path.join(local, 'tree', 'a.txt'), 'A');
    await fs.writeFile(path.join(local, 'tree', 'sub', 'b.txt'), 'B'.repeat(100_000));
    await fs.writeFile(path.join(local, 'one.txt'), 'one');
    expect((await machine(store, ['scp', path.join(local, 'one.txt'), 'default:/tmp/one.txt'])).exitCode).toBe(0);
    expect((await machine(store, ['scp', '-r', path.join(local, 'tree'), 'default:/tmp/'])).exitCode).toBe(0);
    expect(String((await machine(store, ['ssh', 'default', '--', 'cat /tmp/one.txt; wc -c < /tmp/tree/sub/b.txt'])).stdout)).toBe(
      'one100000',
    );
    expect((await machine(store, ['scp', 'default:/tmp/one.txt', path.join(local, 'back.txt')])).exitCode).toBe(0);
    expect((await machine(store, ['scp', '-r', 'docker@default:/tmp/tree', path.join(local, 'back')])).exitCode).toBe(0);
    expect(await fs.readFile(path.join(local, 'back.txt'), 'utf8')).toBe('one');
    expect(await fs.readFile(path.join(local, 'back', 'sub', 'b.txt'), 'utf8')).toBe('B'.repeat(100_000));
    const dirNoR = await machine(store, ['scp', path.join(local, 'tree'), 'default:/tmp/x']);
    expect([dirNoR.exitCode, String(dirNoR.stderr).trim()]).toEqual([
      1,
      `${path.join(local, 'tree')}: is a directory: use -r to copy directories`,
    ]);
    await fs.rm(local, { recursive: true, force: true });
  }, 120_000);

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
        const res = await execa(bin!, args, {
          env: { ...base, DOCKER_CONFIG: config, SHELL: '/bin/sh' },
          reject: false,
          stdin: 'ignore',
          timeout: 120_000,
        });
        expect(res.stdout.trim(), `${res.stderr}`).toBe('linux');
      },
      150_000,
    );
  }

  it('machine use writes a context the real docker CLI uses; ls and active see it; --unset goes back', async () => {
    const config = path.join(tmp, 'docker-use');
    const useEnv = { ...base, DOCKER_CONFIG: config };
    const use = await machine(store, ['use', 'default'], { env: useEnv });
    expect(use.exitCode, String(use.all)).toBe(0);
    expect(String(use.stdout)).toMatch(/^Current context is now "machine-default" \(machine "default", tcp:\/\/127\.0\.0\.1:\d+\)$/);
    const id = contextId('machine-default');
    expect((await fs.stat(path.join(config, 'contexts', 'tls', id, 'docker', 'key.pem'))).mode & 0o777).toBe(0o600);

    expect((await docker(config, ['--context', 'machine-default', 'version', '--format', '{{.Server.Os}}'])).stdout.trim()).toBe('linux');
    expect((await docker(config, ['info', '--format', '{{.Name}}'])).stdout.trim()).toBe('default');
    expect((await docker(config, ['context', 'show'])).stdout.trim()).toBe('machine-default');
    expect(String((await machine(store, ['ls', '--format', '{{.Name}} {{.Active}}'], { env: useEnv })).stdout).trim()).toBe('default *');
    expect(String((await machine(store, ['active'], { env: useEnv })).stdout).trim()).toBe('default');

    const shadowed = await machine(store, ['use', 'default'], { env: { ...useEnv, DOCKER_HOST: 'tcp://127.0.0.1:1' } });
    expect(String(shadowed.stderr)).toMatch(
      /^DOCKER_HOST is set in this shell \(tcp:\/\/127\.0\.0\.1:1\) and the docker CLI uses it instead/,
    );

    const unset = await machine(store, ['use', '--unset'], { env: useEnv });
    expect(String(unset.stdout)).toBe('Current context is now "default" (was "machine-default")');
    expect((await docker(config, ['context', 'show'])).stdout.trim()).toBe('default');
    const none = await machine(store, ['active'], { env: useEnv });
    expect([none.exitCode, String(none.stderr).trim()]).toEqual([1, 'No active host found']);
  }, 120_000);

  it('doctor judges the running machine: certificates, API versions, clock, ports, where docker points', async () => {
    const res = await machine(store, ['doctor', '--format', 'json'], { env: { ...base, DOCKER_CONFIG: userDocker } });
    const report = JSON.parse(String(res.stdout));
    const of = (id: string) =>
      report.checks.find((c: { id: string; machine?: string }) => c.id === id && (c.machine === 'default' || id === 'target'));
    expect(of('machine')).toMatchObject({ status: 'ok', message: 'running (qemu)' });
    expect(of('certs')).toMatchObject({
      status: 'ok',
      message: expect.stringMatching(
        /^valid for 127\.0\.0\.1, the address in use \(it names localhost, 127\.0\.0\.1, default, 10\.0\.2\.15\)/,
      ),
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

  it('stops; commands that need it running say so', async () => {
    const stop = await machine(store, ['stop', 'default']);
    expect(stop.exitCode, String(stop.all)).toBe(0);
    // The result on stdout; the progress on stderr (stdout is not a terminal).
    expect(String(stop.stdout)).toBe('Machine "default" was stopped.');
    expect(String(stop.stderr)).toMatch(/✔ Stopping "default" \[\d+(\.\d)?s\]/);
    expect(String((await machine(store, ['status', 'default'])).stdout).trim()).toBe('Stopped');
    const again = await machine(store, ['stop', 'default']);
    expect([again.exitCode, String(again.stderr).trim().split('\n').pop()]).toEqual([1, 'Machine "default" is already stopped.']);
    const envStopped = await machine(store, ['env', 'default']);
    expect([envStopped.exitCode, String(envStopped.stderr).trim()]).toEqual([
      1,
      'Error checking TLS connection: Host is not running: start it with "machine start default"',
    ]);
    const sshStopped = await machine(store, ['ssh', 'default', '--', 'true']);
    expect(String(sshStopped.stderr).trim()).toMatch(/^Error: Cannot run SSH command: Host "default" is not running/);
    expect(await processesMentioning(path.join(store, 'machines', 'default'))).toEqual([]);
  }, 180_000);

  it('starts again on a new port when its Docker port was taken, with valid certificates', async () => {
    const before = JSON.parse(await fs.readFile(path.join(store, 'machines', 'default', 'config.json'), 'utf8'));
    const squatter = net.createServer().listen(before.Driver.DockerPort, '127.0.0.1');
    await new Promise((r) => squatter.once('listening', r));
    try {
      const start = await machine(store, ['start', 'default']);
      expect(start.exitCode, String(start.all)).toBe(0);
      expect(String(start.stdout)).toContain('Machine "default" was started.');
      expect(String(start.all)).toContain(`Port ${before.Driver.DockerPort} is in use`);
    } finally {
      squatter.close();
    }
    const vars = await env('default');
    expect(vars.DOCKER_HOST).not.toBe(`tcp://127.0.0.1:${before.Driver.DockerPort}`);
    const docker = DockerCli.forEnv(vars);
    expect((await docker.ok(['run', '--rm', 'test/busybox:1', 'echo', 'still here'])).trim()).toBe('still here');
  }, 400_000);

  it('regenerate-certs issues a new server certificate and Docker keeps working', async () => {
    const serverPem = path.join(store, 'machines', 'default', 'server.pem');
    const before = await fs.readFile(serverPem, 'utf8');
    const res = await machine(store, ['regenerate-certs', '-f', 'default']);
    expect(res.exitCode, String(res.all)).toBe(0);
    expect(String(res.stdout)).toMatch(/^Regenerating TLS certificates\n/);
    expect(await fs.readFile(serverPem, 'utf8')).not.toBe(before);
    const docker = await dockerFor('default');
    expect(await docker.ok(['version', '--format', '{{.Server.Version}}'])).toMatch(/^28\./);
  }, 300_000);

  it('a second Quickstart starts the stopped machine without regenerating anything, and runs a command', async () => {
    const serverPem = path.join(store, 'machines', 'default', 'server.pem');
    const before = await fs.readFile(serverPem, 'utf8');
    const profile = async () => String((await machine(store, ['ssh', 'default', '--', 'cat /var/lib/boot2docker/profile'])).stdout);
    const profileBefore = await profile();
    expect(profileBefore).toContain('DOCKER_TLS');
    expect((await machine(store, ['stop', 'default'])).exitCode).toBe(0);

    const res = await execa(path.join(BIN, 'quickstart'), ['docker', 'run', '--rm', 'qs/busybox:1', 'echo', 'again-ok'], {
      env: { ...base, CI: '1', DOCKER_CONFIG: userDocker, SHELL: '/bin/bash' },
      reject: false,
      stdin: 'ignore',
      all: true,
      timeout: 600_000,
    });
    expect(res.exitCode, res.all).toBe(0);
    expect(res.stdout).toContain('Starting machine "default" (Stopped)');
    expect(res.stdout).toContain('docker is configured to use the default machine with IP 127.0.0.1');
    expect(res.stdout).toContain('Every terminal\'s docker uses it too (docker context "machine-default"');
    expect(res.stdout).toMatch(/Start shell with command\nagain-ok$/);
    expect(res.all).not.toMatch(/Regenerat|Issued a server certificate/);
    expect(await fs.readFile(serverPem, 'utf8')).toBe(before);
    expect(await profile()).toBe(profileBefore);
  }, 700_000);

  it('creates "dev" side by side: every step shown with its time, Docker preconfigured at first boot', async () => {
    const res = await machine(store, [
      'create',
      '-d',
      'qemu',
      '--boot2docker-url',
      iso,
      '--engine-label',
      'team=e2e',
      '--format',
      'json',
      'dev',
    ]);
    expect(res.exitCode, String(res.all)).toBe(0);
    const result = JSON.parse(String(res.stdout));
    expect(result.url).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    expect(result.iso.preseed).toBe(true);
    // The preseed gave the VM its profile, certificates and hostname: nothing left to write or restart.
    expect(result.provision).toEqual({ written: [], restarted: false, mounted: [os.homedir()] });
    expect(result.timings.map((t: { step: string }) => t.step)).toEqual([
      'Running pre-create checks',
      'Preparing keys, certificates and the ISO',
      'Creating the VM',
      'Starting the VM',
      'Waiting for SSH and provisioning Docker',
      'Waiting for Docker to answer over TLS',
    ]);
    // Progress as JSON lines on stderr: each step starts, reports and ends with its time.
    const events = String(res.stderr)
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { type: string; title?: string; state?: string; ms?: number; line?: string });
    const ssh = events.filter((e) => e.title === 'Waiting for SSH and provisioning Docker');
    expect(ssh[0]).toEqual({ type: 'step', title: 'Waiting for SSH and provisioning Docker', state: 'running' });
    expect(ssh.some((e) => e.type === 'output' && /^Booting: /.test(e.line!))).toBe(true);
    expect(ssh.at(-1)).toEqual(expect.objectContaining({ type: 'step', state: 'done', ms: expect.any(Number) }));
    expect(events.filter((e) => e.type === 'step' && e.state === 'done').map((e) => e.title)).toEqual(
      result.timings.map((t: { step: string }) => t.step),
    );
    const dir = path.join(store, 'machines', 'dev');
    for (const f of ['config.json', 'id_ed25519', 'server-key.pem', 'key.pem'])
      expect((await fs.stat(path.join(dir, f))).mode & 0o777, f).toBe(0o600);
    expect((await fs.stat(path.join(store, 'certs', 'ca-key.pem'))).mode & 0o777).toBe(0o600);
    expect(certificateHosts(await fs.readFile(path.join(dir, 'server.pem'), 'utf8'))).toEqual(
      expect.arrayContaining(['localhost', '127.0.0.1', 'dev', '10.0.2.15']),
    );

    const ls = String((await machine(store, ['ls', '--format', '{{.Name}} {{.State}} {{.URL}}'])).stdout)
      .trim()
      .split('\n');
    expect(ls).toHaveLength(2);
    expect(ls.every((l) => / Running tcp:\/\/127\.0\.0\.1:\d+$/.test(l))).toBe(true);
    const [devDocker, defaultDocker] = [await dockerFor('dev'), await dockerFor('default')];
    const [devName, labels] = (await devDocker.ok(['info', '--format', '{{.Name}}\t{{json .Labels}}'])).trim().split('\t');
    expect(devName).toBe('dev');
    expect(JSON.parse(labels!)).toEqual(expect.arrayContaining(['team=e2e', 'provider=qemu'])); // Docker 28 keeps no order
    expect((await defaultDocker.ok(['info', '--format', '{{.Name}}'])).trim()).toBe('default');
  }, 600_000);

  it('rm removes both and the context quickstart made current: no process, no file, no store entry', async () => {
    const res = await machine(store, ['rm', '-y', 'default', 'dev'], { env: { DOCKER_CONFIG: userDocker } });
    expect([res.exitCode, String(res.stdout)]).toEqual([
      0,
      'About to remove default, dev\nWARNING: This action will delete both local reference and remote instance.\nSuccessfully removed default\nRemoved docker context "machine-default"\nSuccessfully removed dev',
    ]);
    expect(await fs.readdir(path.join(store, 'machines'))).toEqual([]);
    expect(await processesMentioning(store)).toEqual([]);
    expect(String((await machine(store, ['ls', '-q'])).stdout)).toBe('');
    expect(JSON.parse(await fs.readFile(path.join(userDocker, 'config.json'), 'utf8')).currentContext).toBeUndefined();
    expect(await fs.readdir(path.join(userDocker, 'contexts', 'meta'))).toEqual([]);
    expect((await docker(userDocker, ['context', 'show'])).stdout.trim()).toBe('default');
  }, 120_000);
});
