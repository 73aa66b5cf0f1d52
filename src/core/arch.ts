import type { System } from './system.js';

/**
 * Machine architectures, by Debian's names (the ISOs are built from Debian packages): a machine
 * runs the ISO of its architecture, natively when it matches the host's, else emulated.
 */
export type GuestArch = 'amd64' | 'arm64';
export const GUEST_ARCHES: readonly GuestArch[] = ['amd64', 'arm64'];

/** Debian's architecture name for a Node one (process.arch). */
export function debianArch(nodeArch: string = process.arch): string {
  return ({ x64: 'amd64', arm64: 'arm64' } as Record<string, string>)[nodeArch] ?? nodeArch;
}

/** The machine architecture that runs natively on this host; amd64 where we have no ISO of its own. */
export function hostArch(nodeArch: string = process.arch): GuestArch {
  const arch = debianArch(nodeArch);
  return isGuestArch(arch) ? arch : 'amd64';
}

/**
 * The architecture the host's processor runs natively, which a hypervisor without emulation runs: as
 * hostArch, but an x64 Node under Rosetta (macOS says sysctl.proc_translated=1) is on Apple Silicon.
 */
export async function nativeArch(host: Pick<System, 'platform' | 'arch' | 'exec'>): Promise<GuestArch> {
  if (host.platform !== 'darwin' || host.arch === 'arm64') return hostArch(host.arch);
  const r = await host.exec('sysctl', ['-n', 'sysctl.proc_translated'], { timeoutMs: 5000 });
  return r.exitCode === 0 && r.stdout.trim() === '1' ? 'arm64' : hostArch(host.arch);
}

/** Apple Silicon, whatever architecture this Node was built for. */
export async function isAppleSilicon(host: Pick<System, 'platform' | 'arch' | 'exec'>): Promise<boolean> {
  return host.platform === 'darwin' && (await nativeArch(host)) === 'arm64';
}

export function isGuestArch(s: unknown): s is GuestArch {
  return GUEST_ARCHES.includes(s as GuestArch);
}

/** A stored machine's architecture: its driver config's Arch, amd64 for machines made before there was a choice. */
export function machineArch(driverConfig: object | undefined): GuestArch {
  const arch = (driverConfig as { Arch?: unknown } | undefined)?.Arch;
  return isGuestArch(arch) ? arch : 'amd64';
}

/** What `uname -m` says in a machine of that architecture. */
export function unameArch(arch: GuestArch): string {
  return arch === 'arm64' ? 'aarch64' : 'x86_64';
}
