import { check, type CheckResult, guarded } from '../../core/check.js';
import type { DoctorSystem } from '../../core/check.js';
import type { DoctorContext, DoctorProbe } from '../driver.js';
import { isAppleSilicon } from '../../core/arch.js';
import { runsArmVms } from './arch.js';
import { probeVirtualization, vboxdrvLoaded, type Virtualization } from './checks.js';
import { type VBoxFound, findVirtualBox } from './hostenv.js';
import { DEFAULT_ALLOWED, defaultCidr, ipToInt, isAllowed, NETWORKS_CONF, networkText, parseCidr, restrictsHostOnly } from './network.js';
import { parseNetworksConf, versionAtLeast } from './parse.js';
import type { VirtualBoxConfig } from './driver.js';

/**
 * The VirtualBox driver's part of `machine doctor`: VirtualBox itself, VT-x (which QEMU needs too),
 * its kernel driver, other hypervisors holding VT-x, and the host-only address rules.
 */

/** Present, where, which version; missing is a failure when no other hypervisor is installed either. */
export function virtualboxCheck(vbox: VBoxFound | undefined, ctx: Omit<DoctorContext, 'machines'>): CheckResult {
  if (vbox?.version) {
    const v = vbox.version;
    const old = !versionAtLeast(v, 6, 1);
    return check('virtualbox', 'VirtualBox', old ? 'warn' : 'ok', `VirtualBox ${v.raw} at ${vbox.path}`, {
      fix: old ? 'upgrade to VirtualBox 7 (https://www.virtualbox.org/wiki/Downloads): machine is tested with 6.1 and 7.x' : undefined,
      details: { path: vbox.path, version: v.raw },
    });
  }
  if (vbox) {
    return check('virtualbox', 'VirtualBox', 'fail', `${vbox.path} does not run: ${vbox.raw || 'no version'}`, {
      fix: 'reinstall VirtualBox (https://www.virtualbox.org/wiki/Downloads)',
    });
  }
  const status = !ctx.othersInstalled ? 'fail' : ctx.isDefault ? 'warn' : 'info';
  return check(
    'virtualbox',
    'VirtualBox',
    status,
    `not installed (VBoxManage not found)${ctx.isDefault ? ', the default driver here' : ': needed only for -d virtualbox'}`,
    {
      fix:
        status === 'info'
          ? undefined
          : `install VirtualBox from https://www.virtualbox.org/wiki/Downloads${ctx.othersInstalled ? ', or create machines with -d qemu' : ''}`,
    },
  );
}

/** VT-x/AMD-V: the CPU flags (Linux), Win32_Processor (Windows), kern.hv_support (macOS). */
export function virtualizationCheck(host: DoctorSystem, virt: Virtualization): CheckResult {
  const title = 'VT-x/AMD-V';
  if (host.platform === 'linux') {
    switch (virt.vtx) {
      case 'unknown':
        return check('vtx', title, 'info', 'cannot read /proc/cpuinfo');
      case 'vmx':
        return check('vtx', title, 'ok', 'Intel VT-x is available (vmx)');
      case 'svm':
        return check('vtx', title, 'ok', 'AMD-V is available (svm)');
      case 'nested-off':
        return check(
          'vtx',
          title,
          'warn',
          'not available: this computer is itself a virtual machine whose hypervisor does not pass VT-x/AMD-V on',
          {
            fix: 'turn on nested virtualization for this VM where it runs; until then QEMU uses software emulation (several times slower) and VirtualBox cannot run 64-bit machines',
          },
        );
      default:
        return check('vtx', title, 'fail', 'the processor reports no VT-x/AMD-V (vmx/svm)', {
          fix: 'turn on Intel VT-x / AMD-V (sometimes called SVM) in the BIOS/UEFI setup',
        });
    }
  }
  if (host.platform === 'darwin') {
    if (virt.vtx === 'on') {
      return check(
        'vtx',
        title,
        'ok',
        host.arch === 'arm64'
          ? 'Apple Silicon: Hypervisor.framework is available for ARM machines (x86_64 ones only emulated, by QEMU)'
          : 'Hypervisor.framework is available (kern.hv_support=1)',
      );
    }
    return check('vtx', title, 'fail', 'Hypervisor.framework is not available (kern.hv_support=0)', {
      fix: 'on a Mac virtual machine, turn on nested virtualization where it runs',
    });
  }
  if (host.platform === 'win32') {
    if (virt.vtx === 'unknown') return check('vtx', title, 'info', 'could not ask Windows (PowerShell failed)');
    if (virt.hypervisor) return check('vtx', title, 'ok', 'held by the Windows hypervisor (see the Hyper-V line)');
    if (virt.vtx === 'absent') {
      return check('vtx', title, 'fail', 'the processor has no VT-x/AMD-V', { fix: 'machines need a processor with VT-x or AMD-V' });
    }
    if (virt.vtx === 'firmware-off') {
      return check('vtx', title, 'fail', 'VT-x/AMD-V is turned off in the firmware', {
        fix: 'turn on Intel VT-x / AMD-V (SVM) in the BIOS/UEFI setup, then restart',
      });
    }
    return check('vtx', title, 'ok', 'VT-x/AMD-V is on');
  }
  return check('vtx', title, 'info', `not checked on ${host.platform}`);
}
/** VirtualBox's kernel driver: vboxdrv (Linux), the VBoxSup service (Windows), the kext (macOS Intel). */
export async function vboxDriverCheck(host: DoctorSystem, vbox: VBoxFound | undefined): Promise<CheckResult> {
  const title = 'VirtualBox driver';
  const need = vbox ? 'fail' : 'info';
  const needed = vbox ? '' : ' (needed only for -d virtualbox)';
  if (host.platform === 'linux') {
    const dev = await host.exists('/dev/vboxdrv');
    const loaded = (await vboxdrvLoaded(host)) ?? dev;
    if (loaded && dev) return check('vbox-driver', title, 'ok', 'the vboxdrv kernel module is loaded (/dev/vboxdrv)');
    return check(
      'vbox-driver',
      title,
      need,
      `no VirtualBox kernel driver: ${loaded ? '/dev/vboxdrv is missing' : 'the vboxdrv module is not loaded'}${needed}`,
      {
        fix: vbox
          ? 'load it: "sudo modprobe vboxdrv" (install virtualbox-dkms and your kernel headers, or run "sudo /sbin/vboxconfig"; with Secure Boot the module must be signed)'
          : undefined,
      },
    );
  }
  if (!vbox) return check('vbox-driver', title, 'info', `VirtualBox is not installed${needed}`);
  if (host.platform === 'win32') {
    const r = await host.exec('sc', ['query', 'vboxsup'], { timeoutMs: 10_000 });
    if (/STATE\s*:\s*\d+\s+RUNNING/i.test(r.stdout)) return check('vbox-driver', title, 'ok', 'the VBoxSup service is running');
    return check('vbox-driver', title, 'fail', `the VBoxSup service is not running${r.stdout.trim() ? '' : ' (not installed)'}`, {
      fix: 'as administrator: "sc start vboxsup"; if it does not start, repair VirtualBox from its installer and restart Windows',
    });
  }
  if (host.platform === 'darwin') {
    if (await isAppleSilicon(host)) {
      // VirtualBox for Apple Silicon (7.1+) runs on Hypervisor.framework: there is no kernel extension.
      if (vbox.version && runsArmVms(vbox.version))
        return check(
          'vbox-driver',
          title,
          'ok',
          `Apple Silicon: VirtualBox ${vbox.version.raw} runs ARM machines through Hypervisor.framework`,
        );
      return check('vbox-driver', title, 'warn', `Apple Silicon: VirtualBox ${vbox.version?.raw ?? vbox.raw} runs no ARM VMs`, {
        fix: 'install VirtualBox 7.1 or later (https://www.virtualbox.org/wiki/Downloads), or create machines with -d qemu',
      });
    }
    const r = await host.exec('kmutil', ['showloaded', '--list-only'], { timeoutMs: 15_000 });
    if (/org\.virtualbox\.kext\.VBoxDrv/.test(r.stdout)) return check('vbox-driver', title, 'ok', 'the VBoxDrv kernel extension is loaded');
    return check('vbox-driver', title, 'fail', 'the VBoxDrv kernel extension is not loaded', {
      fix: 'allow the "Oracle America" system extension in System Settings > Privacy & Security, then restart the Mac',
    });
  }
  return check('vbox-driver', title, 'info', `not checked on ${host.platform}`);
}

