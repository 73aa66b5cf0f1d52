import path from 'node:path';
import { MachineError } from '../core/errors.js';
import { dockerVersion } from '../docker/api.js';
import { Host } from '../host/host.js';
import { passwordLogin } from '../iso/identity.js';
import { renderTemplate } from '../output/template.js';
import type { Store } from '../store/store.js';
import { forEachMachine, runningHost } from './common.js';

/** `machine ip`: one line per machine, in the order given. */
export async function ip(store: Store, names: string[]): Promise<string[]> {
  return forEachMachine(names, async (name) => {
    const host = await runningHost(store, name, 'Error getting IP address: Host is not running');
    return host.driver.ip();
  });
}

export async function url(store: Store, name: string): Promise<string> {
  return (await runningHost(store, name)).url();
}

export async function status(store: Store, name: string): Promise<string> {
  const host = await Host.load(store, name);
  return host.driver.state();
}

/**
 * `machine inspect`: config.json as docker-machine prints it, or a --format template of it. A
 * machine on an ISO that takes passwords gets a warning on stderr (stdout stays the JSON).
 */
export async function inspect(store: Store, name: string, format?: string): Promise<string> {
  const config = await store.load(name);
  const password = await passwordLogin(store.machineDir(name));
  if (password) process.stderr.write(`Warning: machine "${name}": ${password}\n`);
  if (!format) return JSON.stringify(config, null, 4);
  return renderTemplate(format, config, { sortKeys: true });
}

/** `machine config`: docker CLI flags for the machine, after checking its TLS connection. */
export async function config(store: Store, name: string): Promise<string> {
  const host = await runningHost(store, name, 'Error running connection boilerplate: Host is not running');
  const { ensureTls } = await import('./tls-check.js');
  const url = await ensureTls(host);
  // The copies in the machine directory (DOCKER_CERT_PATH), quoted like Go's %q.
  const q = (file: string) => JSON.stringify(path.join(host.dir, file));
  return [`--tlsverify`, `--tlscacert=${q('ca.pem')}`, `--tlscert=${q('cert.pem')}`, `--tlskey=${q('key.pem')}`, `-H=${url}`].join('\n');
}

/** `machine version [NAME]`: ours, or the machine's Docker daemon version. */
export async function version(store: Store, name: string | undefined, own: string): Promise<string> {
  if (name === undefined) return own;
  const host = await runningHost(store, name);
  return (await dockerVersion(await host.dockerEndpoint())).Version;
}

export function notRunning(name: string): MachineError {
  return new MachineError(`Error: Cannot run SSH command: Host "${name}" is not running`, { fix: `start it with "machine start ${name}"` });
}
