import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/core/ports.js';
import { machine, tempStore } from '../helpers/cli.js';
import { DockerCli } from '../helpers/docker.js';
import { parseExports } from '../helpers/processes.js';
import { bootVm, sshReady, type TestVm } from '../helpers/vm.js';

/**
 * Issue 6, the generic driver: a VM booted from our ISO outside the tool (the test boots it with a
 * plain userdata disk, no preseed), then provisioned by `machine create -d generic` over SSH.
 */
describe('the generic driver provisions an existing boot2docker host', () => {
  let vm: TestVm;
  let store: string;
  let enginePort: number;

  beforeAll(async () => {
    store = await tempStore('generic-store-');
    vm = await bootVm('outside');
    (await sshReady(vm)).close();
    // The host's Docker port, reachable from here: the same number on both sides of the forward.
    enginePort = await freePort();
    await vm.driver.addForward({ proto: 'tcp', hostPort: enginePort, guestPort: enginePort });
  }, 300_000);
  afterAll(async () => {
    await machine(store, ['rm', '-f', 'gen']);
    await vm?.dispose();
    await fs.rm(store, { recursive: true, force: true });
  });

  it('creates, provisions TLS on the engine port, and the docker CLI uses it', async () => {
    const res = await machine(store, [
      'create',
      '-d',
      'generic',
      '--generic-ip-address',
      '127.0.0.1',
      '--generic-ssh-port',
      String(vm.ssh.port),
      '--generic-ssh-user',
      'docker',
      '--generic-ssh-key',
      path.join(vm.dir, 'id_ed25519'),
      '--generic-engine-port',
      String(enginePort),
      'gen',
    ]);
    expect(res.exitCode, String(res.all)).toBe(0);
    expect(String(res.stdout)).toContain('Docker is up and running!');
    // An existing host boots no ISO: none is fetched into the store's cache or installed for it.
    expect(await fs.readdir(store)).not.toContain('cache');
    expect(await fs.readdir(path.join(store, 'machines', 'gen'))).not.toContain('boot2docker.iso');
    const ls = String((await machine(store, ['ls', '--format', '{{.Name}} {{.DriverName}} {{.State}} {{.URL}}'])).stdout).trim();
    expect(ls).toBe(`gen generic Running tcp://127.0.0.1:${enginePort}`);
    expect(String((await machine(store, ['ssh', 'gen', '--', 'hostname'])).stdout).trim()).toBe('gen');
    const docker = DockerCli.forEnv(parseExports(String((await machine(store, ['env', 'gen'], { env: { SHELL: '/bin/bash' } })).stdout)));
    expect(await docker.ok(['info', '--format', '{{.Name}} {{json .Labels}}'])).toMatch(/^gen .*"provider=generic"/);
    await docker.importBusybox();
    expect((await docker.ok(['run', '--rm', 'test/busybox:1', 'echo', 'generic ok'])).trim()).toBe('generic ok');
  }, 400_000);

  it('refuses to stop the host, and rm forgets it without touching it', async () => {
    const stop = await machine(store, ['stop', 'gen']);
    expect(stop.exitCode).toBe(1);
    expect(String(stop.stderr)).toContain('The generic driver does not stop hosts');
    expect((await machine(store, ['rm', '-y', 'gen'])).exitCode).toBe(0);
    expect(await vm.driver.state()).toBe('Running');
  }, 120_000);
});
