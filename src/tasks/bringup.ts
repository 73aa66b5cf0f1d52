import { promises as fs } from 'node:fs';
import { ensureClientCerts } from '../certs/bootstrap.js';
import { ensureServerCert, machineCertPaths, type ServerCerts } from '../certs/server.js';
import { dockerPing, TlsCertificateError } from '../docker/api.js';
import { enginePort, type Report } from '../drivers/driver.js';
import type { Machine } from '../machine/machine.js';
import { detectBoot2docker, provisionBoot2docker, type ProvisionResult } from '../provision/boot2docker.js';
import { renderProfile } from '../provision/profile.js';
import { daemonEnv } from '../provision/proxy.js';
import { checkEngineOptions } from '../provision/validate.js';
import { hostCaBundle } from '../certs/hostca.js';
import { type SshSession, waitForSsh } from '../ssh/client.js';
import { poll } from '../core/wait.js';
import { describeSkew, GuestClock } from '../forward/clock.js';
import { startForwarder, stopForwarder } from '../forward/process.js';
import { messageOf } from '../core/errors.js';
import { refreshMachineContext } from '../context/machine.js';

/**
 * The steps that bring a booted VM to "Docker answers over TLS", shared by create, start, restart,
 * provision and regenerate-certs, for every driver.
 */

export const SSH_TIMEOUT_MS = 5 * 60_000;
export const DOCKER_TIMEOUT_MS = 3 * 60_000;

/** The last line the VM printed on its console, if the driver keeps a log. */
export async function lastConsoleLine(machine: Machine): Promise<string | undefined> {
  const log = machine.driver.consoleLog?.();
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
async function bootFix(machine: Machine): Promise<string> {
  const last = await lastConsoleLine(machine);
  const hang = machine.driver.bootHangFix?.();
  return `${last ? `its console last said "${last}"` : 'its console is empty'}; see "machine logs ${machine.name}"${hang ? `; ${hang}` : ''}`;
}

/**
 * Wait for sshd while showing the boot milestones the ISO writes to the serial console. Ends at
 * once when the driver knows the VM will never answer (QEMU exited, the disk filled).
 */
export async function waitSshStep(machine: Machine, report: Report, signal?: AbortSignal, timeoutMs = SSH_TIMEOUT_MS): Promise<SshSession> {
  const log = machine.driver.consoleLog?.();
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
    return await waitForSsh(await machine.sshTarget(), {
      timeoutMs,
      signal,
      problem: machine.driver.bootProblem ? () => machine.driver.bootProblem!() : undefined,
      fix: () => bootFix(machine),
    });
  } finally {
    if (timer) clearInterval(timer);
  }
}

/** The certificates the machine must serve: reissued when an address is missing from them. */
export async function certsStep(
  machine: Machine,
  opts: { force?: boolean; forceClient?: boolean } = {},
): Promise<ServerCerts & { caCertPem: string }> {
  const auth = machine.config.HostOptions.AuthOptions;
  const client = await ensureClientCerts(
    { caCert: auth.CaCertPath, caKey: auth.CaPrivateKeyPath, clientCert: auth.ClientCertPath, clientKey: auth.ClientKeyPath },
    { force: opts.forceClient },
  );
  const server = await ensureServerCert(
    machineCertPaths(machine.dir, auth.ServerCertPath, auth.ServerKeyPath),
    client,
    machine.name,
    await machine.certHosts(),
    { force: opts.force, mustCover: await machine.requiredCertHosts() },
  );
  return { ...server, caCertPem: client.caCertPem };
}

/**
 * The profile the machine must have: its engine options, with the proxy settings captured at create
 * carried in. Only config.json decides it: whichever shell runs start or env changes nothing.
 */
export function profileOf(machine: Machine): string {
  const opts = machine.config.HostOptions;
  checkEngineOptions(opts.EngineOptions, opts.HostProxy);
  const env = daemonEnv(opts.EngineOptions.Env ?? [], opts.HostProxy ?? [], machine.driver.hostAddress?.());
  return renderProfile(opts.EngineOptions, machine.config.DriverName, env, enginePort(machine.driver));
}

