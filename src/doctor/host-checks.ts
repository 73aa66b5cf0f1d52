import { messageOf } from '../core/errors.js';
import { which } from '../core/system.js';
import { findVBoxManage } from '../drivers/virtualbox/hostenv.js';
import {
  DEFAULT_ALLOWED,
  defaultCidr,
  ipToInt,
  isAllowed,
  NETWORKS_CONF,
  networkText,
  parseCidr,
  restrictsHostOnly,
} from '../drivers/virtualbox/network.js';
import { parseNetworksConf, parseVersion, type VBoxVersion, versionAtLeast } from '../drivers/virtualbox/parse.js';
import { parseKeyValues, WINDOWS_PROBE } from '../drivers/virtualbox/checks.js';
import { check, type CheckResult, type DoctorHost } from './types.js';

export interface Hypervisors {
  qemu?: { path: string; version: string };
  virtualbox?: { path: string; version?: VBoxVersion; raw: string };
}

/** What the host checks found, shared with the machine checks. */
export interface HostFacts {
  hypervisors: Hypervisors;
  docker?: { path: string; version: string; apiVersion: string };
}

const exe = (host: DoctorHost, name: string) => (host.platform === 'win32' ? [`${name}.exe`, name] : [name]);

function installQemu(platform: NodeJS.Platform): string {
  if (platform === 'darwin') return 'install it with "brew install qemu"';
  if (platform === 'win32') return 'install QEMU for Windows (https://qemu.weilnetz.de) and put its folder on PATH';
  return 'install it: "sudo apt-get install qemu-system-x86" (Debian/Ubuntu) or "sudo dnf install qemu-system-x86" (Fedora)';
}

export async function findHypervisors(host: DoctorHost): Promise<Hypervisors> {
  const found: Hypervisors = {};
  const qemuPath = host.env.QEMU_BINARY || (await which(host, exe(host, 'qemu-system-x86_64')));
  if (qemuPath) {
    const r = await host.exec(qemuPath, ['--version'], { timeoutMs: 10_000 });
    const m = /version\s+(\S+)/i.exec(r.stdout);
    if (r.exitCode === 0 && m) found.qemu = { path: qemuPath, version: m[1]! };
  }
  try {
    const vbm = await findVBoxManage(host);
    const r = await host.exec(vbm.path, ['--version'], { timeoutMs: 15_000 });
    const raw = r.stdout.trim().split('\n').pop()?.trim() ?? '';
    found.virtualbox = { path: vbm.path, version: r.exitCode === 0 ? parseVersion(raw) : undefined, raw: raw || r.stderr.trim() };
  } catch {
    // not installed
  }
  return found;
}

/** QEMU and VirtualBox: present, where, which version. The platform's default driver missing is a failure. */
export function hypervisorChecks(host: DoctorHost, hv: Hypervisors): CheckResult[] {
  const defaultDriver = host.platform === 'linux' ? 'qemu' : 'virtualbox';
  const none = !hv.qemu && !hv.virtualbox;
  const results: CheckResult[] = [];
  if (hv.qemu) {
    results.push(check('qemu', 'QEMU', 'ok', `QEMU ${hv.qemu.version} at ${hv.qemu.path}`, { details: hv.qemu }));
  } else {
    const status = none ? 'fail' : defaultDriver === 'qemu' ? 'warn' : 'info';
    results.push(
      check('qemu', 'QEMU', status, `qemu-system-x86_64 not found${defaultDriver === 'qemu' ? ' (the default driver here)' : ''}`, {
        fix:
          status === 'info' ? undefined : `${installQemu(host.platform)}${hv.virtualbox ? ', or create machines with -d virtualbox' : ''}`,
      }),
    );
  }
  if (hv.virtualbox?.version) {
    const v = hv.virtualbox.version;
    const old = !versionAtLeast(v, 6, 1);
    results.push(
      check('virtualbox', 'VirtualBox', old ? 'warn' : 'ok', `VirtualBox ${v.raw} at ${hv.virtualbox.path}`, {
        fix: old ? 'upgrade to VirtualBox 7 (https://www.virtualbox.org/wiki/Downloads): machine is tested with 6.1 and 7.x' : undefined,
        details: { path: hv.virtualbox.path, version: v.raw },
      }),
    );
  } else if (hv.virtualbox) {
    results.push(
      check('virtualbox', 'VirtualBox', 'fail', `${hv.virtualbox.path} does not run: ${hv.virtualbox.raw || 'no version'}`, {
        fix: 'reinstall VirtualBox (https://www.virtualbox.org/wiki/Downloads)',
      }),
    );
  } else {
    const status = none ? 'fail' : defaultDriver === 'virtualbox' ? 'warn' : 'info';
    results.push(
      check(
        'virtualbox',
        'VirtualBox',
        status,
        `not installed (VBoxManage not found)${defaultDriver === 'virtualbox' ? ', the default driver here' : ': needed only for -d virtualbox'}`,
        {
          fix:
            status === 'info'
              ? undefined
              : `install VirtualBox from https://www.virtualbox.org/wiki/Downloads${hv.qemu ? ', or create machines with -d qemu' : ''}`,
        },
      ),
    );
  }
  return results;
}

