import { type ChildProcess } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import ssh2 from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureClientCerts } from '../../src/certs/bootstrap.js';
import { ensureServerCert, machineCertPaths } from '../../src/certs/server.js';
import { certificateHosts } from '../../src/certs/x509.js';
import { MACHINE, machine } from '../helpers/cli.js';
import { DockerCli } from '../helpers/docker.js';
import { parseExports, processesMentioning } from '../helpers/processes.js';
import { testIso } from '../helpers/vm.js';

/**
 * Issue 10 on a real VM (QEMU, TCG), one machine shared by the checks in order, in a store whose
 * path has a comma and a space (QEMU option escaping): what a hostile local user, a script's
 * empty variable, a parallel shell or a Ctrl-C can do to it, and that it survives each.
 */

const NAME = 't';
let store: string;
let iso: string;
let dir: string;
let share: string;
const run = (args: string[], opts: Parameters<typeof machine>[2] = {}) => machine(store, args, opts);

async function envVars(extra: Record<string, string> = {}): Promise<{ vars: Record<string, string>; stderr: string }> {
  const res = await run(['env', NAME], { env: { SHELL: '/bin/bash', ...extra } });
  expect(res.exitCode, String(res.all)).toBe(0);
  return { vars: parseExports(String(res.stdout)), stderr: String(res.stderr) };
}
const docker = async () => DockerCli.forEnv((await envVars()).vars);
const inVm = async (cmd: string) => String((await run(['ssh', NAME, '--', cmd])).stdout).trim();
const dockerdPid = () => inVm('cat /var/run/docker.pid');
const forwarders = async () => (await processesMentioning(store)).length - (await qemuPids()).length;
const qemuPids = async () => {
  const pids: number[] = [];
  for (const pid of await processesMentioning(path.join(store, 'machines', NAME))) {
    const cmd = await fs.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (cmd.includes('-pidfile')) pids.push(pid);
  }
  return pids;
};
const config = async () => JSON.parse(await fs.readFile(path.join(dir, 'config.json'), 'utf8'));

/** Start a CLI command in the background, resolve when its output contains `marker`. */
function startUntil(args: string[], marker: RegExp): { child: ChildProcess & Promise<unknown>; seen: Promise<void> } {
  const child = execa(MACHINE, args, {
    reject: false,
    all: true,
    env: { CI: '1', QEMU_NETWORK: 'restricted', QEMU_ACCEL: 'tcg', MACHINE_STORAGE_PATH: store },
  });
  let text = '';
  const seen = new Promise<void>((resolve) =>
    child.all!.on('data', (d: Buffer) => {
      text += d.toString();
      if (marker.test(text)) resolve();
    }),
  );
  return { child: child as never, seen };
}

/**
 * Send a signal, return how long the command took to exit and how it ended: its exit code, or the
 * signal when it came before the command listened (node still loading: nothing was begun).
 */
async function signalAndTime(child: ChildProcess & Promise<unknown>, sig: NodeJS.Signals): Promise<{ ms: number; code: number | string }> {
  const t0 = Date.now();
  child.kill(sig);
  const res = (await child) as { exitCode?: number; signal?: string };
  return { ms: Date.now() - t0, code: res.exitCode ?? res.signal ?? 'none' };
}

