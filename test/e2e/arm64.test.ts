import { promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { machine, tempStore } from '../helpers/cli.js';
import { arm64Busybox, BUSYBOX, DockerCli } from '../helpers/docker.js';
import { parseExports, processesMentioning } from '../helpers/processes.js';
import { testIso } from '../helpers/vm.js';

/**
 * Issue 13 on this amd64 host: one arm64 machine, made by `machine create --qemu-arch arm64` from
 * the arm64 ISO and emulated by qemu-system-aarch64 (TCG, the virt machine). The real docker CLI
 * runs an arm64 image made offline from Debian's arm64 busybox, and an amd64 one in the same
 * machine through binfmt_misc; stop/start keeps its data; with binfmt turned off (provision after
 * --no-binfmt's setting) the amd64 image no longer runs. Emulation is slow: one machine, reused.
 */
describe('an arm64 machine on an amd64 host', () => {
  let store: string;
  let docker: DockerCli;
  const name = 'arm';
  // auto: the accelerator choice is under test (another architecture never reaches KVM, so no probe hangs)
  const run = (args: string[], timeoutMs = 600_000) => machine(store, args, { timeout: timeoutMs, env: { QEMU_ACCEL: 'auto' } });
  const connect = async () => {
    const res = await run(['env', name]);
    expect(res.exitCode, String(res.all)).toBe(0);
    docker = DockerCli.forEnv(parseExports(String(res.stdout)));
  };

  beforeAll(async () => {
    store = await tempStore('arm64-e2e-');
  });
  afterAll(async () => {
    await run(['rm', '-f', name]);
    for (const pid of await processesMentioning(store)) process.kill(pid, 'SIGKILL');
    await fs.rm(store, { recursive: true, force: true });
  });

  it('creates it from the arm64 ISO, says why it is emulated, and its kernel is aarch64', async () => {
    const iso = await testIso('arm64');
    const res = await run(['create', '-d', 'qemu', '--qemu-arch', 'arm64', '--qemu-no-share', '--boot2docker-url', iso, name]);
    expect(res.exitCode, String(res.all)).toBe(0);
    const out = String(res.all);
    expect(out).toContain('(qemu-system-aarch64), an arm64 machine');
    expect(out).toContain(
      'Accelerator: tcg (an arm64 machine on this amd64 computer is emulated (no hypervisor runs another architecture))',
    );
    expect(String((await run(['ssh', name, 'uname', '-m'])).stdout).trim()).toBe('aarch64');
    await connect();
    expect((await docker.ok(['version', '--format', '{{.Server.Os}}/{{.Server.Arch}}'])).trim()).toBe('linux/arm64');
  }, 600_000);

  it('ls, inspect and doctor show the architecture and the ISO', async () => {
    expect(String((await run(['ls', '--format', '{{.Name}} {{.Arch}}'])).stdout).trim()).toBe(`${name} arm64`);
    expect(String((await run(['inspect', '--format', '{{.Arch}} {{.Driver.Arch}}', name])).stdout).trim()).toBe('arm64 arm64');
    const report = JSON.parse(String((await run(['doctor', '--format', 'json'])).stdout)) as {
      checks: { id: string; machine?: string; message: string }[];
    };
    expect(report.checks.find((c) => c.id === 'iso' && c.machine === name)?.message).toMatch(
      /^an arm64 machine; boots b2d-v28\.\S+ \(recipe [0-9a-f]{16}\), emulated on this amd64 computer$/,
    );
    expect(report.checks.find((c) => c.id === 'host-arch')?.message).toMatch(/^this computer is amd64: /);
  }, 120_000);

  it('runs an arm64 image natively and an amd64 image through binfmt, from the host docker CLI', async () => {
    await docker.importBusybox('test/busybox:arm64', { platform: 'linux/arm64', busybox: arm64Busybox() });
    await docker.importBusybox('test/busybox:amd64', { platform: 'linux/amd64', busybox: readFileSync(BUSYBOX) });
    expect((await docker.ok(['run', '--rm', 'test/busybox:arm64', 'uname', '-m'])).trim()).toBe('aarch64');
    expect((await docker.ok(['run', '--rm', '--platform', 'linux/amd64', 'test/busybox:amd64', 'uname', '-m'])).trim()).toBe('x86_64');
    // a build for the other platform (the CLI's own builder: no buildx plugin here) runs its RUN step emulated
    const context = await fs.mkdtemp(path.join(store, 'build-'));
    await fs.writeFile(path.join(context, 'Dockerfile'), 'FROM test/busybox:amd64\nRUN uname -m > /built-on\n');
    await docker.ok(['build', '--platform', 'linux/amd64', '-t', 'test/built:amd64', context], { timeoutMs: 300_000 });
    expect((await docker.ok(['run', '--rm', '--platform', 'linux/amd64', 'test/built:amd64', 'cat', '/built-on'])).trim()).toBe('x86_64');
    // a volume written by the emulated amd64 container, read by the arm64 one after a restart
    await docker.ok([
      'run',
      '--rm',
      '--platform',
      'linux/amd64',
      '-v',
      'kept:/data',
      'test/busybox:amd64',
      'sh',
      '-c',
      'echo written by x86_64 > /data/f',
    ]);
  }, 300_000);

  it('stop and start keep images and volumes; --no-binfmt (here: provision with it) stops amd64 binaries', async () => {
    // create --no-binfmt stores this; provision writes the profile the ISO reads at boot
    const config = path.join(store, 'machines', name, 'config.json');
    const host = JSON.parse(await fs.readFile(config, 'utf8'));
    host.HostOptions.EngineOptions.Binfmt = false;
    await fs.writeFile(config, JSON.stringify(host, null, 2));
    const provisioned = await run(['provision', name]);
    expect(provisioned.exitCode, String(provisioned.all)).toBe(0);
    expect(String((await run(['ssh', name, 'cat', '/var/lib/boot2docker/profile'])).stdout)).toMatch(/\nBINFMT=no$/); // (execa strips the last newline)

    for (const step of ['stop', 'start']) {
      const res = await run([step, name]);
      expect(res.exitCode, String(res.all)).toBe(0);
    }
    await connect();
    expect((await docker.ok(['run', '--rm', '-v', 'kept:/data', 'test/busybox:arm64', 'cat', '/data/f'])).trim()).toBe('written by x86_64');
    expect(String((await run(['ssh', name, 'ls', '/proc/sys/fs/binfmt_misc/'])).stdout)).not.toContain('qemu-x86_64');
    const refused = await docker.run(['run', '--rm', '--platform', 'linux/amd64', 'test/busybox:amd64', 'uname', '-m']);
    expect(refused.exitCode).not.toBe(0);
    expect(String(refused.stderr)).toMatch(/exec format error/);
  }, 600_000);
});