/** Ctrl-C ends the session: a command running in the VM (waiting for dockerd) returns at once. */
async function closedOnAbort<T>(ssh: SshSession, signal: AbortSignal | undefined, work: () => Promise<T>): Promise<T> {
  const onAbort = () => ssh.close();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    return await work();
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

export async function provisionStep(
  machine: Machine,
  ssh: SshSession,
  report: Report,
  opts: { forceCerts?: boolean; forceClient?: boolean } = {},
  signal?: AbortSignal,
): Promise<ProvisionResult> {
  return closedOnAbort(ssh, signal, () => provisionWith(machine, ssh, report, opts));
}

/**
 * A VM restored from a saved state or resumed keeps the time it stopped at: its clock is set to the
 * host's before anything is provisioned (the forwarder keeps it so afterwards). Never fails the
 * bring-up.
 */
export async function clockStep(machine: Machine, ssh: SshSession, report: Report, signal?: AbortSignal): Promise<void> {
  if (!machine.features.syncsClock) return;
  const check = await closedOnAbort(ssh, signal, () => new GuestClock(async () => ssh).check()).catch((err: unknown) => {
    signal?.throwIfAborted();
    report(`Could not check the clock of the VM: ${messageOf(err)}`);
  });
  if (check?.after) report(`The clock of the VM was ${describeSkew(check.before)}: set to the host's (now ${describeSkew(check.after)})`);
}

async function provisionWith(
  machine: Machine,
  ssh: SshSession,
  report: Report,
  opts: { forceCerts?: boolean; forceClient?: boolean },
): Promise<ProvisionResult> {
  await detectBoot2docker(ssh);
  const certs = await certsStep(machine, { force: opts.forceCerts, forceClient: opts.forceClient });
  if (certs.issued)
    report(`Issued a server certificate for ${(await machine.certHosts()).join(', ')}${certs.reason ? ` (${certs.reason})` : ''}`);
  const importCa = machine.config.HostOptions.ImportHostCA;
  return provisionBoot2docker(
    ssh,
    {
      hostname: machine.name,
      profile: profileOf(machine),
      caCertPem: certs.caCertPem,
      serverCertPem: certs.certPem,
      serverKeyPem: certs.keyPem,
      mounts: machine.driver.guestMounts?.() ?? [],
      extraCaPem: importCa ? await hostCaBundle(importCa) : undefined,
    },
    report,
  );
}

/** Readiness is a real TLS request to the daemon with our client certificate, not a port check. */
export async function waitDockerStep(machine: Machine, signal?: AbortSignal): Promise<void> {
  const ep = await machine.dockerEndpoint();
  await poll(async () => ((await dockerPing(ep, 5000, signal)) ? true : undefined), {
    timeoutMs: DOCKER_TIMEOUT_MS,
    intervalMs: 250,
    maxIntervalMs: 1000,
    signal,
    what: `Docker on ${ep.host}:${ep.port} to answer over TLS`,
    fix: `look at the daemon log with "machine ssh ${machine.name} -- sudo tail /var/lib/boot2docker/log/docker.log"`,
    fatal: (err) => err instanceof TlsCertificateError,
  });
}

/** SSH up, the clock right, provisioned, Docker answering, published ports forwarded: the whole bring-up. */
export async function bringUp(machine: Machine, report: Report, signal?: AbortSignal): Promise<ProvisionResult> {
  const ssh = await waitSshStep(machine, report, signal);
  let result: ProvisionResult;
  try {
    await clockStep(machine, ssh, report, signal);
    result = await provisionStep(machine, ssh, report, {}, signal);
    await waitDockerStep(machine, signal);
  } finally {
    ssh.close();
  }
  signal?.throwIfAborted();
  await machine.save(); // what the driver learnt on the way (an address found in the guest)
  await startForwarder(machine);
  // A docker context made by `machine use` follows the machine to a new address or port.
  await refreshMachineContext(machine.store, machine.name, await machine.url());
  return result;
}

/** Take the VM down (ACPI stop, or kill), then its port forwarder (which would also exit by itself). */
export async function shutDown(machine: Machine, how: 'stop' | 'kill', report: Report): Promise<void> {
  await machine.stop(how, report);
  await stopForwarder(machine);
}
