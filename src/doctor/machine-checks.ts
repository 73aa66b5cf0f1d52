import path from 'node:path';
import { certCovers, certificateHosts, certificateStatus, issuedBy } from '../certs/x509.js';
import { nativeArch } from '../core/arch.js';
import { messageOf } from '../core/errors.js';
import { readIfExists } from '../core/files.js';
import { withTimeout } from '../core/wait.js';
import { type DockerEndpoint, dockerRequest } from '../docker/api.js';
import type { MachineState } from '../drivers/driver.js';
import { savedForwardPorts } from '../drivers/ports.js';
import { driverDefinition } from '../drivers/registry.js';
import { Machine } from '../machine/machine.js';
import { isoLabel, passwordLogin } from '../iso/identity.js';
import { readIsoInfo } from '../iso/iso9660.js';
import type { Store } from '../store/store.js';
import type { HostFacts } from './host-checks.js';
import { check, type CheckResult } from '../core/check.js';
import type { DoctorSystem } from '../core/check.js';

/** What doctor learned about one machine, for the checks that look across machines. */
export interface MachineFacts {
  name: string;
  state?: MachineState;
  url?: string;
  driver?: string;
}

const day = 86_400_000;
const date = (d: Date) => d.toISOString().slice(0, 10);

/** The 127.0.0.1 ports a machine forwards (SSH, Docker): in use while it runs, free while it is stopped. */
export async function portsCheck(host: DoctorSystem, machine: Machine, state: MachineState): Promise<CheckResult | undefined> {
  if (!driverDefinition(machine.config.DriverName).features.forwardsPorts) return undefined;
  const ports = savedForwardPorts(machine.config.Driver);
  if (!ports.length) return undefined;
  const list = ports.map(({ what, port }) => `${what} 127.0.0.1:${port}`).join(', ');
  if (state === 'Running') return check('ports', 'ports', 'ok', `${list} forwarded to the running VM`, { machine: machine.name });
  const taken = [];
  for (const { what, port } of ports) if (!(await host.portFree(port))) taken.push(`${what} ${port}`);
  if (!taken.length) return check('ports', 'ports', 'ok', `${list} are free for its next start`, { machine: machine.name });
  return check('ports', 'ports', 'warn', `${taken.join(', ')} taken by another program: the next start moves the machine to new ports`, {
    machine: machine.name,
    fix: `after "machine start ${machine.name}", run "machine env ${machine.name}" or "machine use ${machine.name}" again (or stop the program on ${taken.join(', ')})`,
  });
}

