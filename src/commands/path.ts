import { driverDefinition } from '../drivers/registry.js';
import { defaultShares } from '../drivers/shares.js';
import { type HostShare, hostToVmPath } from '../env/paths.js';
import type { Store } from '../store/store.js';

export interface PathResult {
  paths: string[];
  warnings: string[];
}

/** The host folders a machine shares with its VM (VirtualBox shared folders, QEMU 9p; generic has none). */
export async function machineShares(store: Store, name: string, platform: NodeJS.Platform = process.platform): Promise<HostShare[]> {
  const config = await store.load(name);
  const shares = await driverDefinition(config.DriverName).shares(config.Driver, platform);
  return shares.filter((s) => s.hostPath && s.guestPath);
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
