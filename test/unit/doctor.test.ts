import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureClientCerts, certPathsIn } from '../../src/certs/bootstrap.js';
import { ensureServerCert, machineCertPaths } from '../../src/certs/server.js';
import type { ExecResult } from '../../src/core/system.js';
import { accelCheck, findQemu } from '../../src/drivers/qemu/doctor.js';
import { probeVirtualization } from '../../src/drivers/virtualbox/checks.js';
import { conflictsCheck, hostOnlyCheck, vboxDriverCheck, virtualizationCheck } from '../../src/drivers/virtualbox/doctor.js';
import { findVirtualBox } from '../../src/drivers/virtualbox/hostenv.js';
import { runDoctor } from '../../src/doctor/index.js';
import { renderDoctor } from '../../src/output/doctor.js';
import { dockerCliCheck, hostChecks, proxyCheck } from '../../src/doctor/host-checks.js';
import { apiCheck, certsCheck, clockCheck, machineProxyCheck } from '../../src/doctor/machine-checks.js';
import type { DoctorSystem } from '../../src/core/check.js';
import type { Machine } from '../../src/machine/machine.js';
import type { HostConfig } from '../../src/store/config.js';
import { Store } from '../../src/store/store.js';
import { machine, tempStore } from '../helpers/cli.js';

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
}): DoctorSystem {
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
    const host = fakeHost({
      platform: 'win32',
      exec: (file) => (file === 'powershell.exe' ? { stdout: WIN_PROBE(true, true, '2') } : undefined),
    });
    const win = await probeVirtualization(host);
    const v7 = await conflictsCheck(
      host,
      { path: 'VBoxManage.exe', raw: '7.2.4r170995', version: { raw: '7.2.4r170995', major: 7, minor: 2, patch: 4 } },
      win,
    );
    expect(v7).toMatchObject({ status: 'warn', fix: expect.stringContaining('bcdedit /set hypervisorlaunchtype off') });
    expect(v7.message).toMatch(/Hyper-V, WSL2.*and Virtualization-Based Security/);
    const v5 = await conflictsCheck(host, { path: 'x', raw: '5.2.44', version: { raw: '5.2.44', major: 5, minor: 2, patch: 44 } }, win);
    expect(v5.status).toBe('fail');
    expect(virtualizationCheck(host, win)).toMatchObject({
      status: 'ok',
      message: 'held by the Windows hypervisor (see the Hyper-V line)',
    });
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
    expect(await vboxDriverCheck(vboxHost, { path: 'x', raw: '7.2.4' })).toMatchObject({
      status: 'fail',
      fix: expect.stringContaining('sc start vboxsup'),
    });
  });

  it('Linux: VT-x and a working KVM; a VM without nested virtualization; a KVM that hangs', async () => {
    const qemu = { path: '/usr/bin/qemu-system-x86_64', version: '8.2.2' };
    const good = fakeHost({ files: { '/proc/cpuinfo': 'flags\t\t: fpu vme vmx sse\n' }, paths: ['/dev/kvm'] });
    expect(virtualizationCheck(good, await probeVirtualization(good)).status).toBe('ok');
    expect((await accelCheck(good, qemu)).status).toBe('ok');
    const nested = fakeHost({
      files: { '/proc/cpuinfo': 'flags\t\t: fpu vme sse hypervisor\n' },
      paths: ['/dev/kvm'],
      accel: { accel: 'tcg', reason: 'kvm did not run an empty VM within 2500 ms' },
    });
    expect(virtualizationCheck(nested, await probeVirtualization(nested))).toMatchObject({
      status: 'warn',
      message: expect.stringContaining('itself a virtual machine'),
    });
    expect(await accelCheck(nested, qemu)).toMatchObject({
      status: 'warn',
      message: expect.stringMatching(/^\/dev\/kvm exists but is unusable \(kvm did not run/),
    });
    const bare = fakeHost({ files: { '/proc/cpuinfo': 'flags\t\t: fpu vme sse\n' } });
    expect(virtualizationCheck(bare, await probeVirtualization(bare)).status).toBe('fail');
    expect((await accelCheck(bare, qemu)).message).toMatch(/^\/dev\/kvm does not exist/);
  });

  it("the KVM probe is offered each QEMU machine's own ISO (an installed package builds none)", async () => {
    const offered: string[][] = [];
    const host: DoctorSystem = {
      ...fakeHost({
        paths: ['/dev/kvm', '/usr/bin/qemu-system-x86_64'],
        exec: (file) => (file.endsWith('qemu-system-x86_64') ? { stdout: 'QEMU emulator version 8.2.2\n' } : undefined),
      }),
      probeAccel: async (_qemu, isos) => (offered.push(isos), { accel: 'kvm', reason: 'kvm ran an empty VM in 80 ms' }),
    };
    const vm = (name: string, DriverName: string) =>
      ({ Name: name, DriverName, Driver: { StorePath: '/home/me/.docker/machine', MachineName: name } }) as unknown as HostConfig;
    const { results } = await hostChecks(host, [vm('q1', 'qemu'), vm('vb', 'virtualbox'), vm('q2', 'qemu')]);
    expect(results.find((r) => r.id === 'accel')?.status).toBe('ok');
    expect(offered).toEqual([
      ['/home/me/.docker/machine/machines/q1/boot2docker.iso', '/home/me/.docker/machine/machines/q2/boot2docker.iso'],
    ]);
  });

  it('Linux: KVM that takes VT-x at load (6.12+) stops VirtualBox; no vboxdrv', async () => {
    const vbox = { path: '/usr/bin/VBoxManage', raw: '7.2.4', version: { raw: '7.2.4', major: 7, minor: 2, patch: 4 } };
    const host = fakeHost({
      files: { '/sys/module/kvm/parameters/enable_virt_at_load': 'Y\n', '/proc/modules': 'kvm_intel 1 0\n' },
      paths: ['/sys/module/kvm_intel'],
    });
    expect(await conflictsCheck(host, vbox, await probeVirtualization(host))).toMatchObject({
      status: 'fail',
      fix: expect.stringContaining('kvm.enable_virt_at_load=0'),
    });
    expect(await vboxDriverCheck(host, vbox)).toMatchObject({
      status: 'fail',
      message: 'no VirtualBox kernel driver: the vboxdrv module is not loaded',
    });
    expect((await vboxDriverCheck(host, undefined)).status).toBe('info');
  });

  it("host-only ranges: VirtualBox 7 on Linux without networks.conf refuses docker-machine's 192.168.99.1/24", async () => {
    const vbox = { path: '/usr/bin/VBoxManage', raw: '7.2.4', version: { raw: '7.2.4', major: 7, minor: 2, patch: 4 } };
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
    expect(await findQemu(host)).toEqual({ path: '/usr/bin/qemu-system-x86_64', version: '8.2.2' });
    expect((await findVirtualBox(host))?.version?.raw).toBe('7.2.4r170995');
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
    expect(machineProxyCheck(fakeHost({ env }), 'default', '10.0.2.2', 'tcp://127.0.0.1:5000', d({}))).toMatchObject({
      status: 'warn',
      fix: expect.stringContaining('machine provision --proxy-from-env default'),
    });
    expect(
      machineProxyCheck(fakeHost({ env }), 'default', '10.0.2.2', 'tcp://127.0.0.1:5000', d({ proxy: 'http://127.0.0.1:3128' })),
    ).toMatchObject({ status: 'warn', fix: expect.stringContaining('(10.0.2.2 for this computer)') });
    expect(
      machineProxyCheck(fakeHost({ env }), 'gen', undefined, 'tcp://203.0.113.5:2376', d({ proxy: 'http://localhost:3128' }))?.fix,
    ).toContain("(the host's address for this computer)");
    expect(
      machineProxyCheck(fakeHost({ env }), 'vb', '10.0.2.2', 'tcp://192.168.59.100:2376', d({ proxy: 'http://proxy.corp:3128' })),
    ).toMatchObject({
      status: 'warn',
      fix: 'eval $(machine env --no-proxy vb)',
    });
    expect(
      machineProxyCheck(fakeHost({ env }), 'default', '10.0.2.2', 'tcp://127.0.0.1:5000', d({ proxy: 'http://10.0.2.2:3128' }))?.status,
    ).toBe('ok');
    expect(machineProxyCheck(fakeHost({ env: {} }), 'default', '10.0.2.2', 'tcp://127.0.0.1:5000', d({}))).toBeUndefined();
  });

  describe('certificates', () => {
    let dir: string;
    let fake: (hosts: string[]) => Machine;
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
        ({
          name: 'default',
          dir: mdir,
          config: { HostOptions: { AuthOptions } },
          requiredCertHosts: async () => hosts,
        }) as unknown as Machine;
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

/** A store's whole report, as [id, verdict, message] rows, on a computer given by its facts. */
async function doctorOn(host: DoctorSystem): Promise<{ rows: [string, string, string][]; text: string }> {
  const root = await tempStore('doctor-');
  try {
    const report = await runDoctor(new Store(root), [], { ...host, env: { ...host.env, DOCKER_CONFIG: path.join(root, 'docker') } });
    return { rows: report.checks.map((c) => [c.id, c.status, c.message]), text: renderDoctor(report) };
  } finally {
    await fs.rm(root, { recursive: true, force: true });
  }
}

describe('machine doctor: exact verdicts for given facts', () => {
  it('a Debian VM without nested virtualization: QEMU installed, KVM present but hanging, docker CLI, no VirtualBox', async () => {
    const { rows, text } = await doctorOn(
      fakeHost({
        files: { '/proc/cpuinfo': 'processor\t: 0\nflags\t\t: fpu vme sse sse2 hypervisor\n' },
        paths: ['/dev/kvm', '/usr/bin/qemu-system-x86_64', '/usr/bin/docker'],
        exec: (file, args) =>
          file === '/usr/bin/qemu-system-x86_64'
            ? { stdout: 'QEMU emulator version 7.2.15 (Debian 1:7.2+dfsg-7+deb12u12)\n' }
            : file === '/usr/bin/docker' && args.includes('version')
              ? { stdout: '{"Version":"28.2.2","ApiVersion":"1.50"}\n' }
              : undefined,
        accel: { accel: 'tcg', reason: 'kvm did not boot the kernel within 5000 ms' },
      }),
    );
    expect(rows).toEqual([
      ['qemu', 'ok', 'QEMU 7.2.15 at /usr/bin/qemu-system-x86_64'],
      ['virtualbox', 'info', 'not installed (VBoxManage not found): needed only for -d virtualbox'],
      ['vtx', 'warn', 'not available: this computer is itself a virtual machine whose hypervisor does not pass VT-x/AMD-V on'],
      [
        'accel',
        'warn',
        '/dev/kvm exists but is unusable (kvm did not boot the kernel within 5000 ms): QEMU machines use software emulation (several times slower)',
      ],
      ['vbox-driver', 'info', 'no VirtualBox kernel driver: the vboxdrv module is not loaded (needed only for -d virtualbox)'],
      ['conflicts', 'ok', 'no conflict: VirtualBox is not installed'],
      ['host-only', 'info', 'VirtualBox is not installed: no host-only network rules apply'],
      [
        'host-arch',
        'info',
        "this computer is amd64: amd64 machines run natively, arm64 machines (--qemu-arch arm64) are emulated; each runs the other's images through binfmt",
      ],
      ['proxy', 'ok', 'no proxy variables are set on this computer'],
      ['docker-cli', 'ok', 'docker 28.2.2 (API 1.50) at /usr/bin/docker'],
      ['target', 'info', 'the docker CLI uses its default context'],
    ]);
    expect(text.split('\n')[0]).toBe('ok   QEMU               QEMU 7.2.15 at /usr/bin/qemu-system-x86_64');
    expect(text).toMatch(/\n4 ok, 2 warnings, 0 failed, 5 info\n$/);
  });

  it('Windows with VirtualBox 7 beside Hyper-V, no QEMU, no docker CLI', async () => {
    const vboxManage = 'C:\\Program Files\\Oracle\\VirtualBox\\VBoxManage.exe';
    const { rows } = await doctorOn(
      fakeHost({
        platform: 'win32',
        env: { PATH: 'C:\\Windows', VBOX_MSI_INSTALL_PATH: 'C:\\Program Files\\Oracle\\VirtualBox\\' },
        paths: [vboxManage],
        exec: (file, args) =>
          file === 'powershell.exe'
            ? { stdout: WIN_PROBE(true) }
            : file === vboxManage
              ? { stdout: '7.1.6r167084\r\n' }
              : file === 'sc' && args[1] === 'vboxsup'
                ? { stdout: 'STATE              : 4  RUNNING' }
                : undefined,
      }),
    );
    expect(rows.map(([id, status]) => `${id} ${status}`)).toEqual([
      'qemu info',
      'virtualbox ok',
      'vtx ok',
      'accel info',
      'vbox-driver ok',
      'conflicts warn',
      'host-only ok',
      'host-arch info',
      'proxy ok',
      'docker-cli warn',
      'target info',
    ]);
    expect(rows[1]![2]).toBe(`VirtualBox 7.1.6r167084 at ${vboxManage}`);
    expect(rows[5]![2]).toMatch(/^the Windows hypervisor \(Hyper-V, WSL2, Virtual Machine Platform or Windows Sandbox\) is running: /);
  });

  it("a macOS computer with neither hypervisor: both missing fail; the VirtualBox machines' host-only networks reach its check", async () => {
    // An Intel Mac: Hypervisor.framework, and no Rosetta (sysctl.proc_translated) to say it is Apple Silicon.
    const intelMac = fakeHost({
      platform: 'darwin',
      exec: (file, args) => (file === 'sysctl' && args[1] === 'kern.hv_support' ? { stdout: '1\n' } : undefined),
    });
    const { rows } = await doctorOn(intelMac);
    expect(rows.slice(0, 3)).toEqual([
      ['qemu', 'fail', 'qemu-system-x86_64 not found'],
      ['virtualbox', 'fail', 'not installed (VBoxManage not found), the default driver here'],
      ['vtx', 'ok', 'Hypervisor.framework is available (kern.hv_support=1)'],
    ]);

    const linux = fakeHost({
      paths: ['/usr/bin/VBoxManage'],
      exec: (file) => (file === '/usr/bin/VBoxManage' ? { stdout: '7.2.4r170995\n' } : undefined),
    });
    const vm = (name: string, DriverName: string, Driver: Record<string, unknown>) =>
      ({ Name: name, DriverName, Driver }) as unknown as HostConfig;
    const { results } = await hostChecks(linux, [
      vm('old', 'virtualbox', { HostOnlyCIDR: '192.168.99.1/24' }),
      vm('natonly', 'virtualbox', { HostOnlyCIDR: '192.168.98.1/24', NoHostOnly: true }),
      vm('q', 'qemu', { HostOnlyCIDR: '192.168.97.1/24' }),
    ]);
    expect(results.find((r) => r.id === 'host-only')).toMatchObject({
      status: 'fail',
      message: 'VirtualBox 7.2.4r170995 allows host-only networks only in 192.168.56.0/21; machine "old" uses 192.168.99.1/24',
    });
  });
});

/**
 * The real `machine doctor` on this computer: the CLI wires the real host in, answers in time, lists
 * every check in order and exits 1 exactly when one failed. (The verdicts are tested above, on given facts.)
 */
describe('machine doctor on this computer', () => {
  it('runs every check and exits by its verdicts', async () => {
    const store = await tempStore('doctor-');
    try {
      const env = { DOCKER_HOST: '', DOCKER_CONTEXT: '', DOCKER_CONFIG: path.join(store, 'docker') };
      const started = Date.now();
      const res = await machine(store, ['doctor', '--format', 'json'], { env });
      expect(Date.now() - started).toBeLessThan(15_000);
      const report = JSON.parse(String(res.stdout)) as { checks: { id: string; status: string }[]; summary: { fail: number } };
      expect(report.checks.map((c) => c.id)).toEqual([
        'qemu',
        'virtualbox',
        'vtx',
        'accel',
        'vbox-driver',
        'conflicts',
        'host-only',
        'host-arch',
        'proxy',
        'docker-cli',
        'target',
      ]);
      expect(res.exitCode).toBe(report.summary.fail ? 1 : 0);
      expect(report.summary.fail).toBe(report.checks.filter((c) => c.status === 'fail').length);

      const lines = String((await machine(store, ['doctor'], { env })).stdout).split('\n');
      expect(lines[0]).toMatch(/^(ok|warn|FAIL|info) +QEMU +/);
      expect(lines.at(-1)).toMatch(/^\d+ ok, \d+ warnings?, \d+ failed, \d+ info$/);
    } finally {
      await fs.rm(store, { recursive: true, force: true });
    }
  }, 30_000);
});