/** CA, client and server certificates: present, in date, chained, and covering every address in use. */
export async function certsCheck(host: DoctorSystem, machine: Machine): Promise<CheckResult> {
  const name = machine.name;
  const auth = machine.config.HostOptions.AuthOptions;
  const [ca, client, server] = await Promise.all([
    readIfExists(auth.CaCertPath),
    readIfExists(auth.ClientCertPath),
    readIfExists(auth.ServerCertPath),
  ]);
  const regen = `machine regenerate-certs -f ${name}`;
  if (!ca || !client) {
    return check(
      'certs',
      'certificates',
      'fail',
      `the ${!ca ? `CA (${auth.CaCertPath})` : `client certificate (${auth.ClientCertPath})`} is missing`,
      {
        machine: name,
        fix: `machine regenerate-certs --client-certs -f ${name}`,
      },
    );
  }
  if (!server)
    return check('certs', 'certificates', 'fail', `the server certificate (${auth.ServerCertPath}) is missing`, {
      machine: name,
      fix: regen,
    });
  const now = new Date(host.now());
  try {
    const caStatus = certificateStatus(ca, now);
    const clientStatus = certificateStatus(client, now);
    const serverStatus = certificateStatus(server, now);
    if (caStatus.expired || clientStatus.expired) {
      return check(
        'certs',
        'certificates',
        'fail',
        `the ${caStatus.expired ? 'CA' : 'client certificate'} expired (or is not valid yet) on ${date(caStatus.expired ? caStatus.notAfter : clientStatus.notAfter)}`,
        {
          machine: name,
          fix: `machine regenerate-certs --client-certs -f ${name} (then "machine use"/"machine env" again)`,
        },
      );
    }
    if (!issuedBy(server, ca)) {
      return check(
        'certs',
        'certificates',
        'fail',
        "the server certificate was not issued by the store's CA: the docker CLI will refuse it",
        { machine: name, fix: regen },
      );
    }
    if (serverStatus.expired) {
      return check(
        'certs',
        'certificates',
        'fail',
        `the server certificate is not valid now (valid ${date(serverStatus.notBefore)} to ${date(serverStatus.notAfter)})`,
        {
          machine: name,
          fix: regen,
        },
      );
    }
    // The copies DOCKER_CERT_PATH (the machine folder) hands the docker CLI must be the store's.
    const copy = await readIfExists(`${machine.dir}/ca.pem`);
    if (copy !== undefined && copy.trim() !== ca.trim()) {
      return check(
        'certs',
        'certificates',
        'fail',
        `${machine.dir}/ca.pem differs from the store's CA: "machine env" users get TLS errors`,
        {
          machine: name,
          fix: `machine regenerate-certs --client-certs -f ${name}`,
        },
      );
    }
    const want = await withTimeout(machine.requiredCertHosts(), 20_000, 'the driver');
    const missing = want.filter((h) => !certCovers(server, h));
    const have = certificateHosts(server);
    if (missing.length) {
      return check(
        'certs',
        'certificates',
        'fail',
        `the server certificate does not cover ${missing.join(', ')} (it has ${have.join(', ')}): the docker CLI will refuse it there`,
        {
          machine: name,
          fix: `machine env ${name} (re-issues it for the addresses in use), or ${regen}`,
        },
      );
    }
    const soon = [
      caStatus.expiresSoon ? `the CA (${date(caStatus.notAfter)})` : '',
      clientStatus.expiresSoon ? `the client certificate (${date(clientStatus.notAfter)})` : '',
      serverStatus.expiresSoon ? `the server certificate (${date(serverStatus.notAfter)})` : '',
    ].filter(Boolean);
    if (soon.length) {
      return check('certs', 'certificates', 'warn', `${soon.join(', ')} expire${soon.length === 1 ? 's' : ''} within 30 days`, {
        machine: name,
        fix: `machine regenerate-certs --client-certs -f ${name}`,
      });
    }
    const days = Math.floor(
      (Math.min(serverStatus.notAfter.getTime(), caStatus.notAfter.getTime(), clientStatus.notAfter.getTime()) - now.getTime()) / day,
    );
    return check(
      'certs',
      'certificates',
      'ok',
      `valid for ${want.join(', ')}, the address${want.length > 1 ? 'es' : ''} in use (it names ${have.join(', ')}); all certificates good for ${days} more days`,
      {
        machine: name,
        details: { hosts: have, serverNotAfter: serverStatus.notAfter.toISOString(), caNotAfter: caStatus.notAfter.toISOString() },
      },
    );
  } catch (err) {
    return check('certs', 'certificates', 'fail', `a certificate cannot be read: ${messageOf(err)}`, {
      machine: name,
      fix: `machine regenerate-certs --client-certs -f ${name}`,
    });
  }
}

interface DaemonFacts {
  version: { Version: string; ApiVersion: string; MinAPIVersion?: string };
  info: { SystemTime?: string; HttpProxy?: string; HttpsProxy?: string; NoProxy?: string; Name?: string };
  /** Host time halfway through the /info request (ms). */
  askedAt: number;
}

async function askDaemon(host: DoctorSystem, ep: DockerEndpoint): Promise<DaemonFacts> {
  const v = await dockerRequest(ep, 'GET', '/version', { timeoutMs: 10_000 });
  if (v.status !== 200) throw new Error(`GET /version answered ${v.status}`);
  const t0 = host.now();
  const i = await dockerRequest(ep, 'GET', '/info', { timeoutMs: 10_000 });
  const t1 = host.now();
  if (i.status !== 200) throw new Error(`GET /info answered ${i.status}`);
  return { version: JSON.parse(v.body) as DaemonFacts['version'], info: JSON.parse(i.body) as DaemonFacts['info'], askedAt: (t0 + t1) / 2 };
}

const apiNum = (v: string) => {
  const [a, b] = v.split('.').map(Number);
  return (a ?? 0) * 1000 + (b ?? 0);
};