function cpuFlags(cpuinfo: string): Set<string> {
  return new Set(
    cpuinfo
      .split('\n')
      .filter((l) => /^flags\s*:/.test(l))
      .flatMap((l) => l.split(':')[1]!.trim().split(/\s+/)),
  );
}

/** Windows' view of the processor and its hypervisor (one PowerShell run). */
async function windowsFacts(host: DoctorHost): Promise<Map<string, string> | undefined> {
  const r = await host.exec('powershell.exe', ['-NoProfile', '-NonInteractive', '-Command', WINDOWS_PROBE], { timeoutMs: 30_000 });
  return r.exitCode === 0 ? parseKeyValues(r.stdout) : undefined;
}

/** VT-x/AMD-V: the CPU flags (Linux), Win32_Processor (Windows), kern.hv_support (macOS). */
export async function virtualizationCheck(host: DoctorHost, win?: Map<string, string>): Promise<CheckResult> {
  const title = 'VT-x/AMD-V';
  if (host.platform === 'linux') {
    const cpuinfo = await host.readFile('/proc/cpuinfo');
    if (cpuinfo === undefined) return check('vtx', title, 'info', 'cannot read /proc/cpuinfo');
    const flags = cpuFlags(cpuinfo);
    if (flags.has('vmx')) return check('vtx', title, 'ok', 'Intel VT-x is available (vmx)');
    if (flags.has('svm')) return check('vtx', title, 'ok', 'AMD-V is available (svm)');
    if (flags.has('hypervisor')) {
      return check(
        'vtx',
        title,
        'warn',
        'not available: this computer is itself a virtual machine whose hypervisor does not pass VT-x/AMD-V on',
        {
          fix: 'turn on nested virtualization for this VM where it runs; until then QEMU uses software emulation (several times slower) and VirtualBox cannot run 64-bit machines',
        },
      );
    }
    return check('vtx', title, 'fail', 'the processor reports no VT-x/AMD-V (vmx/svm)', {
      fix: 'turn on Intel VT-x / AMD-V (sometimes called SVM) in the BIOS/UEFI setup',
    });
  }
  if (host.platform === 'darwin') {
    const r = await host.exec('sysctl', ['-n', 'kern.hv_support'], { timeoutMs: 5000 });
    const arm = host.arch === 'arm64';
    if (r.exitCode === 0 && r.stdout.trim() === '1') {
      return check(
        'vtx',
        title,
        'ok',
        arm
          ? 'Apple Silicon: Hypervisor.framework is available (x86_64 machines need QEMU, slowly)'
          : 'Hypervisor.framework is available (kern.hv_support=1)',
      );
    }
    return check('vtx', title, 'fail', 'Hypervisor.framework is not available (kern.hv_support=0)', {
      fix: 'on a Mac virtual machine, turn on nested virtualization where it runs',
    });
  }
  if (host.platform === 'win32') {
    if (!win) return check('vtx', title, 'info', 'could not ask Windows (PowerShell failed)');
    if (win.get('HypervisorPresent') === 'True') return check('vtx', title, 'ok', 'held by the Windows hypervisor (see the Hyper-V line)');
    if (win.get('VMMonitorModeExtensions') === 'False') {
      return check('vtx', title, 'fail', 'the processor has no VT-x/AMD-V', { fix: 'machines need a processor with VT-x or AMD-V' });
    }
    if (win.get('VirtualizationFirmwareEnabled') === 'False') {
      return check('vtx', title, 'fail', 'VT-x/AMD-V is turned off in the firmware', {
        fix: 'turn on Intel VT-x / AMD-V (SVM) in the BIOS/UEFI setup, then restart',
      });
    }
    return check('vtx', title, 'ok', 'VT-x/AMD-V is on');
  }
  return check('vtx', title, 'info', `not checked on ${host.platform}`);
}

