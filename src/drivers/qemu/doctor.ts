import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { check, type CheckResult, guarded } from '../../core/check.js';
import type { DoctorSystem } from '../../core/check.js';
import type { DoctorContext, DoctorProbe } from '../driver.js';
import { type GuestArch, hostArch, machineArch, nativeArch } from '../../core/arch.js';
import { findProgram } from '../../core/system.js';
import { archSpec } from './arch.js';
import { Store } from '../../store/store.js';

/** The QEMU driver's part of `machine doctor`: is QEMU installed, does its accelerator work. */

export interface QemuFound {
  path: string;
  version: string;
}

/** `arch`: the machines that run natively here (the CPU's own: an x64 Node under Rosetta is on Apple Silicon). */
export async function findQemu(host: DoctorSystem, arch?: GuestArch): Promise<QemuFound | undefined> {
  arch ??= await nativeArch(host);
  const qemuPath = host.env.QEMU_BINARY || (await findProgram(host, archSpec(arch).binary));
  if (!qemuPath) return undefined;
  const r = await host.exec(qemuPath, ['--version'], { timeoutMs: 10_000 });
  const m = /version\s+(\S+)/i.exec(r.stdout);
  return r.exitCode === 0 && m ? { path: qemuPath, version: m[1]! } : undefined;
}

function installQemu(host: DoctorSystem, arch: GuestArch): string {
  if (host.platform === 'darwin') return 'install it with "brew install qemu"';
  if (host.platform === 'win32') return 'install QEMU for Windows (https://qemu.weilnetz.de) and put its folder on PATH';
  const pkg = archSpec(arch).debianPackage;
  return `install it: "sudo apt-get install ${pkg}" (Debian/Ubuntu) or "sudo dnf install ${pkg.replace('-arm', '-aarch64')}" (Fedora)`;
}

/** Present, where, which version; missing is a failure when no other hypervisor is installed either. */
export function qemuCheck(
  host: DoctorSystem,
  qemu: QemuFound | undefined,
  ctx: Omit<DoctorContext, 'machines'>,
  arch: GuestArch = hostArch(host.arch),
): CheckResult {
  if (qemu) return check('qemu', 'QEMU', 'ok', `QEMU ${qemu.version} at ${qemu.path}`, { details: { ...qemu } });
  const status = !ctx.othersInstalled ? 'fail' : ctx.isDefault ? 'warn' : 'info';
  return check('qemu', 'QEMU', status, `${archSpec(arch).binary} not found${ctx.isDefault ? ' (the default driver here)' : ''}`, {
    fix:
      status === 'info' ? undefined : `${installQemu(host, arch)}${ctx.othersInstalled ? ', or create machines with -d virtualbox' : ''}`,
  });
}

/** Does QEMU's accelerator work (KVM on Linux, HVF on macOS)? /dev/kvm can exist and hang. */
export async function accelCheck(
  host: DoctorSystem,
  qemu: QemuFound | undefined,
  isos: string[] = [],
  arch: GuestArch = hostArch(host.arch),
): Promise<CheckResult> {
  const accel = host.platform === 'darwin' ? 'HVF' : 'KVM';
  if (host.platform === 'win32')
    return check('accel', 'QEMU accel', 'info', 'QEMU on Windows runs without KVM/HVF (WHPX is not used): machines use VirtualBox there');
  if (host.platform === 'linux' && !(await host.exists('/dev/kvm'))) {
    return check(
      'accel',
      accel,
      qemu ? 'warn' : 'info',
      '/dev/kvm does not exist: QEMU machines use software emulation (several times slower)',
      {
        fix: 'load the module ("sudo modprobe kvm_intel" or "kvm_amd") after turning on VT-x/AMD-V; in a VM, nested virtualization must be on',
      },
    );
  }
  if (!qemu)
    return check(
      'accel',
      accel,
      'info',
      host.platform === 'linux' ? '/dev/kvm exists; QEMU is not installed to try it' : 'QEMU is not installed to try it',
    );
  const verdict = await (host.probeAccel ?? ((q: string, i: string[]) => probeKernelAccel(q, i, arch)))(qemu.path, isos);
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

/**
 * The QEMU driver's accelerator probe (without its cache) on the kernel machines boot: from the ISO
 * built from the recipe (a developer checkout), else from a machine's own ISO (an installed
 * package, where nothing is built: any machine created there has one).
 */
async function probeKernelAccel(qemu: string, machineIsos: string[], arch: GuestArch): Promise<{ accel: string; reason: string }> {
  const { probeAccel } = await import('./accel.js');
  const { builtIsoPath } = await import('../../iso/recipe.js');
  const { IsoImage, bootEntry } = await import('../../iso/iso9660.js');
  // An empty VM runs even where Linux hangs: the probe boots the real kernel.
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'machine-doctor-'));
  try {
    const kernel = path.join(dir, 'vmlinuz');
    // builtIsoPath asks iso/build.sh (the one place the recipe key is computed): none where bash cannot run.
    const built = await builtIsoPath(arch).catch(() => undefined);
    for (const file of [...(built ? [built] : []), ...machineIsos]) {
      const iso = await IsoImage.open(file).catch(() => undefined);
      if (!iso) continue;
      const entry = await bootEntry(iso).catch(() => undefined);
      const extracted = entry && (await iso.extract(entry.kernel, kernel).catch(() => false));
      await iso.close();
      if (extracted) return await probeAccel(qemu, kernel, arch);
    }
    return { accel: 'unknown', reason: 'not tried yet: no machine ISO to boot its kernel (machine create tries it)' };
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/**
 * Where the QEMU machines of this host's own architecture keep their ISO (the others are emulated
 * anyway; configs too damaged to tell are passed over).
 */
function machineIsos(ctx: DoctorContext, arch: GuestArch): string[] {
  return ctx.machines.flatMap(({ config: c }) => {
    if (machineArch(c) !== arch) return [];
    try {
      return [path.join(new Store(c.StorePath).machineDir(c.MachineName), 'boot2docker.iso')];
    } catch {
      return [];
    }
  });
}

export async function probe(host: DoctorSystem): Promise<DoctorProbe> {
  const arch = await nativeArch(host);
  const qemu = await findQemu(host, arch);
  return {
    installed: Boolean(qemu),
    checks: async (ctx) => [
      { topic: 'install', result: qemuCheck(host, qemu, ctx, arch) },
      {
        topic: 'kernel',
        result: await guarded('accel', 'KVM', accelCheck(host, qemu, machineIsos(ctx, arch), arch)),
      },
    ],
  };
}