/** Who else holds VT-x: Hyper-V, WSL2, VBS/Memory Integrity (Windows), KVM (Linux). */
export async function conflictsCheck(host: DoctorSystem, vbox: VBoxFound | undefined, virt: Virtualization): Promise<CheckResult> {
  const title = 'Hyper-V/WSL2/VBS';
  if (host.platform === 'win32') {
    if (virt.vtx === 'unknown') return check('conflicts', title, 'info', 'could not ask Windows (PowerShell failed)');
    const { hypervisor, vbs } = virt;
    if (!hypervisor && !vbs) return check('conflicts', title, 'ok', 'no Windows hypervisor is running: VirtualBox has VT-x to itself');
    const what = [
      hypervisor ? 'the Windows hypervisor (Hyper-V, WSL2, Virtual Machine Platform or Windows Sandbox)' : '',
      vbs ? 'Virtualization-Based Security (Memory Integrity)' : '',
    ]
      .filter(Boolean)
      .join(' and ');
    const v = vbox?.version;
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
    if (!vbox)
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
  host: DoctorSystem,
  vbox: VBoxFound | undefined,
  machineCidrs: { machine: string; cidr: string }[],
): Promise<CheckResult> {
  const title = 'host-only range';
  const v = vbox?.version;
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

/** The host-only network of each machine that has one. */
const hostOnlyCidrs = (machines: DoctorContext['machines']) =>
  machines.map(({ name, config }) => {
    const c = config as Partial<VirtualBoxConfig>;
    return { machine: name, cidr: c.NoHostOnly ? '' : String(c.HostOnlyCIDR ?? '') };
  });

export async function probe(host: DoctorSystem): Promise<DoctorProbe> {
  const [vbox, virt] = await Promise.all([findVirtualBox(host), probeVirtualization(host)]);
  return {
    installed: Boolean(vbox),
    checks: async (ctx) => {
      const [driver, conflicts, hostOnly] = await Promise.all([
        guarded('vbox-driver', 'VirtualBox driver', vboxDriverCheck(host, vbox)),
        guarded('conflicts', 'Hyper-V/WSL2/VBS', conflictsCheck(host, vbox, virt)),
        guarded('host-only', 'host-only range', hostOnlyCheck(host, vbox, hostOnlyCidrs(ctx.machines))),
      ]);
      return [
        { topic: 'install', result: virtualboxCheck(vbox, ctx) },
        { topic: 'hardware', result: virtualizationCheck(host, virt) },
        { topic: 'kernel', result: driver },
        { topic: 'conflicts', result: conflicts },
        { topic: 'network', result: hostOnly },
      ];
    },
  };
}