/** Does QEMU's accelerator work (KVM on Linux, HVF on macOS)? /dev/kvm can exist and hang. */
export async function accelCheck(host: DoctorHost, hv: Hypervisors): Promise<CheckResult> {
  const accel = host.platform === 'darwin' ? 'HVF' : 'KVM';
  if (host.platform === 'win32')
    return check('accel', 'QEMU accel', 'info', 'QEMU on Windows runs without KVM/HVF (WHPX is not used): machines use VirtualBox there');
  if (host.platform === 'linux' && !(await host.exists('/dev/kvm'))) {
    return check(
      'accel',
      accel,
      hv.qemu ? 'warn' : 'info',
      '/dev/kvm does not exist: QEMU machines use software emulation (several times slower)',
      {
        fix: 'load the module ("sudo modprobe kvm_intel" or "kvm_amd") after turning on VT-x/AMD-V; in a VM, nested virtualization must be on',
      },
    );
  }
  if (!hv.qemu)
    return check(
      'accel',
      accel,
      'info',
      host.platform === 'linux' ? '/dev/kvm exists; QEMU is not installed to try it' : 'QEMU is not installed to try it',
    );
  const verdict = await host.probeAccel(hv.qemu.path);
  if (verdict.accel === 'unknown') return check('accel', accel, 'info', verdict.reason);
  if (verdict.accel !== 'tcg')
    return check('accel', accel, 'ok', `${verdict.reason}: QEMU machines run at full speed`, { details: verdict });
  const where = host.platform === 'linux' ? '/dev/kvm exists but is unusable' : 'HVF is unusable';
  return check('accel', accel, 'warn', `${where} (${verdict.reason}): QEMU machines use software emulation (several times slower)`, {
    fix:
      host.platform !== 'linux'
        ? 'on a Mac VM, turn on nested virtualization where it runs'
        : /not accessible|[Pp]ermission/.test(verdict.reason)
          ? 'give your user access ("sudo usermod -aG kvm $USER", then log in again)'
          : 'this computer is probably a VM whose hypervisor does not nest VT-x/AMD-V: turn on nested virtualization where it runs',
    details: verdict,
  });
}

