import { existsSync, promises as fs, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { IsoImage, isolinuxBootEntry } from '../../src/iso/iso9660.js';
import { testIso } from '../helpers/vm.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureClientCerts, certPathsIn } from '../../src/certs/bootstrap.js';
import { ensureServerCert, machineCertPaths } from '../../src/certs/server.js';
import type { ExecResult } from '../../src/core/system.js';
import { renderDoctor } from '../../src/doctor/index.js';
import {
  accelCheck,
  conflictsCheck,
  dockerCliCheck,
  findHypervisors,
  hostChecks,
  hostOnlyCheck,
  proxyCheck,
  vboxDriverCheck,
  virtualizationCheck,
} from '../../src/doctor/host-checks.js';
import { apiCheck, certsCheck, clockCheck, machineProxyCheck } from '../../src/doctor/machine-checks.js';
import type { DoctorHost } from '../../src/doctor/types.js';
import type { Host } from '../../src/host/host.js';
import { machine, tempStore } from '../helpers/cli.js';
import { onPath } from '../helpers/shells.js';

/** A computer described by its files, programs and environment. */
function fakeHost(o: {
  platform?: NodeJS.Platform;
  arch?: string;
  env?: NodeJS.ProcessEnv;
  files?: Record<string, string>;
  paths?: string[];
  exec?: (file: string, args: string[]) => Partial<ExecResult> | undefined;
  accel?: { accel: string; reason: string };
  taken?: number[];
  interfaces?: NodeJS.Dict<os.NetworkInterfaceInfo[]>;
}): DoctorHost {
  const files = o.files ?? {};
  const paths = new Set([...(o.paths ?? []), ...Object.keys(files)]);
  return {
    platform: o.platform ?? 'linux',
    arch: o.arch ?? 'x64',
    env: o.env ?? { PATH: '/usr/bin' },
    cpus: 4,
    homedir: '/home/me',
    exec: async (file, args) => {
      const r = o.exec?.(file, args);
      return r ? { stdout: '', stderr: '', exitCode: 0, ...r } : { stdout: '', stderr: '', exitCode: 127, spawnError: 'ENOENT' };
    },
    readFile: async (f) => files[f],
    isFile: async (f) => paths.has(f),
    exists: async (f) => paths.has(f),
    networkInterfaces: () => o.interfaces ?? {},
    portFree: async (p) => !(o.taken ?? []).includes(p),
    probeAccel: async () => o.accel ?? { accel: 'kvm', reason: 'kvm ran an empty VM in 80 ms' },
    now: () => Date.now(),
  };
}

const WIN_PROBE = (hv: boolean, fw = true, vbs = '0') =>
  `HypervisorPresent=${hv ? 'True' : 'False'}\r\nVirtualizationFirmwareEnabled=${fw ? 'True' : 'False'}\r\nVMMonitorModeExtensions=True\r\nVBSStatus=${vbs}\r\n`;

describe('host checks, on made-up computers', () => {
  it('Windows with Hyper-V/WSL2 on: VirtualBox 7 works through it (warn), VirtualBox 5 cannot (fail)', async () => {
    const win = new Map(Object.entries({ HypervisorPresent: 'True', VBSStatus: '2' }));
    const host = fakeHost({ platform: 'win32' });
    const v7 = await conflictsCheck(
      host,
      { virtualbox: { path: 'VBoxManage.exe', raw: '7.2.4r170995', version: { raw: '7.2.4r170995', major: 7, minor: 2, patch: 4 } } },
      win,
    );
    expect(v7).toMatchObject({ status: 'warn', fix: expect.stringContaining('bcdedit /set hypervisorlaunchtype off') });
    expect(v7.message).toMatch(/Hyper-V, WSL2.*and Virtualization-Based Security/);
    const v5 = await conflictsCheck(
      host,
      { virtualbox: { path: 'x', raw: '5.2.44', version: { raw: '5.2.44', major: 5, minor: 2, patch: 44 } } },
      win,
    );
    expect(v5.status).toBe('fail');
    expect((await virtualizationCheck(host, win)).status).toBe('ok');
  });

  it('Windows: VT-x off in the firmware; the VBoxSup service stopped', async () => {
    const host = fakeHost({
      platform: 'win32',
      exec: (file, args) =>
        file === 'powershell.exe'
          ? { stdout: WIN_PROBE(false, false) }
          : file === 'sc' && args[1] === 'vboxsup'
            ? { stdout: 'STATE              : 1  STOPPED' }
            : undefined,
    });
    const { results } = await hostChecks(host, []);
    expect(results.find((r) => r.id === 'vtx')).toMatchObject({ status: 'fail', message: 'VT-x/AMD-V is turned off in the firmware' });
    const vboxHost = fakeHost({
      platform: 'win32',
      exec: (file) => (file === 'sc' ? { stdout: 'STATE              : 1  STOPPED' } : undefined),
    });
    expect(await vboxDriverCheck(vboxHost, { virtualbox: { path: 'x', raw: '7.2.4' } })).toMatchObject({
      status: 'fail',
      fix: expect.stringContaining('sc start vboxsup'),
    });
  });

  it('Linux: VT-x and a working KVM; a VM without nested virtualization; a KVM that hangs', async () => {
    const qemu = { qemu: { path: '/usr/bin/qemu-system-x86_64', version: '8.2.2' } };
    const good = fakeHost({ files: { '/proc/cpuinfo': 'flags\t\t: fpu vme vmx sse\n' }, paths: ['/dev/kvm'] });
    expect((await virtualizationCheck(good)).status).toBe('ok');
    expect((await accelCheck(good, qemu)).status).toBe('ok');
    const nested = fakeHost({
      files: { '/proc/cpuinfo': 'flags\t\t: fpu vme sse hypervisor\n' },
      paths: ['/dev/kvm'],
      accel: { accel: 'tcg', reason: 'kvm did not run an empty VM within 2500 ms' },
    });
    expect(await virtualizationCheck(nested)).toMatchObject({
      status: 'warn',
      message: expect.stringContaining('itself a virtual machine'),
    });
    expect(await accelCheck(nested, qemu)).toMatchObject({
      status: 'warn',
      message: expect.stringMatching(/^\/dev\/kvm exists but is unusable \(kvm did not run/),
    });
    const bare = fakeHost({ files: { '/proc/cpuinfo': 'flags\t\t: fpu vme sse\n' } });
    expect((await virtualizationCheck(bare)).status).toBe('fail');
    expect((await accelCheck(bare, qemu)).message).toMatch(/^\/dev\/kvm does not exist/);
  });

  it('Linux: KVM that takes VT-x at load (6.12+) stops VirtualBox; no vboxdrv', async () => {
    const vbox = { virtualbox: { path: '/usr/bin/VBoxManage', raw: '7.2.4', version: { raw: '7.2.4', major: 7, minor: 2, patch: 4 } } };
    const host = fakeHost({
      files: { '/sys/module/kvm/parameters/enable_virt_at_load': 'Y\n', '/proc/modules': 'kvm_intel 1 0\n' },
      paths: ['/sys/module/kvm_intel'],
    });
    expect(await conflictsCheck(host, vbox)).toMatchObject({ status: 'fail', fix: expect.stringContaining('kvm.enable_virt_at_load=0') });
    expect(await vboxDriverCheck(host, vbox)).toMatchObject({
      status: 'fail',
      message: 'no VirtualBox kernel driver: the vboxdrv module is not loaded',
    });
    expect((await vboxDriverCheck(host, {})).status).toBe('info');
  });

  it("host-only ranges: VirtualBox 7 on Linux without networks.conf refuses docker-machine's 192.168.99.1/24", async () => {
    const vbox = { virtualbox: { path: '/usr/bin/VBoxManage', raw: '7.2.4', version: { raw: '7.2.4', major: 7, minor: 2, patch: 4 } } };
    const host = fakeHost({});
    expect(await hostOnlyCheck(host, vbox, [{ machine: 'old', cidr: '192.168.99.1/24' }])).toMatchObject({
      status: 'fail',
      fix: 'add the line "* 192.168.99.0/24" to /etc/vbox/networks.conf (as root)',
    });
    expect(await hostOnlyCheck(host, vbox, [])).toMatchObject({
      status: 'ok',
      message: expect.stringMatching(/allows host-only networks in 192\.168\.56\.0\/21 .*new machines use 192\.168\.59\.1\/24$/),
    });
    const conf = fakeHost({ files: { '/etc/vbox/networks.conf': '* 10.0.0.0/8 192.168.0.0/16\n' } });
    expect((await hostOnlyCheck(conf, vbox, [{ machine: 'old', cidr: '192.168.99.1/24' }])).status).toBe('ok');
    const lan = fakeHost({
      interfaces: { wlan0: [{ address: '192.168.59.20', family: 'IPv4', internal: false } as os.NetworkInterfaceInfo] },
    });
    expect((await hostOnlyCheck(lan, vbox, [])).status).toBe('warn');
    const windows = fakeHost({ platform: 'win32' });
    expect((await hostOnlyCheck(windows, vbox, [{ machine: 'old', cidr: '192.168.99.1/24' }])).message).toMatch(/no limit/);
  });

  it('proxies: credentials masked; an http:// ALL_PROXY is a warning; no docker CLI is a warning', () => {
    expect(proxyCheck(fakeHost({ env: {} })).status).toBe('ok');
    const p = proxyCheck(fakeHost({ env: { HTTPS_PROXY: 'http://bob:secret@proxy:3128', ALL_PROXY: 'http://proxy:3128' } }));
    expect(p.status).toBe('warn');
    expect(p.message).toContain('HTTPS_PROXY=http://xxxxx:xxxxx@proxy:3128');
    expect(p.message).not.toContain('secret');
    expect(dockerCliCheck(fakeHost({ platform: 'darwin' }), undefined)).toMatchObject({
      status: 'warn',
      fix: 'install it: "brew install docker"',
    });
  });

  it('finds QEMU and VirtualBox with their versions; neither is a failure', async () => {
    const host = fakeHost({
      env: { PATH: '/usr/bin' },
      paths: ['/usr/bin/qemu-system-x86_64', '/usr/bin/VBoxManage'],
      exec: (file) =>
        file.endsWith('qemu-system-x86_64')
          ? { stdout: 'QEMU emulator version 8.2.2 (Debian 1:8.2.2+ds-0ubuntu1)\n' }
          : file.endsWith('VBoxManage')
            ? { stdout: '7.2.4r170995\n' }
            : undefined,
    });
    const hv = await findHypervisors(host);
    expect(hv.qemu).toEqual({ path: '/usr/bin/qemu-system-x86_64', version: '8.2.2' });
    expect(hv.virtualbox?.version?.raw).toBe('7.2.4r170995');
    const { results } = await hostChecks(fakeHost({ env: { PATH: '/nowhere' } }), []);
    expect(results.filter((r) => r.id === 'qemu' || r.id === 'virtualbox').map((r) => r.status)).toEqual(['fail', 'fail']);
  });
});

describe('machine checks', () => {
  const d = (o: { api?: string; min?: string; time?: string; proxy?: string }) => ({
    version: { Version: '26.1.4', ApiVersion: o.api ?? '1.45', MinAPIVersion: o.min ?? '1.24' },
    info: { SystemTime: o.time, HttpsProxy: o.proxy, HttpProxy: o.proxy },
    askedAt: Date.parse('2026-01-01T00:00:00Z'),
  });
  const docker = { path: '/usr/bin/docker', version: '28.2.2', apiVersion: '1.50' };

  it('API versions: the CLI negotiates down; too old a CLI, or a pinned DOCKER_API_VERSION, fails', () => {
    expect(apiCheck(fakeHost({}), 'default', docker, d({}))).toMatchObject({
      status: 'ok',
      message: expect.stringContaining('(API 1.50) negotiates down to 1.45'),
    });
    expect(apiCheck(fakeHost({}), 'default', { ...docker, apiVersion: '1.12' }, d({})).status).toBe('fail');
    expect(apiCheck(fakeHost({ env: { DOCKER_API_VERSION: '1.47' } }), 'default', docker, d({})).status).toBe('fail');
  });

  it("clock skew: seconds are fine, minutes warn, beyond the certificates' 5-minute margin fails", () => {
    expect(clockCheck('default', d({ time: '2026-01-01T00:00:01.500000000Z' }))).toMatchObject({
      status: 'ok',
      details: { skewSeconds: 1.5 },
    });
    expect(clockCheck('default', d({ time: '2026-01-01T00:01:00Z' })).status).toBe('warn');
    expect(clockCheck('default', d({ time: '2025-12-31T23:50:00Z' }))).toMatchObject({
      status: 'fail',
      message: expect.stringContaining('600.0 s behind'),
    });
  });

  it("proxies: the host has one and the VM's daemon not; a loopback proxy in the VM; NO_PROXY for a host-only address", () => {
    const env = { HTTPS_PROXY: 'http://proxy.corp:3128' };
    expect(machineProxyCheck(fakeHost({ env }), 'default', 'qemu', 'tcp://127.0.0.1:5000', d({}))).toMatchObject({
      status: 'warn',
      fix: expect.stringContaining('machine provision --proxy-from-env default'),
    });
    expect(
      machineProxyCheck(fakeHost({ env }), 'default', 'qemu', 'tcp://127.0.0.1:5000', d({ proxy: 'http://127.0.0.1:3128' }))?.status,
    ).toBe('warn');
    expect(
      machineProxyCheck(fakeHost({ env }), 'vb', 'virtualbox', 'tcp://192.168.59.100:2376', d({ proxy: 'http://proxy.corp:3128' })),
    ).toMatchObject({
      status: 'warn',
      fix: 'eval $(machine env --no-proxy vb)',
    });
    expect(
      machineProxyCheck(fakeHost({ env }), 'default', 'qemu', 'tcp://127.0.0.1:5000', d({ proxy: 'http://10.0.2.2:3128' }))?.status,
    ).toBe('ok');
    expect(machineProxyCheck(fakeHost({ env: {} }), 'default', 'qemu', 'tcp://127.0.0.1:5000', d({}))).toBeUndefined();
  });

  describe('certificates', () => {
    let dir: string;
    let fake: (hosts: string[]) => Host;
    beforeAll(async () => {
      dir = await fs.mkdtemp(path.join(os.tmpdir(), 'doctor-certs-'));
      const certs = certPathsIn(path.join(dir, 'certs'));
      const client = await ensureClientCerts(certs);
      const mdir = path.join(dir, 'machines', 'default');
      await fs.mkdir(mdir, { recursive: true });
      await ensureServerCert(machineCertPaths(mdir), client, 'default', ['localhost', '127.0.0.1', 'default']);
      const AuthOptions = {
        CaCertPath: certs.caCert,
        ClientCertPath: certs.clientCert,
        ServerCertPath: path.join(mdir, 'server.pem'),
      };
      fake = (hosts) =>
        ({ name: 'default', dir: mdir, config: { HostOptions: { AuthOptions } }, requiredCertHosts: async () => hosts }) as unknown as Host;
    });
    afterAll(async () => {
      await fs.rm(dir, { recursive: true, force: true });
    });

    it('valid for every address in use, or the one missing named with the fix', async () => {
      expect(await certsCheck(fakeHost({}), fake(['localhost', '127.0.0.1', 'default']))).toMatchObject({ status: 'ok' });
      expect(await certsCheck(fakeHost({}), fake(['localhost', '127.0.0.1', 'default', '192.168.59.101']))).toMatchObject({
        status: 'fail',
        message: expect.stringMatching(/^the server certificate does not cover 192\.168\.59\.101/),
        fix: expect.stringContaining('machine env default'),
      });
    });

    it('expired, or about to', async () => {
      const later = { ...fakeHost({}), now: () => Date.now() + 1079 * 86_400_000 };
      expect((await certsCheck(later, fake(['localhost']))).status).toBe('warn');
      const past = { ...fakeHost({}), now: () => Date.now() + 1100 * 86_400_000 };
      expect((await certsCheck(past, fake(['localhost']))).status).toBe('fail');
    });
  });
});

describe('rendering', () => {
  it('one line per check: verdict, name, finding, fix; a summary', () => {
    const text = renderDoctor({
      platform: 'linux',
      arch: 'x64',
      storagePath: '/s',
      checks: [
        { id: 'qemu', title: 'QEMU', status: 'ok', message: 'QEMU 7.2 at /usr/bin/qemu' },
        { id: 'clock', title: 'clock', machine: 'default', status: 'warn', message: 'skewed', fix: 'restart' },
      ],
      summary: { ok: 1, warn: 1, fail: 0, info: 0 },
    });
    expect(text).toBe(
      'ok   QEMU             QEMU 7.2 at /usr/bin/qemu\nwarn clock (default)  skewed; fix: restart\n\n1 ok, 1 warning, 0 failed, 0 info\n',
    );
  });
});

/**
 * The real `machine doctor` on this computer, each verdict checked against facts gathered here
 * independently (on the Debian 12 VM it was written on: KVM present but hanging, no vmx flag, no
 * VirtualBox kernel driver, docker CLI 28 and no daemon).
 */
describe('machine doctor on this computer', () => {
  it('gives true verdicts', async () => {
    const store = await tempStore('doctor-');
    try {
      const started = Date.now();
      const res = await machine(store, ['doctor', '--format', 'json'], {
        env: { DOCKER_HOST: '', DOCKER_CONTEXT: '', DOCKER_CONFIG: path.join(store, 'docker') },
      });
      const ms = Date.now() - started;
      const report = JSON.parse(String(res.stdout));
      const byId = (id: string) => report.checks.find((c: { id: string }) => c.id === id);
      expect(res.exitCode).toBe(report.summary.fail ? 1 : 0);

      const qemu = onPath('qemu-system-x86_64');
      expect(byId('qemu').status).toBe(qemu ? 'ok' : 'fail');
      const flags = readFileSync('/proc/cpuinfo', 'utf8');
      const vtx = /\b(vmx|svm)\b/.test(flags);
      expect(byId('vtx').status).toBe(vtx ? 'ok' : /\bhypervisor\b/.test(flags) ? 'warn' : 'fail');
      if (qemu && existsSync('/dev/kvm')) {
        // KVM works when it boots the machines' own kernel: its banner reaches the serial console
        // (an empty VM runs even where every Linux guest hangs, as on this kind of host).
        const kernel = path.join(store, 'vmlinuz');
        const iso = await IsoImage.open(await testIso());
        await iso.extract((await isolinuxBootEntry(iso))!.kernel, kernel);
        await iso.close();
        const probe = await execa(
          qemu,
          ['-accel', 'kvm', '-M', 'pc', '-cpu', 'host', '-m', '256', '-nodefaults', '-display', 'none', '-serial', 'stdio', '-no-reboot', '-kernel', kernel, '-append', 'console=ttyS0 earlyprintk=serial,ttyS0 panic=-1'],
          { reject: false, timeout: 8000, killSignal: 'SIGKILL', stdin: 'ignore' },
        );
        const booted = /Linux version/.test(probe.stdout);
        // Near the driver's 5 s line either verdict is true.
        if (!booted || probe.durationMs < 3000) expect(byId('accel').status).toBe(booted ? 'ok' : 'warn');
        else expect(['ok', 'warn']).toContain(byId('accel').status);
      }
      expect(byId('vbox-driver').status).toBe(existsSync('/dev/vboxdrv') ? 'ok' : onPath('VBoxManage') ? 'fail' : 'info');
      const docker = onPath('docker');
      expect(byId('docker-cli').status).toBe(docker ? 'ok' : 'warn');
      if (docker)
        expect(byId('docker-cli').message).toContain(`docker ${(await execa(docker, ['--version'])).stdout.match(/version ([\w.]+)/)![1]}`);
      expect(byId('target')).toMatchObject({ status: 'info', message: 'the docker CLI uses its default context' });
      expect(ms).toBeLessThan(15_000);

      const text = await machine(store, ['doctor'], {
        env: { DOCKER_HOST: '', DOCKER_CONTEXT: '', DOCKER_CONFIG: path.join(store, 'docker') },
      });
      const lines = String(text.stdout).split('\n');
      expect(lines[0]).toMatch(/^(ok|warn|FAIL|info) +QEMU +/);
      expect(lines.at(-1)).toMatch(/^\d+ ok, \d+ warnings?, \d+ failed, \d+ info$/);
    } finally {
      await fs.rm(store, { recursive: true, force: true });
    }
  }, 30_000);
});
