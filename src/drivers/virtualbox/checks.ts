import { MachineError } from '../../core/errors.js';
import type { System } from '../../core/system.js';
import { type VBoxVersion, versionAtLeast } from './parse.js';

/**
 * Pre-create checks, each with a verdict and a fix. Platform logic reads only what HostEnv gives it,
 * so the Windows and macOS paths run on Linux in tests. Errors carry exit code 3 (docker-machine's
 * pre-create check failure); warnings are returned for the caller to report.
 */

const SKIP = 'or skip this check with --virtualbox-no-vtx-check';

/** docker-machine's version rule: 4.3+ works with a warning, 5+ is supported; 6.1+ is what we test. */
export function checkVersion(v: VBoxVersion | undefined, raw: string): string[] {
  if (!v || v.major < 4 || (v.major === 4 && v.minor <= 2)) {
    throw new MachineError(`We support VirtualBox starting with version 5. Your VirtualBox install is "${raw.trim()}"`, {
      exitCode: 3,
      fix: 'Please upgrade at https://www.virtualbox.org',
    });
  }
  if (v.major === 4)
    return [
      `You are using version ${v.raw} of VirtualBox. If you encounter issues, you might want to upgrade to version 5 at https://www.virtualbox.org`,
    ];
  if (!versionAtLeast(v, 6, 1)) return [`VirtualBox ${v.raw} is old; this tool is tested with 6.1 and 7.x (https://www.virtualbox.org)`];
  return [];
}

/**
 * Hardware virtualization as the OS reports it: one probe for the pre-create check and doctor, which
 * word their verdicts differently. vtx: 'vmx'/'svm' (CPU flags), 'nested-off' (a VM whose hypervisor
 * does not pass VT-x on), 'absent' (the processor has none), 'unlisted' (cpuinfo lists no flags),
 * 'firmware-off' (Windows: off in the BIOS), 'on' (Windows: nothing against; macOS: kern.hv_support=1),
 * 'off' (macOS: kern.hv_support=0), 'unknown' (the OS could not be asked).
 */
export interface Virtualization {
  vtx: 'vmx' | 'svm' | 'nested-off' | 'absent' | 'unlisted' | 'firmware-off' | 'on' | 'off' | 'unknown';
  /** Windows: the Windows hypervisor runs (Hyper-V, WSL2, Virtual Machine Platform, Windows Sandbox). */
  hypervisor?: boolean;
  /** Windows: Virtualization-Based Security (Memory Integrity) runs. */
  vbs?: boolean;
}

export async function probeVirtualization(host: System): Promise<Virtualization> {
  if (host.platform === 'darwin') {
    const r = await host.exec('sysctl', ['-n', 'kern.hv_support'], { timeoutMs: 5000 });
    const hv = r.exitCode === 0 ? r.stdout.trim() : '';
    return { vtx: hv === '1' ? 'on' : hv === '0' ? 'off' : 'unknown' };
  }
  if (host.platform === 'win32') {
    const r = await host.exec('powershell.exe', ['-NoProfile', '-NonInteractive', '-Command', WINDOWS_PROBE], { timeoutMs: 30_000 });
    if (r.exitCode !== 0) return { vtx: 'unknown' };
    const kv = parseKeyValues(r.stdout);
    const vtx =
      kv.get('VMMonitorModeExtensions') === 'False'
        ? 'absent'
        : kv.get('VirtualizationFirmwareEnabled') === 'False'
          ? 'firmware-off'
          : 'on';
    return { vtx, hypervisor: kv.get('HypervisorPresent') === 'True', vbs: kv.get('VBSStatus') === '2' };
  }
  const cpuinfo = await host.readFile('/proc/cpuinfo');
  if (cpuinfo === undefined) return { vtx: 'unknown' };
  const flags = new Set(
    cpuinfo
      .split('\n')
      .filter((l) => /^flags\s*:/.test(l))
      .flatMap((l) => l.split(':')[1]!.trim().split(/\s+/)),
  );
  if (flags.has('vmx')) return { vtx: 'vmx' };
  if (flags.has('svm')) return { vtx: 'svm' };
  if (flags.has('hypervisor')) return { vtx: 'nested-off' };
  return { vtx: flags.size ? 'absent' : 'unlisted' };
}

export interface VirtualizationVerdict {
  warnings: string[];
}

/**
 * Hardware virtualization: VT-x/AMD-V (Hypervisor.framework on a Mac, Apple Silicon's included: its
 * ARM VMs are checked by version, checkArmVersion), and Hyper-V/WSL2/VBS on Windows. `vboxHwVirt`
 * is what VirtualBox itself says (`list hostinfo`): it catches what CPUID alone misses (VT-x off in the
 * firmware, a hypervisor holding it), so it is the verdict where the platform checks find nothing.
 */