/** VirtualBox's kernel driver: vboxdrv (Linux), the VBoxSup service (Windows), the kext (macOS Intel). */
export async function vboxDriverCheck(host: DoctorHost, hv: Hypervisors): Promise<CheckResult> {
  const title = 'VirtualBox driver';
  const need = hv.virtualbox ? 'fail' : 'info';
  const needed = hv.virtualbox ? '' : ' (needed only for -d virtualbox)';
  if (host.platform === 'linux') {
    const dev = await host.exists('/dev/vboxdrv');
    const modules = await host.readFile('/proc/modules');
    const loaded = modules === undefined ? dev : /^vboxdrv\s/m.test(modules);
    if (loaded && dev) return check('vbox-driver', title, 'ok', 'the vboxdrv kernel module is loaded (/dev/vboxdrv)');
    return check(
      'vbox-driver',
      title,
      need,
      `no VirtualBox kernel driver: ${loaded ? '/dev/vboxdrv is missing' : 'the vboxdrv module is not loaded'}${needed}`,
      {
        fix: hv.virtualbox
          ? 'load it: "sudo modprobe vboxdrv" (install virtualbox-dkms and your kernel headers, or run "sudo /sbin/vboxconfig"; with Secure Boot the module must be signed)'
          : undefined,
      },
    );
  }
  if (!hv.virtualbox) return check('vbox-driver', title, 'info', `VirtualBox is not installed${needed}`);
  if (host.platform === 'win32') {
    const r = await host.exec('sc', ['query', 'vboxsup'], { timeoutMs: 10_000 });
    if (/STATE\s*:\s*\d+\s+RUNNING/i.test(r.stdout)) return check('vbox-driver', title, 'ok', 'the VBoxSup service is running');
    return check('vbox-driver', title, 'fail', `the VBoxSup service is not running${r.stdout.trim() ? '' : ' (not installed)'}`, {
      fix: 'as administrator: "sc start vboxsup"; if it does not start, repair VirtualBox from its installer and restart Windows',
    });
  }
  if (host.platform === 'darwin') {
    if (host.arch === 'arm64') return check('vbox-driver', title, 'info', 'Apple Silicon: VirtualBox runs ARM guests only; use -d qemu');
    const r = await host.exec('kmutil', ['showloaded', '--list-only'], { timeoutMs: 15_000 });
    if (/org\.virtualbox\.kext\.VBoxDrv/.test(r.stdout)) return check('vbox-driver', title, 'ok', 'the VBoxDrv kernel extension is loaded');
    return check('vbox-driver', title, 'fail', 'the VBoxDrv kernel extension is not loaded', {
      fix: 'allow the "Oracle America" system extension in System Settings > Privacy & Security, then restart the Mac',
    });
  }
  return check('vbox-driver', title, 'info', `not checked on ${host.platform}`);
}

/** Who else holds VT-x: Hyper-V, WSL2, VBS/Memory Integrity (Windows), KVM (Linux). */
export async function conflictsCheck(host: DoctorHost, hv: Hypervisors, win?: Map<string, string>): Promise<CheckResult> {
  const title = 'Hyper-V/WSL2/VBS';
  if (host.platform === 'win32') {
    if (!win) return check('conflicts', title, 'info', 'could not ask Windows (PowerShell failed)');
    const hypervisor = win.get('HypervisorPresent') === 'True';
    const vbs = win.get('VBSStatus') === '2';
    if (!hypervisor && !vbs) return check('conflicts', title, 'ok', 'no Windows hypervisor is running: VirtualBox has VT-x to itself');
    const what = [
      hypervisor ? 'the Windows hypervisor (Hyper-V, WSL2, Virtual Machine Platform or Windows Sandbox)' : '',
      vbs ? 'Virtualization-Based Security (Memory Integrity)' : '',
    ]
      .filter(Boolean)
      .join(' and ');
    const v = hv.virtualbox?.version;
    if (v && !versionAtLeast(v, 6, 0)) {
      return check('conflicts', title, 'fail', `${what} is running and VirtualBox ${v.raw} cannot run 64-bit VMs beside it`, {
        fix: 'upgrade to VirtualBox 7, or as administrator run "bcdedit /set hypervisorlaunchtype off", turn Memory Integrity off, and restart',
      });
    }
    return check(
      'conflicts',
      title,
      'warn',
      `${what} is running: VirtualBox runs on top of it through the Windows Hypervisor Platform, which works but is much slower`,
      {
        fix: 'for full speed, as administrator: "bcdedit /set hypervisorlaunchtype off", Memory Integrity off (Windows Security > Device security > Core isolation), restart',
      },
    );
  }
  if (host.platform === 'linux') {
    const kvmLoaded = (await host.exists('/sys/module/kvm_intel')) || (await host.exists('/sys/module/kvm_amd'));
    if (!hv.virtualbox)
      return check('conflicts', title, 'ok', `no conflict: VirtualBox is not installed${kvmLoaded ? ' (KVM is loaded, for QEMU)' : ''}`);
    if (!kvmLoaded) return check('conflicts', title, 'ok', 'KVM is not loaded: VirtualBox has VT-x to itself');
    const atLoad = (await host.readFile('/sys/module/kvm/parameters/enable_virt_at_load'))?.trim();
    if (atLoad === 'Y' || atLoad === '1') {
      return check(
        'conflicts',
        title,
        'fail',
        'KVM holds VT-x from the moment its module loads (Linux 6.12+): VirtualBox cannot start VMs',
        {
          fix: 'unload it ("sudo modprobe -r kvm_intel kvm_amd") or boot with kvm.enable_virt_at_load=0; or use -d qemu, which uses KVM',
        },
      );
    }
    return check('conflicts', title, 'warn', 'KVM is loaded: VirtualBox VMs fail to start while a KVM (QEMU) VM runs', {
      fix: 'do not run QEMU and VirtualBox machines at the same time',
    });
  }
  return check('conflicts', title, 'ok', `no other hypervisor conflicts on ${host.platform === 'darwin' ? 'macOS' : host.platform}`);
}

