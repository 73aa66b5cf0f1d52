import { defaultShares } from '../drivers/shares.js';
import { type HostShare, hostToVmPath } from '../env/paths.js';
import type { Store } from '../store/store.js';

export interface PathResult {
  paths: string[];
  warnings: string[];
}

/** A share as a driver stores it: QEMU's {hostPath, guestPath}, VirtualBox's {Name, HostPath, GuestPath}. */
interface StoredShare {
  hostPath?: string;
  guestPath?: string;
  HostPath?: string;
  GuestPath?: string;
}

/** The host folders a machine shares with its VM (VirtualBox shared folders, QEMU 9p; generic has none). */
export async function machineShares(store: Store, name: string, platform: NodeJS.Platform = process.platform): Promise<HostShare[]> {
  const config = await store.load(name);
  const driver = config.Driver as { Shares?: StoredShare[]; ShareFolder?: string; NoShare?: boolean };
  let shares = Array.isArray(driver.Shares) ? driver.Shares : undefined;
  if (!shares && config.DriverName === 'virtualbox') {
    const { sharesFromConfig } = await import('../drivers/virtualbox/shares.js');
    shares = sharesFromConfig({ ShareFolder: driver.ShareFolder ?? '', NoShare: Boolean(driver.NoShare) }, platform);
  }
  return (shares ?? [])
    .map((s) => ({ hostPath: s.hostPath ?? s.HostPath ?? '', guestPath: s.guestPath ?? s.GuestPath ?? '' }))
    .filter((s) => s.hostPath && s.guestPath);
}

/**
 * `machine path PATH...`: where each host path is in the machine's VM, for bind mounts
 * (`docker run -v "$(machine path .)":/app`). Warns when a path is outside every share: the
 * container would see an empty folder the daemon made in the VM.
 */
export async function vmPaths(
  store: Store,
  paths: string[],
  machine?: string,
  platform: NodeJS.Platform = process.platform,
  cwd = process.cwd(),
): Promise<PathResult> {
  const name = machine ?? (process.env.DOCKER_MACHINE_NAME || 'default');
  const known = await store.exists(name);
  if (machine && !known) throw store.notFound(machine);
  const shares = known ? await machineShares(store, name, platform) : defaultShares(platform);
  const warnings: string[] = [];
  const out = paths.map((p) => {
    const r = hostToVmPath(p, shares, platform, cwd);
    if (!r.share) {
      warnings.push(
        shares.length
          ? `${p === r.path ? p : `${p} (${r.path})`} is outside the folders machine "${name}" shares (${shares.map((s) => s.hostPath).join(', ')}): a container would see an empty folder; move it under a shared folder`
          : `machine "${name}" shares no host folder with its VM: a container would see an empty folder; copy files in with "machine scp -r", or create it with --share`,
      );
    }
    return r.path;
  });
  return { paths: out, warnings };
}