export async function checkVirtualization(host: System, v: VBoxVersion, vboxHwVirt?: boolean): Promise<VirtualizationVerdict> {
  const virt = await probeVirtualization(host);
  if (host.platform === 'win32') {
    // With Hyper-V present VirtualBox sees no VT-x, and runs through it anyway (6.0+): say so, go on.
    const warnings = windowsVerdict(virt, v);
    if (warnings.length) return { warnings };
  } else {
    vtxVerdict(virt, host.platform);
  }
  if (vboxHwVirt === false) {
    throw new MachineError(
      "This computer doesn't have VT-X/AMD-v enabled: VirtualBox reports that the processor does not support hardware virtualization",
      {
        exitCode: 3,
        fix: `turn on Intel VT-x / AMD-V in the BIOS/UEFI setup (in a virtual machine: nested virtualization on its host), ${SKIP}`,
      },
    );
  }
  return { warnings: [] };
}

/** Parse "Key=Value" lines printed by our PowerShell probe. */
export function parseKeyValues(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*([\w.]+)\s*=\s*(.*?)\s*$/.exec(line);
    if (m) out.set(m[1]!, m[2]!);
  }
  return out;
}

export const WINDOWS_PROBE =
  '$c = Get-CimInstance Win32_ComputerSystem; $p = Get-CimInstance Win32_Processor | Select-Object -First 1; ' +
  '$d = Get-CimInstance -Namespace root\\Microsoft\\Windows\\DeviceGuard -ClassName Win32_DeviceGuard -ErrorAction SilentlyContinue; ' +
  "'HypervisorPresent=' + $c.HypervisorPresent; 'VirtualizationFirmwareEnabled=' + $p.VirtualizationFirmwareEnabled; " +
  "'VMMonitorModeExtensions=' + $p.VMMonitorModeExtensions; 'VBSStatus=' + $d.VirtualizationBasedSecurityStatus";

function windowsVerdict(virt: Virtualization, v: VBoxVersion): string[] {
  if (virt.vtx === 'unknown') return ['Could not check hardware virtualization and Hyper-V (PowerShell failed); continuing'];
  if (virt.hypervisor || virt.vbs) {
    const what = 'Hyper-V (or WSL2, Virtual Machine Platform, Windows Sandbox, Memory Integrity/VBS) is active';
    if (v.major < 6) {
      throw new MachineError(`This computer is running Hyper-V: ${what}, and VirtualBox ${v.raw} cannot run a 64-bit VM beside it`, {
        exitCode: 3,
        fix: `upgrade to VirtualBox 7, or turn Hyper-V off ("bcdedit /set hypervisorlaunchtype off" as administrator, then restart), ${SKIP}`,
      });
    }
    return [
      `${what}: VirtualBox ${v.major}.${v.minor} runs on top of it through the Windows Hypervisor Platform, which works but is much slower. ` +
        'For full speed turn them off ("bcdedit /set hypervisorlaunchtype off", Memory Integrity off) and restart',
    ];
  }
  vtxVerdict(virt, 'win32');
  return [];
}

/** The pre-create verdict on VT-x: what cannot work throws; what could not be asked passes. */
function vtxVerdict(virt: Virtualization, platform: NodeJS.Platform): void {
  const fail = (message: string, fix: string) => new MachineError(message, { exitCode: 3, fix: `${fix}, ${SKIP}` });
  switch (virt.vtx) {
    case 'off':
      throw fail(
        "This computer doesn't have VT-X/AMD-v enabled (kern.hv_support is 0)",
        'VirtualBox needs Intel VT-x; on a Mac virtual machine enable nested virtualization in its host',
      );
    case 'nested-off':
      throw fail(
        "This computer doesn't have VT-X/AMD-v enabled: it is a virtual machine without nested virtualization",
        'enable nested virtualization where this VM runs, or use the QEMU driver (-d qemu)',
      );
    case 'absent':
      if (platform === 'win32') throw fail("This computer's processor has no VT-X/AMD-v", 'VirtualBox needs it for 64-bit guests');
      throw fail("This computer doesn't have VT-X/AMD-v enabled", 'Enabling it in the BIOS/UEFI setup is mandatory (Intel VT-x / AMD-V)');
    case 'firmware-off':
      throw fail(
        "This computer doesn't have VT-X/AMD-v enabled",
        'Enabling it in the BIOS/UEFI setup is mandatory (Intel VT-x / AMD-V, sometimes called SVM)',
      );
  }
}

/** Linux: VMs cannot start without /dev/vboxdrv; say it before creating anything (a warning only). */
export async function kernelDriverWarning(host: System): Promise<string | undefined> {
  if (host.platform !== 'linux' || (await vboxdrvLoaded(host)) !== false) return undefined;
  return 'The vboxdrv kernel module is not loaded: VirtualBox will not start VMs until it is ("sudo modprobe vboxdrv")';
}

/** Linux: is the vboxdrv kernel module loaded (undefined: /proc/modules cannot be read)? Pre-create and doctor ask. */
export async function vboxdrvLoaded(host: System): Promise<boolean | undefined> {
  const modules = await host.readFile('/proc/modules');
  return modules === undefined ? undefined : /^vboxdrv\s/m.test(modules);
}
