import { type GuestArch, nativeArch } from '../../core/arch.js';
import { MachineError } from '../../core/errors.js';
import type { System } from '../../core/system.js';
import { findVirtualBox } from './hostenv.js';
import { type VBoxVersion, versionAtLeast } from './parse.js';

/**
 * VirtualBox emulates no processor: its VMs have the host's own architecture. ARM VMs (createvm
 * --platform-architecture arm, the armv8virtual chipset) came with 7.1, for Apple Silicon.
 */

/** The architecture of the VMs VirtualBox runs on this host: arm64 on Apple Silicon, also under Rosetta. */
export function vboxGuestArch(host: Pick<System, 'platform' | 'arch' | 'exec'>): Promise<GuestArch> {
  return nativeArch(host);
}

export const runsArmVms = (v: VBoxVersion): boolean => versionAtLeast(v, 7, 1);

const ARM_FIX = 'install VirtualBox 7.1 or later (https://www.virtualbox.org/wiki/Downloads), or create the machine with -d qemu';

/** Pre-create: an ARM machine needs VirtualBox 7.1+. */
export function checkArmVersion(v: VBoxVersion): void {
  if (!runsArmVms(v)) throw new MachineError(`VirtualBox ${v.raw} runs no ARM VMs`, { exitCode: 3, fix: ARM_FIX });
}

/**
 * Whether the VirtualBox installed here can run this host's machines, for choosing the default driver:
 * on x86 any VirtualBox can; on ARM, 7.1 or later. `why` says it in a few words when it cannot.
 */
export async function capableVirtualBox(host: System): Promise<{ ok: true; version: string } | { ok: false; why: string }> {
  const vbox = await findVirtualBox(host);
  if (!vbox) return { ok: false, why: 'VirtualBox is not installed' };
  if (!vbox.version) return { ok: false, why: `${vbox.path} does not run` };
  if ((await vboxGuestArch(host)) === 'arm64' && !runsArmVms(vbox.version))
    return { ok: false, why: `VirtualBox ${vbox.version.raw} runs no ARM VMs; 7.1 or later would` };
  return { ok: true, version: vbox.version.raw };
}
