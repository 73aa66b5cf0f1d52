import { promises as fs } from 'node:fs';
import { ensureClientCerts } from '../certs/bootstrap.js';
import { ensureServerCert, machineCertPaths, type ServerCerts } from '../certs/server.js';
import { dockerPing, TlsCertificateError } from '../docker/api.js';
import { enginePort, type Report } from '../drivers/driver.js';
import type { Host } from '../host/host.js';
import { detectBoot2docker, provisionBoot2docker, type ProvisionResult } from '../provision/boot2docker.js';
import { renderProfile } from '../provision/profile.js';
import { daemonEnv } from '../provision/proxy.js';
import { checkEngineOptions } from '../provision/validate.js';
import { hostCaBundle } from '../certs/hostca.js';
import { type SshSession, waitForSsh } from '../ssh/client.js';
import { poll } from '../core/wait.js';
import { startForwarder, stopForwarder } from '../forward/process.js';
import { refreshMachineContext } from '../context/machine.js';

/**
 * The steps that bring a booted VM to "Docker answers over TLS", shared by create, start, restart,
 * provision and regenerate-certs, for every driver.
 */

export const SSH_TIMEOUT_MS = 5 * 60_000;
export const DOCKER_TIMEOUT_MS = 3 * 60_000;

/** The last line the VM printed on its console, if the driver keeps a log. */
export async function lastConsoleLine(host: Host): Promise<string | undefined> {
  const log = host.driver.consoleLog?.();
  if (!log) return undefined;
  const text = await fs.readFile(log, 'utf8').catch(() => '');
  return text
    .split(/\r?\n/)
    .map((l) => l.replace(/[\x00-\x1f\x7f]/g, '').trim())
    .filter(Boolean)
    .pop()
    ?.slice(0, 160);
}

/** The likely fix for a VM that never answered: what it printed last, where to look, the accelerator. */
async function bootFix(host: Host): Promise<string> {
  const last = await lastConsoleLine(host);
  const hang = host.driver.bootHangFix?.();
  return `${last ? `its console last said "${last}"` : 'its console is empty'}; see "machine logs ${host.name}"${hang ? `; ${hang}` : ''}`;
}

/**
 * Wait for sshd while showing the boot milestones the ISO writes to the serial console. Ends at
 * once when the driver knows the VM will never answer (QEMU exited, the disk filled).
 */
export async function waitSshStep(host: Host, report: Report, signal?: AbortSignal, timeoutMs = SSH_TIMEOUT_MS): Promise<SshSession> {
  const log = host.driver.consoleLog?.();
  let seen = 0;
  const timer = log
    ? setInterval(() => {
        void fs
          .readFile(log, 'utf8')
          .then((text) => {
            const milestones = [...text.matchAll(/machine-boot: (\w+) ([\d.]+)/g)];
            if (milestones.length > seen) {
              seen = milestones.length;
              report(`Booting: ${milestones.map((m) => `${m[1]} ${Number(m[2]).toFixed(1)}s`).join(', ')}`);
            }
          })
          .catch(() => undefined);
      }, 500)
    : undefined;
  try {
    return await waitForSsh(await host.sshTarget(), {
      timeoutMs,
      signal,
      problem: host.driver.bootProblem ? () => host.driver.bootProblem!() : undefined,
      fix: () => bootFix(host),
    });
  } finally {
    if (timer) clearInterval(timer);
  }
}

/** The certificates the machine must serve: reissued when an address is missing from them. */
export async function certsStep(
  host: Host,
  opts: { force?: boolean; forceClient?: boolean } = {},
): Promise<ServerCerts & { caCertPem: string }> {
  const auth = host.config.HostOptions.AuthOptions;
  const client = await ensureClientCerts(
    { caCert: auth.CaCertPath, caKey: auth.CaPrivateKeyPath, clientCert: auth.ClientCertPath, clientKey: auth.ClientKeyPath },
    { force: opts.forceClient },
  );
  const server = await ensureServerCert(
    machineCertPaths(host.dir, auth.ServerCertPath, auth.ServerKeyPath),
    client,
    host.name,
    await host.certHosts(),
    { force: opts.force, mustCover: await host.requiredCertHosts() },
  );
  return { ...server, caCertPem: client.caCertPem };
}