/** VirtualBox 6.1.28+ allows host-only addresses only in /etc/vbox/networks.conf's ranges (Linux, macOS). */
export async function hostOnlyCheck(
  host: DoctorHost,
  hv: Hypervisors,
  machineCidrs: { machine: string; cidr: string }[],
): Promise<CheckResult> {
  const title = 'host-only range';
  const v = hv.virtualbox?.version;
  if (!v) return check('host-only', title, 'info', 'VirtualBox is not installed: no host-only network rules apply');
  const conf = await host.readFile(NETWORKS_CONF);
  const allowed = restrictsHostOnly(host.platform, v) ? (parseNetworksConf(conf) ?? DEFAULT_ALLOWED) : undefined;
  const chosen = defaultCidr(allowed);
  const within = (cidr: string) => {
    if (!allowed) return true;
    try {
      return isAllowed(parseCidr(cidr), allowed);
    } catch {
      return false;
    }
  };
  const bad = machineCidrs.filter((m) => m.cidr && !within(m.cidr));
  if (bad.length) {
    return check(
      'host-only',
      title,
      'fail',
      `VirtualBox ${v.raw} allows host-only networks only in ${allowed!.join(' ')}; ${bad.map((b) => `machine "${b.machine}" uses ${b.cidr}`).join(', ')}`,
      {
        fix: `add the line "* ${bad.map((b) => networkText(parseCidr(b.cidr))).join(' ')}" to ${NETWORKS_CONF} (as root)`,
      },
    );
  }
  // A host network already on the /24 new machines would use: the VM would be unreachable.
  const c = parseCidr(chosen);
  for (const [name, addrs] of Object.entries(host.networkInterfaces())) {
    for (const a of addrs ?? []) {
      const ip = a.family === 'IPv4' && !a.internal ? ipToInt(a.address) : undefined;
      if (ip !== undefined && (ip & c.mask) >>> 0 === c.network && !/^vboxnet|VirtualBox/i.test(name)) {
        return check(
          'host-only',
          title,
          'warn',
          `host interface ${name} (${a.address}) is on ${chosen}, the network new machines would use`,
          {
            fix: `create machines with --virtualbox-hostonly-cidr on a free network${allowed ? ` inside ${allowed.join(' ')}` : ''}`,
          },
        );
      }
    }
  }
  const rule = allowed
    ? `VirtualBox ${v.raw} allows host-only networks in ${allowed.join(' ')}${conf === undefined ? ` (no ${NETWORKS_CONF})` : ` (${NETWORKS_CONF})`}`
    : `VirtualBox ${v.raw} puts no limit on host-only networks${host.platform === 'win32' ? ' on Windows' : ''}`;
  return check('host-only', title, 'ok', `${rule}: new machines use ${chosen}`, { details: { allowed, default: chosen } });
}

/** The docker CLI: where, which version, which API version (without talking to any daemon). */
export async function findDockerCli(host: DoctorHost): Promise<HostFacts['docker']> {
  const docker = await which(host, exe(host, 'docker'));
  if (!docker) return undefined;
  // An address that refuses at once: only the client half of `docker version` matters here.
  const r = await host.exec(docker, ['-H', 'tcp://127.0.0.1:1', 'version', '--format', '{{json .Client}}'], { timeoutMs: 15_000 });
  const jsonLine = r.stdout.split('\n').find((l) => l.trim().startsWith('{'));
  try {
    const c = JSON.parse(jsonLine ?? '') as { Version?: string; ApiVersion?: string };
    if (c.Version && c.ApiVersion) return { path: docker, version: c.Version, apiVersion: c.ApiVersion };
  } catch {
    // fall through
  }
  const v = await host.exec(docker, ['--version'], { timeoutMs: 15_000 });
  const m = /version\s+([\w.-]+)/.exec(v.stdout);
  return m ? { path: docker, version: m[1]!, apiVersion: '' } : undefined;
}

