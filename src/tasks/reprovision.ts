import { promises as fs } from 'node:fs';
import { machineArch } from '../core/arch.js';
import path from 'node:path';
import { Machine } from '../machine/machine.js';
import { isoLabel } from '../iso/identity.js';
import { readIsoInfo } from '../iso/iso9660.js';
import { checkMirror } from '../iso/releases.js';
import { installIso, resolveIso } from '../iso/source.js';
import { captureProxy } from '../provision/proxy.js';
import type { Store } from '../store/store.js';
import { forEachMachine } from '../core/errors.js';
import { bringUp, certsStep, provisionStep, shutDown, waitDockerStep, waitSshStep } from './bringup.js';
import type { Progress } from './progress.js';
import { interruptible } from './signals.js';

export interface RegenOptions {
  clientCerts?: boolean;
}

/**
 * `machine regenerate-certs`: new server certificates (and with --client-certs a new CA and client
 * pair, which docker-machine's flag promised but did not do), handed to the daemon. Only the TLS
 * files are rewritten: the profile is kept unless it differs from the machine's settings. (The
 * caller has asked the user.)
 */
export async function regenerateCerts(store: Store, names: string[], opts: RegenOptions, progress: Progress): Promise<void> {
  names = [...new Set(names)];
  progress.result('Regenerating TLS certificates');
  if (opts.clientCerts) progress.result('Regenerating local certificates');
  await interruptible(async (signal) => {
    // The shared CA must be regenerated once, before the machines use it.
    if (opts.clientCerts) {
      const first = await Machine.load(store, names[0]!);
      await certsStep(first, { forceClient: true, force: true });
    }
    await forEachMachine(names, (name) => reprovisionOne(store, name, progress, { forceCerts: true }, signal));
  }, progress);
}

export interface ProvisionOptions {
  /** Capture this shell's proxy settings into the machine (else the ones stored at create stay). */
  proxyFromEnv?: boolean;
}

/** `machine provision`: run the provisioning again (idempotent: only what differs is written). */
export async function provision(store: Store, names: string[], progress: Progress, opts: ProvisionOptions = {}): Promise<void> {
  names = [...new Set(names)];
  await interruptible(
    (signal) => forEachMachine(names, (name) => reprovisionOne(store, name, progress, { proxyFromEnv: opts.proxyFromEnv }, signal)),
    progress,
  );
}

async function reprovisionOne(
  store: Store,
  name: string,
  progress: Progress,
  opts: { forceCerts?: boolean; proxyFromEnv?: boolean },
  signal: AbortSignal,
): Promise<void> {
  await store.withLock(name, async () => {
    const machine = await Machine.loadRunning(store, name);
    const report = (line: string) => progress.result(`(${name}) ${line}`);
    if (opts.proxyFromEnv) {
      machine.config.HostOptions.HostProxy = captureProxy(process.env);
      report(
        machine.config.HostOptions.HostProxy.length
          ? `Proxy settings from this shell: ${machine.config.HostOptions.HostProxy.map((e) => e.split('=')[0]).join(', ')}`
          : 'No proxy settings in this shell: the machine gets none',
      );
      await machine.save();
    }
    const ssh = await waitSshStep(machine, report, signal);
    try {
      const res = await provisionStep(machine, ssh, report, { forceCerts: opts.forceCerts }, signal);
      if (!res.written.length && !res.restarted && !res.mounted.length) report('Already up to date');
    } finally {
      ssh.close();
    }
    await waitDockerStep(machine, signal);
  });
}

/**
 * `machine upgrade`: replace the machine's ISO with the newest one (its --boot2docker-url, else
 * the ISO built from iso/ in a developer checkout, else the newest release, downloaded if not
 * cached) and reboot it. The store's cache/boot2docker.iso is passed over: it is what created the
 * machine. Data, certificates and the profile stay.
 */
export async function upgrade(store: Store, names: string[], progress: Progress, opts: { mirror?: string } = {}): Promise<void> {
  if (opts.mirror) checkMirror(opts.mirror);
  names = [...new Set(names)];
  await interruptible(
    (signal) =>
      forEachMachine(names, (name) =>
        store.withLock(name, async () => {
          const machine = await Machine.load(store, name, signal);
          const report = (line: string) => progress.result(`(${name}) ${line}`);
          const iso = await resolveIso(String(machine.config.Driver.Boot2DockerURL ?? ''), store.cacheDir, {
            report,
            signal,
            mirror: opts.mirror,
            newest: true,
            arch: machineArch(machine.config.Driver),
          });
          const current = path.join(machine.dir, 'boot2docker.iso');
          const same = await sameFile(iso.path, current);
          if (same) {
            report(`Already on ${isoLabel(iso.info)} (${iso.source})`);
            return;
          }
          const before = await readIsoInfo(current).then(isoLabel, () => 'its ISO');
          if ((await machine.driver.state()) === 'Running') {
            report('Stopping machine to do the upgrade...');
            await shutDown(machine, 'stop', report);
          }
          report(`Upgrading machine "${name}" from ${before} to ${isoLabel(iso.info)} (${iso.source})...`);
          await installIso(iso, machine.dir);
          report('Starting machine back up...');
          await machine.start(report);
          await bringUp(machine, report, signal);
        }),
      ),
    progress,
  );
}

async function sameFile(a: string, b: string): Promise<boolean> {
  const [sa, sb] = await Promise.all([fs.stat(a), fs.stat(b).catch(() => undefined)]);
  if (!sb || sa.size !== sb.size) return false;
  const [ba, bb] = await Promise.all([fs.readFile(a), fs.readFile(b)]);
  return ba.equals(bb);
}
