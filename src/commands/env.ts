import { MachineError } from '../core/errors.js';
import { type Detected, detectShell, realShellSystem, type ShellSystem } from '../env/detect.js';
import { type EnvVar, type Shell } from '../env/shells.js';
import { Machine } from '../machine/machine.js';
import type { Store } from '../store/store.js';
import { ensureTls } from '../tasks/tls.js';

export interface EnvOptions {
  shell?: string;
  unset?: boolean;
  noProxy?: boolean;
  swarm?: boolean;
}

export interface EnvResult {
  shell: Shell;
  vars: EnvVar[];
  /** Printed to stderr, not to the script. */
  notice?: string;
  /** How the shell was chosen. */
  detectedBy: string;
}

export { detectShell };

const MACHINE_VARS = ['DOCKER_TLS_VERIFY', 'DOCKER_HOST', 'DOCKER_CERT_PATH', 'DOCKER_MACHINE_NAME'];

/** The NO_PROXY variable to extend: no_proxy if set, else NO_PROXY (docker-machine's rule). */
function noProxyVar(env: NodeJS.ProcessEnv): { name: string; value: string } {
  if (env.no_proxy) return { name: 'no_proxy', value: env.no_proxy };
  return { name: 'NO_PROXY', value: env.NO_PROXY ?? '' };
}

/**
 * NO_PROXY with the machine's address added, unless one of its entries already is that address
 * (docker-machine checked for a substring, so 192.168.99.10 counted as present in 192.168.99.100).
 */
export function withNoProxy(value: string, ip: string): string {
  const entries = value
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean);
  if (entries.includes(ip)) return value;
  return entries.length ? `${value.replace(/,\s*$/, '')},${ip}` : ip;
}

/**
 * `machine env`: the variables that point the docker CLI at the machine, after making sure its TLS
 * certificate is valid for the address (re-issued automatically if not). Fixes docker-machine's
 * NO_PROXY substring check and `--unset --no-proxy` ("unset NO_PROXY<value>"), and refuses --swarm.
 */
export async function env(
  store: Store,
  names: string[],
  opts: EnvOptions,
  notice: (line: string) => void,
  host: ShellSystem = realShellSystem(),
): Promise<EnvResult> {
  if (opts.swarm) {
    throw new MachineError('Error: --swarm is not supported: classic Swarm was retired by Docker', {
      fix: 'use "docker swarm" on the machine instead (machine ssh NAME -- docker swarm init)',
    });
  }
  if (opts.unset && names.length) throw new MachineError('Error: Expected no machine name when the -u flag is present');
  if (!opts.unset && names.length > 1) throw new MachineError('Error: Expected one machine name as an argument');
  const detected: Detected = await detectShell(host, opts.shell);
  const result = (vars: EnvVar[]): EnvResult => ({ shell: detected.shell, vars, notice: detected.notice, detectedBy: detected.source });
  const windows = host.platform === 'win32';

  if (opts.unset) {
    const vars: EnvVar[] = MACHINE_VARS.map((name) => ({ name }));
    if (windows) vars.push({ name: 'COMPOSE_CONVERT_WINDOWS_PATHS' });
    if (opts.noProxy) vars.push({ name: noProxyVar(host.env).name });
    return result(vars);
  }
  const name = names[0] ?? 'default';
  if (!(await store.exists(name))) {
    if (!names.length) throw new MachineError('Error: No machine name(s) specified and no "default" machine exists');
    throw store.notFound(name);
  }
  const machine = await Machine.loadRunning(store, name, 'Error checking TLS connection: Host is not running');
  const url = await ensureTls(machine, notice);
  const vars: EnvVar[] = [
    { name: 'DOCKER_TLS_VERIFY', value: '1' },
    { name: 'DOCKER_HOST', value: url },
    { name: 'DOCKER_CERT_PATH', value: machine.dir },
    { name: 'DOCKER_MACHINE_NAME', value: name },
  ];
  // docker-compose turns C:\ paths of volumes into /c/ paths the VM has (whatever the shell).
  if (windows) vars.push({ name: 'COMPOSE_CONVERT_WINDOWS_PATHS', value: 'true' });
  if (opts.noProxy) {
    const { name: varName, value } = noProxyVar(host.env);
    const ip = new URL(url.replace(/^tcp:/, 'http:')).hostname;
    vars.push({ name: varName, value: withNoProxy(value, ip) });
  }
  // A context made by `machine use` follows the machine too: refresh it if the address moved.
  const { refreshMachineContext } = await import('../context/machine.js');
  await refreshMachineContext(store, name, url).catch(() => undefined);
  return result(vars);
}