/**
 * The profile the machine must have: its engine options, with the proxy settings captured at create
 * carried in. Only config.json decides it: whichever shell runs start or env changes nothing.
 */
export function profileOf(host: Host): string {
  const opts = host.config.HostOptions;
  checkEngineOptions(opts.EngineOptions, opts.HostProxy);
  const env = daemonEnv(opts.EngineOptions.Env ?? [], opts.HostProxy ?? [], host.driver.hostAddress?.());
  return renderProfile(opts.EngineOptions, host.config.DriverName, env, enginePort(host.driver));
}

export async function provisionStep(
  host: Host,
  ssh: SshSession,
  report: Report,
  opts: { forceCerts?: boolean; forceClient?: boolean } = {},
  signal?: AbortSignal,
): Promise<ProvisionResult> {
  // Ctrl-C ends the session: a command running in the VM (waiting for dockerd) returns at once.
  const onAbort = () => ssh.close();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    return await provisionWith(host, ssh, report, opts);
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

async function provisionWith(
  host: Host,
  ssh: SshSession,
  report: Report,
  opts: { forceCerts?: boolean; forceClient?: boolean },
): Promise<ProvisionResult> {
  await detectBoot2docker(ssh);
  const certs = await certsStep(host, { force: opts.forceCerts, forceClient: opts.forceClient });
  if (certs.issued)
    report(`Issued a server certificate for ${(await host.certHosts()).join(', ')}${certs.reason ? ` (${certs.reason})` : ''}`);
  const importCa = host.config.HostOptions.ImportHostCA;
  return provisionBoot2docker(
    ssh,
    {
      hostname: host.name,
      profile: profileOf(host),
      caCertPem: certs.caCertPem,
      serverCertPem: certs.certPem,
      serverKeyPem: certs.keyPem,
      mounts: host.driver.guestMounts?.() ?? [],
      extraCaPem: importCa ? await hostCaBundle(importCa) : undefined,
    },
    report,
  );
}

/** Readiness is a real TLS request to the daemon with our client certificate, not a port check. */
export async function waitDockerStep(host: Host, signal?: AbortSignal): Promise<void> {
  const ep = await host.dockerEndpoint();
  await poll(async () => ((await dockerPing(ep, 5000, signal)) ? true : undefined), {
    timeoutMs: DOCKER_TIMEOUT_MS,
    intervalMs: 250,
    maxIntervalMs: 1000,
    signal,
    what: `Docker on ${ep.host}:${ep.port} to answer over TLS`,
    fix: `look at the daemon log with "machine ssh ${host.name} -- sudo tail /var/lib/boot2docker/log/docker.log"`,
    fatal: (err) => err instanceof TlsCertificateError,
  });
}

/** SSH up, provisioned, Docker answering, published ports forwarded: the whole bring-up. */
export async function bringUp(host: Host, report: Report, signal?: AbortSignal): Promise<ProvisionResult> {
  const ssh = await waitSshStep(host, report, signal);
  let result: ProvisionResult;
  try {
    result = await provisionStep(host, ssh, report, {}, signal);
    await waitDockerStep(host, signal);
  } finally {
    ssh.close();
  }
  signal?.throwIfAborted();
  await host.save(); // what the driver learnt on the way (an address found in the guest)
  await startForwarder(host);
  // A docker context made by `machine use` follows the machine to a new address or port.
  await refreshMachineContext(host.store, host.name, await host.url());
  return result;
}

/** Take the VM down (ACPI stop, or kill), then its port forwarder (which would also exit by itself). */
export async function shutDown(host: Host, how: 'stop' | 'kill', report: Report): Promise<void> {
  await host.stop(how, report);
  await stopForwarder(host);
}