describe('trust: a machine a hostile user, a careless script and a Ctrl-C cannot break', () => {
  beforeAll(async () => {
    store = await fs.mkdtemp(path.join(os.tmpdir(), 'trust, store-'));
    dir = path.join(store, 'machines', NAME);
    share = path.join(store, 'shared');
    await fs.mkdir(share);
    iso = await testIso();
  });
  afterAll(async () => {
    await run(['rm', '-f', NAME]);
    for (const pid of await processesMentioning(store)) process.kill(pid, 'SIGKILL');
    await fs.rm(store, { recursive: true, force: true });
  });

  it('creates it with shell payloads in a label, an engine option and the proxy: all stay literal, nothing runs', async () => {
    const res = await run(
      [
        'create',
        '-d',
        'qemu',
        '--boot2docker-url',
        iso,
        '--qemu-no-share',
        '--share',
        share,
        '--engine-label',
        'k=$(touch${IFS}/tmp/pwn-label)',
        '--engine-label',
        "q='`touch${IFS}/tmp/pwn-tick`'",
        '--engine-opt',
        'log-opt=labels=$(touch${IFS}/tmp/pwn-opt)',
        '--tls-san',
        'bücher.local',
        NAME,
      ],
      { env: { HTTP_PROXY: 'http://proxy.invalid:3128/";touch${IFS}/tmp/pwn-proxy;"' } },
    );
    expect(res.exitCode, String(res.all)).toBe(0);
    const d = await docker();
    const info = JSON.parse(await d.ok(['info', '--format', '{{json .}}']));
    expect(info.Labels).toEqual(expect.arrayContaining(['k=$(touch${IFS}/tmp/pwn-label)', "q='`touch${IFS}/tmp/pwn-tick`'"]));
    // The daemon's own environment, byte for byte.
    expect(await inVm('sudo cat /proc/$(cat /var/run/docker.pid)/environ | tr "\\0" "\\n" | grep ^HTTP_PROXY=')).toBe(
      'HTTP_PROXY=http://proxy.invalid:3128/";touch${IFS}/tmp/pwn-proxy;"',
    );
    expect(await inVm('ls /tmp/ | grep pwn || echo none')).toBe('none');
    expect((await fs.readdir('/tmp')).filter((f) => f.startsWith('pwn-'))).toEqual([]);
    // The proxy came from create's shell and is kept in config.json, not taken from later shells.
    expect((await config()).HostOptions.HostProxy).toEqual(['HTTP_PROXY=http://proxy.invalid:3128/";touch${IFS}/tmp/pwn-proxy;"']);
    expect(certificateHosts(await fs.readFile(path.join(dir, 'server.pem'), 'utf8'))).toContain('xn--bcher-kva.local');
  }, 600_000);

  it('a storage driver payload written into config.json by hand is refused before it reaches the VM', async () => {
    const cfg = await config();
    const saved = structuredClone(cfg);
    cfg.HostOptions.EngineOptions.StorageDriver = 'overlay2;touch /tmp/pwn-storage';
    await fs.writeFile(path.join(dir, 'config.json'), JSON.stringify(cfg, null, 4));
    const res = await run(['provision', NAME]);
    expect(res.exitCode).toBe(1);
    expect(String(res.stderr).trim()).toMatch(
      /^--engine-storage-driver "overlay2;touch \/tmp\/pwn-storage" is not a storage driver name: use a name such as overlay2/,
    );
    await fs.writeFile(path.join(dir, 'config.json'), JSON.stringify(saved, null, 4));
    expect(await inVm('ls /tmp/ | grep pwn || echo none')).toBe('none');
  }, 120_000);

  it('refuses password logins on its SSH port (docker/tcuser, root)', async () => {
    const port = (await config()).Driver.SSHPort;
    for (const [username, password] of [
      ['docker', 'tcuser'],
      ['root', 'tcuser'],
      ['docker', ''],
    ]) {
      const outcome = await new Promise<string>((resolve) => {
        const c = new ssh2.Client();
        c.on('ready', () => (c.end(), resolve('logged in')));
        c.on('error', (e: Error & { level?: string }) => resolve(e.level ?? e.message));
        c.connect({ host: '127.0.0.1', port, username, password, tryKeyboard: true, readyTimeout: 20_000 });
        c.on('keyboard-interactive', (_n, _i, _l, _p, finish) => finish([password]));
      });
      expect(outcome, `${username}/${password}`).toBe('client-authentication');
    }
    expect(await inVm('sudo grep ^docker: /etc/shadow | cut -d: -f2')).toBe('!');
  }, 120_000);

  it('env keeps Docker (and its containers) running under a certificate that lacks the machine name but verifies', async () => {
    const d = await docker();
    await d.importBusybox();
    // A certificate like docker-machine's: the address clients use and the SAN asked for, no machine name.
    const auth = (await config()).HostOptions.AuthOptions;
    const client = await ensureClientCerts({
      caCert: auth.CaCertPath,
      caKey: auth.CaPrivateKeyPath,
      clientCert: auth.ClientCertPath,
      clientKey: auth.ClientKeyPath,
    });
    await fs.rm(path.join(dir, 'server.pem'));
    const issued = await ensureServerCert(machineCertPaths(dir), client, NAME, ['127.0.0.1', 'localhost', 'bücher.local']);
    expect(certificateHosts(issued.certPem)).toEqual(['127.0.0.1', 'localhost', 'xn--bcher-kva.local']);
    const ssh = await run(
      ['ssh', NAME, '--', 'sudo tee /var/lib/boot2docker/server.pem >/dev/null && sudo /etc/init.d/docker restart >/dev/null'],
      {
        input: issued.certPem,
        stdin: undefined,
      },
    );
    expect(ssh.exitCode, String(ssh.all)).toBe(0);
    const id = (await d.ok(['run', '-d', 'test/busybox:1', 'sleep', '86400'])).trim();
    const started = (await d.ok(['inspect', '-f', '{{.State.StartedAt}}', id])).trim();
    const pid = await dockerdPid();
    for (const cmd of [['env', NAME], ['config', NAME], ['url', NAME], ['ls'], ['inspect', NAME]]) {
      const res = await run(cmd, { env: { SHELL: '/bin/bash', DOCKER_CONFIG: path.join(store, 'docker-config') } });
      expect(res.exitCode, `${cmd.join(' ')}: ${res.all}`).toBe(0);
      expect(String(res.stderr), cmd.join(' ')).not.toMatch(/re-issu|restart/i);
    }
    expect(await dockerdPid()).toBe(pid);
    expect((await d.ok(['inspect', '-f', '{{.State.Running}} {{.State.StartedAt}}', id])).trim()).toBe(`true ${started}`);
    await d.ok(['rm', '-f', id]);
  }, 300_000);

  it('proxy settings come from config.json: a shell without HTTP_PROXY changes nothing, --proxy-from-env does', async () => {
    const pid = await dockerdPid();
    const noProxy = { HTTP_PROXY: '', http_proxy: '', HTTPS_PROXY: '', https_proxy: '' };
    await envVars(noProxy);
    const prov = await run(['provision', NAME], { env: { ...noProxy, HTTP_PROXY: 'http://other.invalid:1/' } });
    expect(prov.exitCode, String(prov.all)).toBe(0);
    expect(String(prov.stdout)).toContain(`(${NAME}) Already up to date`);
    expect(await dockerdPid()).toBe(pid);
    const take = await run(['provision', '--proxy-from-env', NAME], { env: { ...noProxy, HTTP_PROXY: 'http://corp.invalid:8080' } });
    expect(take.exitCode, String(take.all)).toBe(0);
    const info = JSON.parse(await (await docker()).ok(['info', '--format', '{{json .}}']));
    expect(info.HttpProxy).toBe('http://corp.invalid:8080');
    expect((await config()).HostOptions.HostProxy).toEqual(['HTTP_PROXY=http://corp.invalid:8080']);
  }, 300_000);

  it('20 parallel env and status calls all see it running, and leave one forwarder', async () => {
    const d = await docker();
    await d.ok(['run', '-d', '--name', 'web', '-p', '18081:80', 'test/busybox:1', 'httpd', '-f', '-h', '/www']);
    for (let round = 0; round < 2; round++) {
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => (i % 2 ? run(['status', NAME]) : run(['env', NAME], { env: { SHELL: '/bin/bash' } }))),
      );
      for (const [i, r] of results.entries()) {
        expect(r.exitCode, String(r.all)).toBe(0);
        if (i % 2) expect(String(r.stdout).trim()).toBe('Running');
        else expect(String(r.stdout)).toContain('DOCKER_HOST');
      }
    }
    expect(await forwarders()).toBe(1);
    const page = await fetch('http://127.0.0.1:18081/').then((r) => r.text());
    expect(page).toBe('hello from busybox httpd\n');
    const ports = JSON.parse(String((await run(['ports', NAME, '--format', 'json'])).stdout));
    expect(ports.forwards.map((f: { hostPort: number }) => f.hostPort)).toEqual([18081]);
  }, 300_000);

  it('a SIGKILLed forwarder is replaced by exactly one, by the next env', async () => {
    const vm = await qemuPids();
    const fwd = (await processesMentioning(store)).filter((p) => !vm.includes(p));
    expect(fwd).toHaveLength(1);
    process.kill(fwd[0]!, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 300));
    expect(await forwarders()).toBe(0);
    await Promise.all([envVars(), envVars(), envVars()]);
    expect(await forwarders()).toBe(1);
    const page = await fetch('http://127.0.0.1:18081/').then((r) => r.text());
    expect(page).toBe('hello from busybox httpd\n');
  }, 120_000);

  it('a lost qemu.pid and a lost qmp.sock: still Running, and stop still stops it; two names in one command', async () => {
    await fs.rm(path.join(dir, 'qemu.pid'));
    expect(String((await run(['status', NAME])).stdout).trim()).toBe('Running');
    expect(await fs.readFile(path.join(dir, 'qemu.pid'), 'utf8')).toMatch(/^\d+\n$/); // found by its command line
    await fs.rm(path.join(dir, 'qmp.sock'));
    expect(String((await run(['status', NAME])).stdout).trim()).toBe('Running');
    // Two names in one command: the machine is stopped, the other one named, nothing crashes.
    const stop = await run(['stop', NAME, 'ghost']);
    expect(stop.exitCode).toBe(1);
    expect(String(stop.stdout)).toContain(`Machine "${NAME}" was stopped.`);
    expect(String(stop.stderr).trim().split('\n').pop()).toMatch(/^Docker machine "ghost" does not exist/);
    expect(await qemuPids()).toEqual([]);
    expect(String((await run(['status', NAME])).stdout).trim()).toBe('Stopped');
  }, 300_000);

  it('Ctrl-C is obeyed within 2 s in start and provision; an interrupted start is completed by the next one', async () => {
    const start = startUntil(['start', 'ghost', NAME], /Booting|Waiting for SSH|Accelerator/);
    await start.seen;
    await new Promise((r) => setTimeout(r, 1500));
    const t = await signalAndTime(start.child, 'SIGINT');
    expect(t.code).toBe(130);
    expect(t.ms).toBeLessThan(2000);
    // The VM keeps booting, its share not mounted yet: the next start completes the bring-up rather than refusing.
    const again = await run(['start', NAME]);
    expect(again.exitCode, String(again.all)).toBe(0);
    expect(String(again.stdout)).toMatch(new RegExp(`Machine "${NAME}" was already running; its bring-up was completed\\.`));
    expect(await inVm(`grep -c ' 9p ' /proc/mounts`)).toBe('1');
    expect((await (await docker()).ok(['ps', '-a', '--format', '{{.Names}}'])).trim()).toContain('web');
    const prov = startUntil(['provision', NAME], /never/);
    await new Promise((r) => setTimeout(r, 700)); // connecting over SSH, or inspecting the VM
    const p = await signalAndTime(prov.child, 'SIGTERM');
    expect(p.ms).toBeLessThan(2000);
    expect([0, 130, 'SIGTERM']).toContain(p.code);
    expect((await config()).Name).toBe(NAME);
  }, 600_000);

  it('a SIGKILLed QEMU: Stopped, and the forwarder goes by itself', async () => {
    expect(await forwarders()).toBe(1);
    for (const pid of await qemuPids()) process.kill(pid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 500));
    expect(String((await run(['status', NAME])).stdout).trim()).toBe('Stopped');
    for (let i = 0; i < 40 && (await forwarders()) > 0; i++) await new Promise((r) => setTimeout(r, 250));
    expect(await forwarders()).toBe(0);
    expect((await config()).Name).toBe(NAME);
  }, 120_000);

  it('a command SIGKILLed while it holds the lock blocks nothing: the next one takes the lock over at once', async () => {
    const start = startUntil(['start', NAME], /Booting|Waiting for SSH/);
    await start.seen;
    start.child.kill('SIGKILL');
    await start.child;
    // Its lock names a dead process: no "busy", no 15 s wait; the booting VM is killed.
    const t0 = Date.now();
    const kill = await run(['kill', NAME]);
    expect(kill.exitCode, String(kill.all)).toBe(0);
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(await qemuPids()).toEqual([]);
    expect((await config()).Name).toBe(NAME);
    // And once more, leaving a VM running (booting) for the next check.
    const again = startUntil(['start', NAME], /Booting|Waiting for SSH/);
    await again.seen;
    again.child.kill('SIGKILL');
    await again.child;
  }, 300_000);

  it('rm -f with config.json lost while the VM runs: refused while it is no machine; a crash marker makes it one, and the VM ends first', async () => {
    expect((await qemuPids()).length).toBe(1);
    await fs.rm(path.join(dir, 'config.json'));
    const refused = await run(['rm', '-f', NAME]);
    expect(refused.exitCode).toBe(1);
    expect(String(refused.stdout)).not.toContain('Successfully removed');
    expect(String(refused.stderr)).toMatch(/has no config\.json \(process \d+ uses it\): it is not a machine/);
    await fs.writeFile(path.join(dir, '.creating'), '999999999'); // a half-made machine, as a crash leaves it
    const rm = await run(['rm', '-f', NAME]);
    expect(rm.exitCode, String(rm.all)).toBe(0);
    expect(String(rm.stdout)).toContain(`Successfully removed ${NAME}`);
    expect(await processesMentioning(store)).toEqual([]);
    expect(await fs.readdir(path.join(store, 'machines'))).toEqual([]);
  }, 120_000);
});
