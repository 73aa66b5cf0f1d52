import { MachineError } from '../core/errors.js';
import { type EnvVar, renderEnv, type Shell, shellFromName } from '../env/shells.js';
import type { Store } from '../store/store.js';
import { runningHost } from './common.js';
import { ensureTls } from './tls-check.js';

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
}

/** The shell to write for: --shell, else $SHELL; without either, POSIX syntax and a notice. */
export function detectShell(flag?: string): { shell: Shell; notice?: string } {
  if (flag) return { shell: shellFromName(flag) };
  if (process.platform === 'win32' && !process.env.SHELL) {
    return { shell: 'powershell', notice: "You can further specify your shell with either 'cmd' or 'powershell' with the --shell flag." };
  }
  if (process.env.SHELL) return { shell: shellFromName(process.env.SHELL) };
  return {
    shell: 'bash',
    notice: "The lines below are for a sh/bash shell, you can specify the shell you're using, with the --shell flag.",
  };
}

const MACHINE_VARS = ['DOCKER_TLS_VERIFY', 'DOCKER_HOST', 'DOCKER_CERT_PATH', 'DOCKER_MACHINE_NAME'];

/** The NO_PROXY variable to extend: no_proxy if set, else NO_PROXY (docker-machine's rule). */
function noProxyVar(): { name: string; value: string } {
  if (process.env.no_proxy) return { name: 'no_proxy', value: process.env.no_proxy };
  return { name: 'NO_PROXY', value: process.env.NO_PROXY ?? '' };
}

/**
 * `machine env`: the variables that point the docker CLI at the machine, after making sure its TLS
 * certificate is valid for the address (re-issued automatically if not). Fixes docker-machine's
 * NO_PROXY substring check and `--unset --no-proxy`.
 */
export async function env(store: Store, names: string[], opts: EnvOptions): Promise<EnvResult> {
  if (opts.swarm) {
    throw new MachineError('Error: --swarm is not supported: classic Swarm was retired by Docker', {
      fix: 'use "docker swarm" on the machine instead',
    });
  }
  const { shell, notice } = detectShell(opts.shell);
  if (opts.unset) {
    if (names.length) throw new MachineError('Error: Expected no machine name when the -u flag is present');
    const vars: EnvVar[] = MACHINE_VARS.map((name) => ({ name }));
    if (opts.noProxy) vars.push({ name: noProxyVar().name });
    return { shell, vars, notice };
  }
  if (names.length > 1) throw new MachineError('Error: Expected one machine name as an argument');
  const name = names[0] ?? 'default';
  if (!(await store.exists(name))) {
    if (!names.length) throw new MachineError('Error: No machine name(s) specified and no "default" machine exists');
    throw store.notFound(name);
  }
  const host = await runningHost(store, name, 'Error checking TLS connection: Host is not running');
  const url = await ensureTls(host);
  const vars: EnvVar[] = [
    { name: 'DOCKER_TLS_VERIFY', value: '1' },
    { name: 'DOCKER_HOST', value: url },
    { name: 'DOCKER_CERT_PATH', value: host.dir },
    { name: 'DOCKER_MACHINE_NAME', value: name },
  ];
  if (process.platform === 'win32') vars.push({ name: 'COMPOSE_CONVERT_WINDOWS_PATHS', value: 'true' });
  if (opts.noProxy) {
    const { name: varName, value } = noProxyVar();
    const ip = new URL(url.replace(/^tcp:/, 'http:')).hostname;
    const entries = value
      .split(',')
      .map((e) => e.trim())
      .filter(Boolean);
    vars.push({ name: varName, value: entries.includes(ip) ? value : entries.length ? `${value},${ip}` : ip });
  }
  return { shell, vars, notice };
}

export function renderEnvResult(result: EnvResult, commandLine: string): string {
  return renderEnv(result.shell, result.vars, commandLine);
}