export function dockerCliCheck(host: DoctorHost, docker: HostFacts['docker']): CheckResult {
  if (!docker) {
    const how =
      host.platform === 'darwin'
        ? '"brew install docker"'
        : host.platform === 'win32'
          ? 'the static docker.exe from https://download.docker.com/win/static/stable/x86_64/ on your PATH (or "choco install docker-cli")'
          : 'your distribution\'s docker CLI package ("sudo apt-get install docker.io" or docker-ce-cli)';
    return check(
      'docker-cli',
      'docker CLI',
      'warn',
      'the docker CLI is not installed: machines work, but there is nothing to talk to them',
      {
        fix: `install it: ${how}`,
      },
    );
  }
  return check(
    'docker-cli',
    'docker CLI',
    'ok',
    `docker ${docker.version}${docker.apiVersion ? ` (API ${docker.apiVersion})` : ''} at ${docker.path}`,
    {
      details: docker,
    },
  );
}

const PROXY_VARS = ['HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'ALL_PROXY', 'http_proxy', 'https_proxy', 'no_proxy', 'all_proxy'];

/** Proxy variables of this shell, credentials masked. */
export function proxyVars(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of PROXY_VARS) {
    const v = env[name];
    if (v) out[name] = v.replace(/\/\/[^/@]*@/, '//xxxxx:xxxxx@');
  }
  return out;
}

/** The host side of proxies: what is set, and what cannot work from a VM or for the docker CLI. */
export function proxyCheck(host: DoctorHost): CheckResult {
  const vars = proxyVars(host.env);
  const names = Object.keys(vars);
  if (!names.length) return check('proxy', 'proxy', 'ok', 'no proxy variables are set on this computer');
  const seen = names.map((n) => `${n}=${vars[n]}`).join(', ');
  const all = host.env.ALL_PROXY || host.env.all_proxy;
  if (all && !/^socks/i.test(all)) {
    return check('proxy', 'proxy', 'warn', `${seen}: ALL_PROXY is not a socks:// proxy, which the docker CLI cannot use`, {
      fix: 'unset ALL_PROXY and all_proxy (Docker Toolbox did), or point them at a socks5:// proxy',
      details: vars,
    });
  }
  return check('proxy', 'proxy', 'info', `${seen} (each running machine's line says whether its Docker has them)`, { details: vars });
}

export async function hostChecks(
  host: DoctorHost,
  machineCidrs: { machine: string; cidr: string }[],
): Promise<{ results: CheckResult[]; facts: HostFacts }> {
  const [hypervisors, docker, win] = await Promise.all([
    findHypervisors(host),
    findDockerCli(host).catch(() => undefined),
    host.platform === 'win32' ? windowsFacts(host) : Promise.resolve(undefined),
  ]);
  const guarded = (id: string, title: string, p: Promise<CheckResult>) =>
    p.catch((err) => check(id, title, 'fail', `the check itself failed: ${messageOf(err)}`));
  const results = [
    ...hypervisorChecks(host, hypervisors),
    ...(await Promise.all([
      guarded('vtx', 'VT-x/AMD-V', virtualizationCheck(host, win)),
      guarded('accel', 'KVM', accelCheck(host, hypervisors)),
      guarded('vbox-driver', 'VirtualBox driver', vboxDriverCheck(host, hypervisors)),
      guarded('conflicts', 'Hyper-V/WSL2/VBS', conflictsCheck(host, hypervisors, win)),
      guarded('host-only', 'host-only range', hostOnlyCheck(host, hypervisors, machineCidrs)),
    ])),
    proxyCheck(host),
    dockerCliCheck(host, docker),
  ];
  return { results, facts: { hypervisors, docker } };
}
