import type { DoctorTopic } from '../drivers/driver.js';
import { debianArch, isGuestArch, nativeArch } from '../core/arch.js';
import { findProgram } from '../core/system.js';
import { chooseDefaultDriver, DRIVERS } from '../drivers/registry.js';
import type { HostConfig } from '../store/config.js';
import { check, type CheckResult } from '../core/check.js';
import type { DoctorSystem } from '../core/check.js';

const TOPICS: DoctorTopic[] = ['install', 'hardware', 'kernel', 'conflicts', 'network'];

/** What the host checks found, shared with the machine checks. */
export interface HostFacts {
  docker?: { path: string; version: string; apiVersion: string };
}

/** The docker CLI: where, which version, which API version (without talking to any daemon). */
export async function findDockerCli(host: DoctorSystem): Promise<HostFacts['docker']> {
  const docker = await findProgram(host, 'docker');
  if (!docker) return undefined;
  // An address that refuses at once: only the client half of `docker version` matters here.
  const r = await host.exec(docker, ['-H', 'tcp://127.0.0.1:1', 'version', '--format', '{{json .Client}}'], { timeoutMs: 15_000 });
  const jsonLine = r.stdout.split('\n').find((l) => l.trim().startsWith('{'));
  try {
    const c = JSON.parse(jsonLine ?? '') as { Version?: string; ApiVersion?: string };
    if (c.Version && c.ApiVersion) return { path: docker, version: c.Version, apiVersion: c.ApiVersion };
  } catch {
    // fall through
  }
  const v = await host.exec(docker, ['--version'], { timeoutMs: 15_000 });
  const m = /version\s+([\w.-]+)/.exec(v.stdout);
  return m ? { path: docker, version: m[1]!, apiVersion: '' } : undefined;
}

export function dockerCliCheck(host: DoctorSystem, docker: HostFacts['docker']): CheckResult {
  if (!docker) {
    const how =
      host.platform === 'darwin'
        ? '"brew install docker"'
        : host.platform === 'win32'
          ? 'the static docker.exe from https://download.docker.com/win/static/stable/x86_64/ on your PATH (or "choco install docker-cli")'
          : 'your distribution\'s docker CLI package ("sudo apt-get install docker.io" or docker-ce-cli)';
    return check(
      'docker-cli',
      'docker CLI',
      'warn',
      'the docker CLI is not installed: machines work, but there is nothing to talk to them',
      {
        fix: `install it: ${how}`,
      },
    );
  }
  return check(
    'docker-cli',
    'docker CLI',
    'ok',
    `docker ${docker.version}${docker.apiVersion ? ` (API ${docker.apiVersion})` : ''} at ${docker.path}`,
    {
      details: docker,
    },
  );
}

/** Which machines run natively here, and which are emulated (by the CPU's own architecture: Rosetta is seen through). */
export async function hostArchCheck(host: DoctorSystem): Promise<CheckResult> {
  const native = await nativeArch(host);
  const other = native === 'arm64' ? 'amd64' : 'arm64';
  const arch = debianArch(host.arch);
  const translated = arch !== native && isGuestArch(arch) ? ` (this Node is ${arch}, translated by Rosetta)` : '';
  const message =
    arch === native || translated
      ? `this computer is ${native}${translated}: ${native} machines run natively, ${other} machines (--qemu-arch ${other}) are emulated; each runs the other's images through binfmt`
      : `this computer is ${arch}, for which there is no ISO: machines are ${native}, emulated`;
  return check('host-arch', 'architecture', 'info', message, { details: { arch, native } });
}

const PROXY_VARS = ['HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'ALL_PROXY', 'http_proxy', 'https_proxy', 'no_proxy', 'all_proxy'];

/** Proxy variables of this shell, credentials masked. */
export function proxyVars(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of PROXY_VARS) {
    const v = env[name];
    if (v) out[name] = v.replace(/\/\/[^/@]*@/, '//xxxxx:xxxxx@');
  }
  return out;
}

/** The host side of proxies: what is set, and what cannot work from a VM or for the docker CLI. */
export function proxyCheck(host: DoctorSystem): CheckResult {
  const vars = proxyVars(host.env);
  const names = Object.keys(vars);
  if (!names.length) return check('proxy', 'proxy', 'ok', 'no proxy variables are set on this computer');
  const seen = names.map((n) => `${n}=${vars[n]}`).join(', ');
  const all = host.env.ALL_PROXY || host.env.all_proxy;
  if (all && !/^socks/i.test(all)) {
    return check('proxy', 'proxy', 'warn', `${seen}: ALL_PROXY is not a socks:// proxy, which the docker CLI cannot use`, {
      fix: 'unset ALL_PROXY and all_proxy (Docker Toolbox did), or point them at a socks5:// proxy',
      details: vars,
    });
  }
  return check('proxy', 'proxy', 'info', `${seen} (each running machine's line says whether its Docker has them)`, { details: vars });
}

/**
 * Each driver's host checks, then the proxy and the docker CLI. The drivers' checks are listed by
 * topic and by id within one (QEMU before VirtualBox, KVM before its driver), whatever the drivers' order.
 */
export async function hostChecks(host: DoctorSystem, machines: HostConfig[]): Promise<{ results: CheckResult[]; facts: HostFacts }> {
  const withDoctor = DRIVERS.filter((d) => d.doctor);
  const [probes, docker, defaultDriver, arch] = await Promise.all([
    Promise.all(withDoctor.map((d) => d.doctor!(host))),
    findDockerCli(host).catch(() => undefined),
    chooseDefaultDriver(host),
    hostArchCheck(host),
  ]);
  const byDriver = new Map<string, HostConfig[]>();
  for (const m of machines) byDriver.set(m.DriverName, [...(byDriver.get(m.DriverName) ?? []), m]);
  const found = await Promise.all(
    probes.map((p, i) => {
      const name = withDoctor[i]!.name;
      return p.checks({
        isDefault: name === defaultDriver.name,
        othersInstalled: probes.some((o) => o !== p && o.installed),
        machines: (byDriver.get(name) ?? []).map((m) => ({ name: m.Name, config: m.Driver })),
      });
    }),
  );
  const driverChecks = found
    .flat()
    .sort((a, b) => TOPICS.indexOf(a.topic) - TOPICS.indexOf(b.topic) || a.result.id.localeCompare(b.result.id))
    .map((c) => c.result);
  return { results: [...driverChecks, arch, proxyCheck(host), dockerCliCheck(host, docker)], facts: { docker } };
}