/** The docker CLI's API version against the daemon's: the CLI negotiates down, within the daemon's minimum. */
export function apiCheck(host: DoctorSystem, name: string, docker: HostFacts['docker'], d: DaemonFacts): CheckResult {
  const daemon = `Docker ${d.version.Version} (API ${d.version.ApiVersion}${d.version.MinAPIVersion ? `, oldest client API ${d.version.MinAPIVersion}` : ''})`;
  const pinned = host.env.DOCKER_API_VERSION;
  if (pinned && apiNum(pinned) > apiNum(d.version.ApiVersion)) {
    return check('docker-api', 'docker API', 'fail', `DOCKER_API_VERSION=${pinned} is newer than the daemon's API: ${daemon}`, {
      machine: name,
      fix: 'unset DOCKER_API_VERSION (the docker CLI negotiates the version by itself)',
    });
  }
  if (!docker?.apiVersion) return check('docker-api', 'docker API', 'info', `${daemon}; no docker CLI to compare with`, { machine: name });
  const client = docker.apiVersion;
  if (d.version.MinAPIVersion && apiNum(client) < apiNum(d.version.MinAPIVersion)) {
    return check(
      'docker-api',
      'docker API',
      'fail',
      `the docker CLI ${docker.version} speaks API ${client}, older than ${daemon} accepts`,
      {
        machine: name,
        fix: 'upgrade the docker CLI',
      },
    );
  }
  const used = apiNum(client) > apiNum(d.version.ApiVersion) ? `negotiates down to ${d.version.ApiVersion}` : `uses ${client}`;
  return check('docker-api', 'docker API', 'ok', `docker CLI ${docker.version} (API ${client}) ${used} with ${daemon}`, {
    machine: name,
    details: { client, daemon: d.version.ApiVersion, minimum: d.version.MinAPIVersion, serverVersion: d.version.Version },
  });
}

/** Host and VM clocks: TLS certificates are backdated 5 minutes, so larger skews break them. */
export function clockCheck(name: string, d: DaemonFacts): CheckResult {
  const vm = d.info.SystemTime ? Date.parse(d.info.SystemTime) : NaN;
  if (Number.isNaN(vm)) return check('clock', 'clock', 'info', 'the daemon did not say its time', { machine: name });
  const skew = (vm - d.askedAt) / 1000;
  const text = `the VM's clock is ${Math.abs(skew).toFixed(1)} s ${skew >= 0 ? 'ahead of' : 'behind'} this computer's`;
  const details = { skewSeconds: Number(skew.toFixed(3)) };
  const fix = `machine restart ${name} (the VM sets its clock at boot)`;
  if (Math.abs(skew) < 5) return check('clock', 'clock', 'ok', text, { machine: name, details });
  if (Math.abs(skew) < 300)
    return check('clock', 'clock', 'warn', `${text}: build caches and log times will be off`, { machine: name, fix, details });
  return check('clock', 'clock', 'fail', `${text}: new TLS certificates look "not yet valid" and pulls fail`, {
    machine: name,
    fix,
    details,
  });
}

const loopbackProxy = (url: string) => /\/\/(?:[^@/]*@)?(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:|\/|$)/i.test(url);

/** The host's proxy variables against what the machine's daemon uses (its /info says). */
export function machineProxyCheck(
  host: DoctorSystem,
  name: string,
  /** The host as the VM reaches it (its driver's hostAddress()), if it can. */
  hostAddress: string | undefined,
  dockerUrl: string,
  d: DaemonFacts,
): CheckResult | undefined {
  const httpProxy = host.env.HTTP_PROXY || host.env.http_proxy;
  const httpsProxy = host.env.HTTPS_PROXY || host.env.https_proxy;
  if (!httpProxy && !httpsProxy) {
    if (d.info.HttpProxy || d.info.HttpsProxy) {
      return check('proxy', 'proxy', 'info', `no proxy on this computer; the VM's Docker uses ${d.info.HttpsProxy || d.info.HttpProxy}`, {
        machine: name,
      });
    }
    return undefined;
  }
  const vmHas = Boolean(d.info.HttpProxy || d.info.HttpsProxy);
  const ip = new URL(dockerUrl.replace(/^tcp:/, 'http:')).hostname;
  const noProxy = (host.env.NO_PROXY || host.env.no_proxy || '').split(',').map((e) => e.trim());
  if (!vmHas) {
    return check(
      'proxy',
      'proxy',
      'warn',
      "this computer uses a proxy but the VM's Docker has none: pulls from registries will fail behind it",
      {
        machine: name,
        fix: `run "machine provision --proxy-from-env ${name}" from this shell: it stores HTTP_PROXY, HTTPS_PROXY and NO_PROXY in the machine and carries them into the daemon`,
      },
    );
  }
  const used = d.info.HttpsProxy || d.info.HttpProxy || '';
  if (loopbackProxy(used)) {
    const gw = hostAddress ?? "the host's address";
    return check('proxy', 'proxy', 'warn', `the VM's Docker uses ${used}, which is the VM itself, not this computer`, {
      machine: name,
      fix: `give the proxy's address as the VM sees it (${gw} for this computer) with --engine-env HTTP_PROXY=..., or drop that --engine-env so the host's proxy is carried in`,
    });
  }
  if (!/^(127\.|localhost$|::1$)/.test(ip) && !noProxy.includes(ip)) {
    return check(
      'proxy',
      'proxy',
      'warn',
      `the VM's Docker uses ${used}, but NO_PROXY lacks ${ip}: the docker CLI would send its requests to the proxy`,
      {
        machine: name,
        fix: `eval $(machine env --no-proxy ${name})`,
      },
    );
  }
  return check('proxy', 'proxy', 'ok', `the VM's Docker uses ${used}${d.info.NoProxy ? ` (NO_PROXY ${d.info.NoProxy})` : ''}`, {
    machine: name,
  });
}

