import { promises as fs } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { certificateHosts } from '../../src/certs/x509.js';
import { machine, tempStore } from '../helpers/cli.js';
import { DockerCli } from '../helpers/docker.js';
import { parseExports, processesMentioning } from '../helpers/processes.js';
import { testIso } from '../helpers/vm.js';

/**
 * Issue 3: `machine create default` end to end on a real VM (QEMU, TCG), then the whole lifecycle
 * with the real docker CLI, a second machine side by side, and removal leaving nothing behind.
 */
describe('machine create default, and the lifecycle, on real VMs', () => {
  let store: string;
  let iso: string;
  const env = async (name: string) => {
    const res = await machine(store, ['env', name], { env: { SHELL: '/bin/bash' } });
    expect(res.exitCode, String(res.all)).toBe(0);
    return parseExports(String(res.stdout));
  };
  const dockerFor = async (name: string) => DockerCli.forEnv(await env(name));

  beforeAll(async () => {
    store = await tempStore('e2e-store-');
    iso = await testIso();
  });
  afterAll(async () => {
    await machine(store, ['rm', '-f', 'default', 'dev']);
    for (const pid of await processesMentioning(store)) process.kill(pid, 'SIGKILL');
    await fs.rm(store, { recursive: true, force: true });
  });

  it('creates "default": every step shown with its time, Docker preconfigured at first boot', async () => {
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
      'default',
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
    const dir = path.join(store, 'machines', 'default');
    for (const f of ['config.json', 'id_ed25519', 'server-key.pem', 'key.pem'])
      expect((await fs.stat(path.join(dir, f))).mode & 0o777, f).toBe(0o600);
    expect((await fs.stat(path.join(store, 'certs', 'ca-key.pem'))).mode & 0o777).toBe(0o600);
    expect(certificateHosts(await fs.readFile(path.join(dir, 'server.pem'), 'utf8'))).toEqual(
      expect.arrayContaining(['localhost', '127.0.0.1', 'default', '10.0.2.15']),
    );
  }, 600_000);

  it('ls shows it running with its Docker version; json for scripts', async () => {
    const ls = await machine(store, ['ls']);
    expect(String(ls.stdout)).toMatch(
      /^NAME\s+ACTIVE\s+DRIVER\s+STATE\s+URL\s+SWARM\s+DOCKER\s+ERRORS\ndefault\s+-\s+qemu\s+Running\s+tcp:\/\/127\.0\.0\.1:\d+\s+v26\.\d+\.\d+\S*\s*$/,
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
    const docker = DockerCli.forEnv(vars);
    expect(await docker.ok(['version', '--format', '{{.Server.Version}}'])).toMatch(/^26\./);
    expect(await docker.ok(['info', '--format', '{{.Name}} {{json .Labels}}'])).toMatch(/^default .*"team=e2e".*"provider=qemu"/);
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
    expect(await docker.ok(['version', '--format', '{{.Server.Version}}'])).toMatch(/^26\./);
  }, 300_000);

  it('a second machine runs side by side', async () => {
    const res = await machine(store, ['create', '-d', 'qemu', '--boot2docker-url', iso, 'dev']);
    expect(res.exitCode, String(res.all)).toBe(0);
    expect(String(res.stdout)).toContain('Docker is up and running!');
    const ls = String((await machine(store, ['ls', '--format', '{{.Name}} {{.State}} {{.URL}}'])).stdout)
      .trim()
      .split('\n');
    expect(ls).toHaveLength(2);
    expect(ls.every((l) => / Running tcp:\/\/127\.0\.0\.1:\d+$/.test(l))).toBe(true);
    const [devDocker, defaultDocker] = [await dockerFor('dev'), await dockerFor('default')];
    expect((await devDocker.ok(['info', '--format', '{{.Name}}'])).trim()).toBe('dev');
    expect((await defaultDocker.ok(['info', '--format', '{{.Name}}'])).trim()).toBe('default');
  }, 600_000);

  it('rm removes both: no process, no file, no store entry', async () => {
    const res = await machine(store, ['rm', '-y', 'default', 'dev']);
    expect([res.exitCode, String(res.stdout)]).toEqual([
      0,
      'About to remove default, dev\nWARNING: This action will delete both local reference and remote instance.\nSuccessfully removed default\nSuccessfully removed dev',
    ]);
    expect(await fs.readdir(path.join(store, 'machines'))).toEqual([]);
    expect(await processesMentioning(store)).toEqual([]);
    expect(String((await machine(store, ['ls', '-q'])).stdout)).toBe('');
  }, 120_000);
});
