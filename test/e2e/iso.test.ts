import { readFileSync } from 'node:fs';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import https from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { poll } from '../../src/core/wait.js';
import { dockerPing } from '../../src/docker/api.js';
import { provisionBoot2docker } from '../../src/provision/boot2docker.js';
import { renderProfile } from '../../src/provision/profile.js';
import type { SshSession } from '../../src/ssh/client.js';
import { defaultEngineOptions } from '../../src/store/config.js';
import { arm64Busybox, DockerCli, tlsEnv } from '../helpers/docker.js';
import { bootVm, sshReady, type TestVm } from '../helpers/vm.js';

/**
 * Issue 2: our ISO, booted by QEMU (TCG) with a docker-machine style userdata disk made by the
 * project's code, provisioned the way docker-machine provisions boot2docker, used by the real
 * docker CLI over TLS, then powered off and booted again from the same disk.
 */
describe('the boot2docker ISO on a real VM', () => {
  let vm: TestVm;
  let ssh: SshSession;
  let docker: DockerCli;
  const tls = () => ({
    ca: readFileSync(path.join(vm.certDir, 'ca.pem'), 'utf8'),
    cert: readFileSync(path.join(vm.certDir, 'cert.pem'), 'utf8'),
    key: readFileSync(path.join(vm.certDir, 'key.pem'), 'utf8'),
  });
  const dockerEp = () => ({ host: '127.0.0.1', port: vm.driver.config.DockerPort, tls: tls() });

  beforeAll(async () => {
    vm = await bootVm('isotest');
    ssh = await sshReady(vm);
    docker = DockerCli.forEnv(tlsEnv(`tcp://127.0.0.1:${vm.driver.config.DockerPort}`, vm.certDir));
  }, 300_000);
  afterAll(async () => {
    ssh?.close();
    await vm?.dispose();
  });

  it('logs in as docker with the key from the disk, with passwordless sudo and the boot2docker identity', async () => {
    expect((await ssh.check('id -un')).trim()).toBe('docker');
    expect((await ssh.check('sudo id -u')).trim()).toBe('0');
    const release = await ssh.check('cat /etc/os-release');
    expect(release).toMatch(/^ID=boot2docker$/m);
    // docker-machine runs these in non-interactive sessions: they must be on its PATH.
    expect(
      await ssh.check('command -v ip && command -v sudo && command -v sethostname && (command -v netstat || command -v ss)'),
    ).toBeTruthy();
    expect((await ssh.check('cat ~/.ssh/authorized_keys')).trim()).toBe(readFileSync(path.join(vm.dir, 'id_ed25519.pub'), 'utf8').trim());
    expect(await ssh.check('ls -A /home/docker')).not.toContain('please format-me');
  });

  it('formatted the magic disk: ext4 labelled boot2docker-data, swap, persistent directories', async () => {
    const mounts = await ssh.check('cat /proc/mounts');
    expect(mounts).toMatch(/^\/dev\/vda1 \/mnt\/vda1 ext4 /m);
    expect((await ssh.check('sudo findfs LABEL=boot2docker-data')).trim()).toBe('/dev/vda1');
    expect(await ssh.check('readlink /var/lib/docker; readlink /var/lib/boot2docker')).toBe(
      '/mnt/vda1/var/lib/docker\n/mnt/vda1/var/lib/boot2docker\n',
    );
    expect(await ssh.check('sudo tar -tf /var/lib/boot2docker/userdata.tar')).toContain('.ssh/authorized_keys');
  });

  it('writes boot milestones with timestamps to the serial console', async () => {
    const serial = await fs.readFile(vm.driver.consoleLog(), 'utf8');
    for (const m of ['userspace', 'disk', 'sshd']) expect(serial).toMatch(new RegExp(`machine-boot: ${m} \\d+\\.\\d+`));
  });

  it('serves Docker over TLS with self-made certificates on first boot, as docker-machine expects', async () => {
    await poll(async () => ((await ssh.run('netstat -tln')).stdout.match(/:2376\s/) ? true : undefined), {
      timeoutMs: 120_000,
      what: 'port 2376',
    });
  });

  it('takes docker-machine-style provisioning: profile and certificates, restart through /etc/init.d/docker', async () => {
    const profile = renderProfile({ ...defaultEngineOptions(), Labels: ['team=iso-test'] }, 'qemu');
    const res = await provisionBoot2docker(
      ssh,
      {
        hostname: 'isotest',
        profile,
        caCertPem: readFileSync(path.join(vm.certDir, 'ca.pem'), 'utf8'),
        serverCertPem: readFileSync(path.join(vm.certDir, 'server.pem'), 'utf8'),
        serverKeyPem: readFileSync(path.join(vm.certDir, 'server-key.pem'), 'utf8'),
      },
      () => undefined,
    );
    expect(res.restarted).toBe(true);
    expect(res.written).toContain('/var/lib/boot2docker/profile');
    expect((await ssh.check('hostname')).trim()).toBe('isotest');
    expect(await ssh.check('sudo cat /var/lib/boot2docker/profile')).toBe(profile);
    await poll(async () => ((await dockerPing(dockerEp(), 3000)) ? true : undefined), { timeoutMs: 120_000, what: 'dockerd over TLS' });
    expect((await ssh.check('sudo /etc/init.d/docker status')).trim()).toBe('Docker daemon is running');
    // A second start while running fails like boot2docker's script; restart works.
    expect((await ssh.run('sudo /etc/init.d/docker start')).code).not.toBe(0);
    await ssh.check('sudo /etc/init.d/docker restart');
    await poll(async () => ((await dockerPing(dockerEp(), 3000)) ? true : undefined), {
      timeoutMs: 120_000,
      what: 'dockerd after restart',
    });
  }, 400_000);

  it('runs containers from an image made offline, driven by the real docker CLI over TLS', async () => {
    const version = JSON.parse(await docker.ok(['version', '--format', '{{json .}}']));
    expect(version.Server.Version).toMatch(/^28\./);
    const info = await docker.ok(['info', '--format', '{{.Driver}} {{.OperatingSystem}} {{json .Labels}}']);
    expect(info).toMatch(/^overlay2 Boot2Docker/);
    expect(info).toContain('provider=qemu');
    expect(info).toContain('team=iso-test');
    await docker.importBusybox('test/busybox:1');
    expect((await docker.ok(['run', '--rm', 'test/busybox:1', 'echo', 'hello from a container'])).trim()).toBe('hello from a container');
  }, 180_000);

  it("runs an arm64 image through binfmt_misc and Debian's static qemu-aarch64 (F: it works inside the container's root)", async () => {
    expect((await ssh.check('cat /proc/sys/fs/binfmt_misc/qemu-aarch64')).split('\n').slice(0, 3)).toEqual([
      'enabled',
      'interpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P',
      'flags: POF',
    ]);
    await docker.importBusybox('test/busybox-arm64:1', { platform: 'linux/arm64', busybox: arm64Busybox() });
    expect((await docker.ok(['image', 'inspect', '-f', '{{.Architecture}}', 'test/busybox-arm64:1'])).trim()).toBe('arm64');
    expect((await docker.ok(['run', '--rm', '--platform', 'linux/arm64', 'test/busybox-arm64:1', 'uname', '-m'])).trim()).toBe('aarch64');
  }, 180_000);

  it('refuses a client without a certificate', async () => {
    const err = await new Promise<Error>((resolve, reject) => {
      const req = https.get(
        { host: '127.0.0.1', port: vm.driver.config.DockerPort, path: '/_ping', ca: tls().ca, agent: false, timeout: 10_000 },
        (res) => reject(new Error(`answered ${res.statusCode}`)),
      );
      req.on('error', resolve);
    });
    expect(err.message).toMatch(/certificate required|bad certificate|handshake failure|socket hang up|ECONNRESET/);
    const res = await DockerCli.forEnv({ DOCKER_HOST: `tcp://127.0.0.1:${vm.driver.config.DockerPort}` }).run(['version']);
    expect(res.exitCode).not.toBe(0);
  });

  it('powers off by ACPI and boots again from the same disk with everything kept', async () => {
    const hostKeyBefore = await fs.readFile(path.join(vm.dir, 'known_hosts'), 'utf8');
    ssh.close();
    await vm.driver.stop(() => undefined);
    expect(await vm.driver.state()).toBe('Stopped');
    await vm.driver.start(() => undefined);
    // The pinned host key must match: SSH host keys persist.
    ssh = await sshReady(vm);
    expect(await fs.readFile(path.join(vm.dir, 'known_hosts'), 'utf8')).toBe(hostKeyBefore);
    expect((await ssh.check('hostname')).trim()).toBe('isotest');
    expect(await ssh.check('sudo cat /var/lib/boot2docker/profile')).toContain('--label team=iso-test');
    docker = DockerCli.forEnv(tlsEnv(`tcp://127.0.0.1:${vm.driver.config.DockerPort}`, vm.certDir));
    await poll(async () => ((await dockerPing(dockerEp(), 3000)) ? true : undefined), { timeoutMs: 180_000, what: 'dockerd after reboot' });
    expect(await docker.ok(['images', '--format', '{{.Repository}}:{{.Tag}}'])).toContain('test/busybox:1');
    expect((await docker.ok(['run', '--rm', 'test/busybox:1', 'cat', '/www/index.html'])).trim()).toBe('hello from busybox httpd');
  }, 400_000);
});