/** Which architecture a machine we boot is, which ISO it boots, and whether it is emulated here. */
export async function isoCheck(host: DoctorSystem, machine: Machine): Promise<CheckResult | undefined> {
  const arch = machine.arch;
  if (!arch) return undefined;
  const info = await readIsoInfo(path.join(machine.dir, 'boot2docker.iso')).catch(() => undefined);
  const native = await nativeArch(host);
  const iso = info ? `boots ${isoLabel(info)}` : 'its boot2docker.iso is missing or unreadable';
  const emulated = arch === native ? '' : `, emulated on this ${native} computer`;
  return check('iso', 'ISO', info ? 'info' : 'warn', `an ${arch} machine; ${iso}${emulated}`, {
    machine: machine.name,
    fix: info ? undefined : `put the ISO back with "machine upgrade ${machine.name}"`,
    details: { arch, iso: info ? isoLabel(info) : undefined },
  });
}

/** Every check about one machine; a stopped machine gets the ones that need no daemon. */
export async function machineChecks(
  host: DoctorSystem,
  store: Store,
  name: string,
  facts: HostFacts,
): Promise<{ results: CheckResult[]; machine: MachineFacts }> {
  let m: Machine;
  try {
    m = await Machine.load(store, name);
  } catch (err) {
    return { results: [check('machine', 'machine', 'fail', messageOf(err), { machine: name })], machine: { name } };
  }
  let state: MachineState;
  try {
    state = await withTimeout(m.driver.state(), 20_000, `the ${m.config.DriverName} driver`);
  } catch (err) {
    return {
      results: [check('machine', 'machine', 'fail', `its state is unknown: ${messageOf(err)}`, { machine: name })],
      machine: { name, driver: m.config.DriverName },
    };
  }
  const results: CheckResult[] = [];
  const info: MachineFacts = { name, state, driver: m.config.DriverName };
  results.push(
    check(
      'machine',
      'machine',
      state === 'Running' ? 'ok' : 'info',
      state === 'Running'
        ? `running (${m.config.DriverName})`
        : `${state || 'not created'} (${m.config.DriverName}): start it to check its daemon, clock and proxy`,
      {
        machine: name,
      },
    ),
  );
  const iso = await isoCheck(host, m);
  if (iso) results.push(iso);
  const ports = await portsCheck(host, m, state).catch(() => undefined);
  if (ports) results.push(ports);
  const password = await passwordLogin(m.dir);
  if (password) {
    results.push(
      check('ssh-password', 'SSH login', 'warn', password, {
        machine: name,
        fix: `create the machine again with machine's own ISO (no --boot2docker-url), which accepts SSH keys only`,
      }),
    );
  }
  results.push(await certsCheck(host, m).catch((err) => check('certs', 'certificates', 'fail', messageOf(err), { machine: name })));
  if (state !== 'Running') return { results, machine: info };
  try {
    info.url = await m.url();
    const d = await withTimeout(askDaemon(host, await m.dockerEndpoint()), 25_000, 'the daemon');
    results.push(apiCheck(host, name, facts.docker, d), clockCheck(name, d));
    const proxy = machineProxyCheck(host, name, m.driver.hostAddress?.(), info.url, d);
    if (proxy) results.push(proxy);
  } catch (err) {
    results.push(
      check('daemon', 'Docker daemon', 'fail', `does not answer over TLS: ${messageOf(err)}`, {
        machine: name,
        fix: `machine env ${name} (re-checks the certificates), or "machine restart ${name}"`,
      }),
    );
  }
  return { results, machine: info };
}
