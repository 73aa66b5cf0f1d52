import { promises as fs } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/core/ports.js';
import { poll } from '../../src/core/wait.js';
import { machine, tempStore } from '../helpers/cli.js';
import { DockerCli } from '../helpers/docker.js';
import { parseExports, processesMentioning } from '../helpers/processes.js';
import { opensslCa, startLoggingProxy, startRegistry } from '../helpers/servers.js';
import { testIso } from '../helpers/vm.js';

const get = (port: number) =>
  new Promise<string>((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: '/', timeout: 3000, agent: false }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve(body));
      })
      .on('error', reject);
  });

/**
 * Issue 6 on one real VM: published ports on 127.0.0.1, a shared host folder at the same path,
 * the host's proxy carried into the daemon, a registry mirror and an insecure registry on the
 * host's loopback, and a corporate CA imported from the host.
 */
describe('containers that feel local', () => {
  let store: string;
  let shared: string;
  let docker: DockerCli;
  let proxy: Awaited<ReturnType<typeof startLoggingProxy>>;
  let plain: Awaited<ReturnType<typeof startRegistry>>;
  let trusted: Awaited<ReturnType<typeof startRegistry>>;
  let untrusted: Awaited<ReturnType<typeof startRegistry>>;
  const servers: net.Server[] = [];
  let createEnv: Record<string, string>;

  beforeAll(async () => {
    store = await tempStore('local-store-');
    shared = await fs.mkdtemp(path.join(os.tmpdir(), 'shared folder '));
    const corporate = await opensslCa('10.0.2.2');
    const other = await opensslCa('10.0.2.2');
    const caFile = path.join(store, 'corporate-ca.pem');
    await fs.writeFile(caFile, corporate.caPem);
    [proxy, plain, trusted, untrusted] = await Promise.all([
      startLoggingProxy(),
      startRegistry(),
      startRegistry({ certPem: corporate.certPem, keyPem: corporate.keyPem }),
      startRegistry({ certPem: other.certPem, keyPem: other.keyPem }),
    ]);
    // "user" networking so the VM reaches the host (10.0.2.2 = this host's 127.0.0.1); the guest
    // firewall below keeps it from reaching anything else.
    createEnv = {
      QEMU_NETWORK: 'user',
      HTTP_PROXY: `http://127.0.0.1:${proxy.port}`,
      HTTPS_PROXY: `http://localhost:${proxy.port}`,
      NO_PROXY: 'localhost',
    };
    const res = await machine(
      store,
      [
        'create',
        '-d',
        'qemu',
        '--boot2docker-url',
        await testIso(),
        '--qemu-no-share',
        '--share',
        shared,
        '--engine-insecure-registry',
        `10.0.2.2:${plain.port}`,
        '--engine-registry-mirror',
        `http://10.0.2.2:${plain.port}`,
        '--import-host-ca',
        caFile,
        'local',
      ],
      { env: createEnv },
    );
    expect(res.exitCode, String(res.all)).toBe(0);
    const firewall = [
      'sudo iptables -I OUTPUT 1 -o lo -j ACCEPT',
      'sudo iptables -I OUTPUT 2 -d 10.0.2.2 -j ACCEPT',
      'sudo iptables -I OUTPUT 3 -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT',
      'sudo iptables -I OUTPUT 4 -o eth0 -j REJECT',
      'sudo iptables -I DOCKER-USER -o eth0 ! -d 10.0.2.2 -j REJECT',
    ].join(' && ');
    expect((await machine(store, ['ssh', 'local', '--', firewall])).exitCode).toBe(0);
    const env = await machine(store, ['env', 'local'], { env: { SHELL: '/bin/bash' } });
    docker = DockerCli.forEnv(parseExports(String(env.stdout)));
    await docker.importBusybox();
  }, 900_000);

  afterAll(async () => {
    await machine(store, ['rm', '-f', 'local']);
    for (const pid of await processesMentioning(store)) process.kill(pid, 'SIGKILL');
    for (const s of servers) s.close();
    await Promise.all([proxy?.stop(), plain?.stop(), trusted?.stop(), untrusted?.stop()]);
    await fs.rm(store, { recursive: true, force: true });
    await fs.rm(shared, { recursive: true, force: true });
  });

  it('forwards a published port to 127.0.0.1 while the container runs, and drops it after', async () => {
    const port = await freePort();
    const id = (await docker.ok(['run', '-d', '-p', `${port}:80`, 'test/busybox:1', 'httpd', '-f', '-p', '80', '-h', '/www'])).trim();
    const body = await poll(() => get(port).catch(() => undefined), { timeoutMs: 30_000, intervalMs: 100, what: `127.0.0.1:${port}` });
    expect(body).toBe('hello from busybox httpd\n');
    const ports = JSON.parse(String((await machine(store, ['ports', 'local', '--format', 'json'])).stdout));
    expect(ports.forwarder).toBe('running');
    expect(ports.forwards).toContainEqual({ proto: 'tcp', hostPort: port, guestPort: port, containers: [id.slice(0, 12)] });
    await docker.ok(['rm', '-f', id]);
    await poll(
      () =>
        get(port).then(
          () => undefined,
          (err: NodeJS.ErrnoException) => (err.code === 'ECONNREFUSED' ? true : undefined),
        ),
      {
        timeoutMs: 30_000,
        intervalMs: 100,
        what: `127.0.0.1:${port} to close`,
      },
    );
  }, 120_000);

  it('reports a port that cannot be bound on the host', async () => {
    const port = await freePort();
    const squatter = net.createServer().listen(port, '127.0.0.1');
    servers.push(squatter);
    const id = (await docker.ok(['run', '-d', '-p', `${port}:80`, 'test/busybox:1', 'httpd', '-f', '-p', '80', '-h', '/www'])).trim();
    const failure = await poll(
      async () => {
        const ports = JSON.parse(String((await machine(store, ['ports', 'local', '--format', 'json'])).stdout));
        return ports.failures.find((f: { hostPort: number }) => f.hostPort === port);
      },
      { timeoutMs: 30_000, what: 'the failure report' },
    );
    expect(failure.reason).toMatch(new RegExp(`Cannot forward 127\\.0\\.0\\.1:${port}`));
    expect(String((await machine(store, ['ports', 'local'])).stdout)).toMatch(
      new RegExp(`127\\.0\\.0\\.1:${port}\\s+-\\s+tcp\\s+not forwarded`),
    );
    await docker.ok(['rm', '-f', id]);
  }, 120_000);

  it('mounts a shared host folder at the same path: host files are seen by containers, and the reverse', async () => {
    await fs.writeFile(path.join(shared, 'from-host.txt'), 'written on the host\n');
    const read = await docker.ok(['run', '--rm', '-v', `${shared}:/data`, 'test/busybox:1', 'cat', '/data/from-host.txt']);
    expect(read).toBe('written on the host'); // (execa drops the final newline)
    await docker.ok([
      'run',
      '--rm',
      '-v',
      `${shared}:/data`,
      'test/busybox:1',
      'sh',
      '-c',
      'echo written in a container > /data/from-container.txt',
    ]);
    expect(await fs.readFile(path.join(shared, 'from-container.txt'), 'utf8')).toBe('written in a container\n');
    // Provisioning again (same host proxy, so the daemon keeps its config) leaves the one mount as it is,
    // though /proc/mounts lists it under /mnt/... (the guest's /tmp is a symlink there).
    const again = await machine(store, ['provision', 'local'], { env: createEnv });
    expect(again.exitCode, String(again.all)).toBe(0);
    const mounts = await machine(store, ['ssh', 'local', '--', "grep -c ' 9p ' /proc/mounts"]);
    expect(String(mounts.stdout).trim()).toBe('1');
  }, 180_000);

  it('carries the host proxy into the daemon, localhost rewritten to the host as the VM sees it', async () => {
    const profile = String((await machine(store, ['ssh', 'local', '--', 'sudo cat /var/lib/boot2docker/profile'])).stdout);
    expect(profile).toContain(`export "HTTP_PROXY=http://10.0.2.2:${proxy.port}"`);
    expect(profile).toContain(`export "HTTPS_PROXY=http://10.0.2.2:${proxy.port}"`);
    expect(profile).toContain('export "NO_PROXY=localhost"');
    const info = await docker.ok(['info', '--format', '{{.HTTPProxy}} {{.HTTPSProxy}}']);
    expect(info.trim()).toBe(`http://10.0.2.2:${proxy.port} http://10.0.2.2:${proxy.port}`);
  });

  it('pushes to an insecure registry on the host and pulls through the mirror, through the proxy', async () => {
    const tag = `10.0.2.2:${plain.port}/library/busybox:1`;
    await docker.ok(['tag', 'test/busybox:1', tag]);
    await docker.ok(['push', tag], { timeoutMs: 180_000 });
    expect(proxy.log.some((l) => l.startsWith(`PUT http://10.0.2.2:${plain.port}/v2/library/busybox/manifests/1`))).toBe(true);
    await docker.ok(['rmi', tag]);
    await docker.run(['rmi', 'busybox:1']);
    // docker.io/library/busybox:1 exists nowhere but in the mirror.
    await docker.ok(['pull', 'busybox:1'], { timeoutMs: 180_000 });
    expect(
      proxy.log.some(
        (l) =>
          l === `GET http://10.0.2.2:${plain.port}/v2/library/busybox/manifests/1` ||
          l.startsWith(`GET http://10.0.2.2:${plain.port}/v2/library/busybox/manifests/`),
      ),
    ).toBe(true);
    expect((await docker.ok(['run', '--rm', 'busybox:1', 'echo', 'pulled through the mirror'])).trim()).toBe('pulled through the mirror');
  }, 300_000);

  it('trusts the imported corporate CA, and only it', async () => {
    const good = `10.0.2.2:${trusted.port}/library/busybox:2`;
    await docker.ok(['tag', 'test/busybox:1', good]);
    await docker.ok(['push', good], { timeoutMs: 180_000 });
    expect(proxy.log).toContain(`CONNECT 10.0.2.2:${trusted.port}`);
    const bad = `10.0.2.2:${untrusted.port}/library/busybox:3`;
    await docker.ok(['tag', 'test/busybox:1', bad]);
    const res = await docker.run(['push', bad], { timeoutMs: 180_000 });
    expect(res.exitCode).not.toBe(0);
    expect(String(res.stderr)).toMatch(/x509|certificate signed by unknown authority/);
  }, 300_000);
});
