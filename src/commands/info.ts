import path from 'node:path';
import { forEachMachine } from '../core/errors.js';
import { dockerVersion } from '../docker/api.js';
import { Machine } from '../machine/machine.js';
import { diskUsageFields, type LsRow } from './ls.js';
import { passwordLogin } from '../iso/identity.js';
import type { HostConfig } from '../store/config.js';
import type { Store } from '../store/store.js';

/** `machine ip`: one line per machine, in the order given. */
export async function ip(store: Store, names: string[]): Promise<string[]> {
  return forEachMachine(names, async (name) => {
    const machine = await Machine.loadRunning(store, name, 'Error getting IP address: Host is not running');
    return machine.driver.ip();
  });
}

export async function url(store: Store, name: string): Promise<string> {
  return (await Machine.loadRunning(store, name)).url();
}

export async function status(store: Store, name: string): Promise<string> {
  const machine = await Machine.load(store, name);
  return machine.driver.state();
}

/**
 * `machine inspect`: config.json (printed as docker-machine did, or through a --format template),
 * and after it the machine's architecture (Arch, for machines we boot) and, when the driver keeps
 * a disk image here, what that takes on the host (DiskUsage, DiskUsageBytes, as in ls). A machine on an ISO that takes passwords gets a warning (for stderr:
 * stdout stays the JSON).
 */
export async function inspect(
  store: Store,
  name: string,
): Promise<{ config: HostConfig & Partial<Pick<LsRow, 'Arch' | 'DiskUsage' | 'DiskUsageBytes'>>; warnings: string[] }> {
  const config = await store.load(name);
  const password = await passwordLogin(store.machineDir(name));
  const machine = await Machine.load(store, name).catch(() => undefined); // a driver that does not load: config.json alone
  const disk = machine ? await diskUsageFields(machine) : undefined;
  const arch = machine?.arch ?? '';
  return {
    config: { ...config, ...(arch ? { Arch: arch } : {}), ...(disk && disk.DiskUsageBytes !== null ? disk : {}) },
    warnings: password ? [`Warning: machine "${name}": ${password}`] : [],
  };
}

/** `machine config`: docker CLI flags for the machine, after checking its TLS connection. */
export async function config(store: Store, name: string, notice: (line: string) => void): Promise<string> {
  const machine = await Machine.loadRunning(store, name, 'Error running connection boilerplate: Host is not running');
  const { ensureTls } = await import('../tasks/tls.js'); // the status/ip/url path stays light
  const url = await ensureTls(machine, notice);
  // The copies in the machine directory (DOCKER_CERT_PATH), quoted like Go's %q.
  const q = (file: string) => JSON.stringify(path.join(machine.dir, file));
  return [`--tlsverify`, `--tlscacert=${q('ca.pem')}`, `--tlscert=${q('cert.pem')}`, `--tlskey=${q('key.pem')}`, `-H=${url}`].join('\n');
}

/** `machine version NAME`: the machine's Docker daemon version. */
export async function version(store: Store, name: string): Promise<string> {
  const machine = await Machine.loadRunning(store, name);
  return (await dockerVersion(await machine.dockerEndpoint())).Version;
}

/** What ssh and scp say of a machine that is not running. */
export const notRunning = (name: string) => `Error: Cannot run SSH command: Host "${name}" is not running`;
