import path from 'node:path';
import { machineArch } from '../core/arch.js';
import { fsError, MachineError, messageOf } from '../core/errors.js';
import type { Driver, FlagValues, Report } from '../drivers/driver.js';
import { chooseDefaultDriver, driverDefinition } from '../drivers/registry.js';
import { realSystem, type System } from '../core/system.js';
import { Machine } from '../machine/machine.js';
import { isoLabel } from '../iso/identity.js';
import { installIso, type ResolvedIso, resolveIso } from '../iso/source.js';
import { diskHead, type TarFile } from '../iso/userdata.js';
import type { ProvisionResult } from '../provision/boot2docker.js';
import { preseedFiles } from '../provision/preseed.js';
import { hostCaBundle } from '../certs/hostca.js';
import { pinHostKey } from '../ssh/client.js';
import { ensureKeyPair, generateKeyPair } from '../ssh/keys.js';
import { baseDriverConfig, CONFIG_VERSION, defaultSwarmOptions, type EngineOptions, type HostConfig } from '../store/config.js';
import { type ClientCertPaths, certPathsIn } from '../certs/bootstrap.js';
import { type Store, validateName } from '../store/store.js';
import { certsStep, profileOf, provisionStep, waitDockerStep, waitSshStep } from './bringup.js';
import type { Progress, Step } from './progress.js';
import { interruptible } from './signals.js';
import { useMachine } from './use.js';
import { startForwarder, stopForwarder } from '../forward/process.js';
import { stopMachineProcesses } from './orphans.js';

export interface CreateRequest {
  name: string;
  /** Undefined when the user named none: chooseDefaultDriver decides, and the first line says it. */
  driverName?: string;
  flags: FlagValues;
  engine: EngineOptions;
  tlsSans: string[];
  /** --boot2docker-url, overriding the driver's own flag. */
  isoUrl?: string;
  /** --iso-mirror: where released ISOs are downloaded from (mirror + "/" + file name). */
  isoMirror?: string;
  /** --import-host-ca: "system" or a PEM file. */
  importHostCa?: string;
  noPortForward?: boolean;
  /** The host's proxy settings at create (NAME=value), carried into the daemon from now on. */
  hostProxy?: string[];
  /** Where the CA and client pair live (docker-machine's --tls-* flags); the store's certs/ by default. */
  tls?: Partial<ClientCertPaths>;
  keepOnFailure?: boolean;
  /** Make the new machine the docker CLI's current context (`machine use NAME`). */
  activate?: boolean;
}

export interface StepTiming {
  step: string;
  ms: number;
}

export interface CreateResult {
  name: string;
  driver: string;
  url: string;
  iso?: { source: string; volumeId: string; preseed: boolean };
  provision: ProvisionResult;
  timings: StepTiming[];
  totalMs: number;
  /** The docker context made current (activate). */
  context?: string;
}

/** What the steps learn on the way. */
interface Ctx {
  /** The failed step's error, with the step named, for the final line. */
  failure?: MachineError;
  iso?: ResolvedIso;
  publicKey?: string;
  provision?: ProvisionResult;
  timings: StepTiming[];
}

/** Build the config.json of a new machine (docker-machine's v3 layout). */
function newHostConfig(store: Store, req: CreateRequest & { driverName: string }, driverConfig: HostConfig['Driver']): HostConfig {
  const dir = store.machineDir(req.name);
  const certs = { ...certPathsIn(store.certsDir), ...req.tls };
  return {
    ConfigVersion: CONFIG_VERSION,
    Driver: driverConfig,
    DriverName: req.driverName,
    HostOptions: {
      Driver: '',
      Memory: 0,
      Disk: 0,
      EngineOptions: req.engine,
      SwarmOptions: defaultSwarmOptions(),
      AuthOptions: {
        CertDir: store.certsDir,
        CaCertPath: certs.caCert,
        CaPrivateKeyPath: certs.caKey,
        CaCertRemotePath: '',
        ServerCertPath: path.join(dir, 'server.pem'),
        ServerKeyPath: path.join(dir, 'server-key.pem'),
        ClientKeyPath: certs.clientKey,
        ServerCertRemotePath: '',
        ServerKeyRemotePath: '',
        ClientCertPath: certs.clientCert,
        ServerCertSANs: req.tlsSans,
        StorePath: dir,
      },
      ...(req.importHostCa ? { ImportHostCA: req.importHostCa } : {}),
      ...(req.noPortForward ? { NoPortForward: true } : {}),
      HostProxy: req.hostProxy ?? [],
    },
    Name: req.name,
  };
}

/**
 * `machine create`: every step visible with its time; certificates and the ISO are prepared side
 * by side; a failure or Ctrl-C removes everything made (VM process, disk, store entry) unless
 * keepOnFailure. With our ISO the disk carries a preseed (profile, TLS files, host key), so dockerd
 * starts configured on first boot and provisioning has nothing left to change.
 */
export async function createMachine(
  store: Store,
  req: CreateRequest,
  progress: Progress,
  host: System = realSystem(),
): Promise<CreateResult> {
  validateName(req.name);
  let driverName = req.driverName;
  if (!driverName) {
    const chosen = await chooseDefaultDriver(host);
    progress.notice(`Driver: ${chosen.name} (${chosen.reason})`);
    driverName = chosen.name;
  }
  const named = { ...req, driverName };
  // Listening from the first moment: a Ctrl-C during the checks must not still launch a VM.
  const result = await interruptible((signal) => createUnder(store, named, progress, signal), progress);
  if (!req.activate) return result;
  const used = await useMachine(store, result.name, progress.notice);
  for (const w of used.warnings) progress.notice(w);
  return { ...result, context: used.context };
}

async function createUnder(
  store: Store,
  req: CreateRequest & { driverName: string },
  progress: Progress,
  signal: AbortSignal,
): Promise<CreateResult> {
  const mod = await driverDefinition(req.driverName).load();
  const dir = store.machineDir(req.name);
  const keyPath = path.join(dir, 'id_ed25519');
  const driverConfig = await mod.configFromFlags(req.flags, baseDriverConfig(req.name, store.root, keyPath), { store, machineDir: dir });
  if (req.isoUrl) driverConfig.Boot2DockerURL = req.isoUrl;

  // The driver may run commands in the guest once SSH is up (IP discovery): through the host.
  const guest = (command: string) => machine.guestRun(command);
  const driver: Driver = mod.load(driverConfig, { store, machineDir: dir, signal, guest });
  const machine: Machine = new Machine(store, newHostConfig(store, req, driverConfig), driver);
  const bootsIso = driverDefinition(req.driverName).features.bootsIso;
  const ctx: Ctx = { timings: [] };
  const started = Date.now();

  const step = (title: string, fn: (report: Report) => Promise<void>, exitCode?: number): Step => ({
    title,
    run: async (report) => {
      const t0 = Date.now();
      try {
        signal.throwIfAborted();
        await fn(report);
        signal.throwIfAborted();
      } catch (err) {
        ctx.failure ??= stepError(req.name, title, err, exitCode);
        throw err;
      } finally {
        ctx.timings.push({ step: title, ms: Date.now() - t0 });
      }
    },
  });

  return store.withLock(req.name, async () => {
    signal.throwIfAborted();
    await store.beginCreate(req.name);
    try {
      await progress.run([
        step('Running pre-create checks', (report) => driver.preCreateCheck(report), 3),
        step('Preparing keys, certificates and the ISO', async (report) => {
          // Side by side; both settle before a failure is reported, so cleanup never races a write.
          const results = await Promise.allSettled([
            (async () => {
              if (bootsIso) ctx.publicKey = (await ensureKeyPair(keyPath)).publicKey;
              await certsStep(machine);
            })(),
            (async () => {
              if (!bootsIso) return;
              ctx.iso = await resolveIso(driverConfig.Boot2DockerURL as string, store.cacheDir, {
                report,
                signal,
                mirror: req.isoMirror,
                arch: machineArch(driverConfig),
              });
              report(`Using ${isoLabel(ctx.iso.info)} from ${ctx.iso.source}`);
              await installIso(ctx.iso, dir);
            })(),
          ]);
          const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
          if (failed) throw failed.reason;
        }),
        step('Creating the VM', async (report) => {
          // No ISO for drivers of existing hosts: nothing to put on a disk.
          const iso = ctx.iso;
          const head = iso ? await diskHead(ctx.publicKey!, iso.preseed ? await preseedOf(machine) : undefined) : Buffer.alloc(0);
          await machine.create({ head, isoPath: path.join(dir, 'boot2docker.iso') }, report);
        }),
        step('Starting the VM', async (report) => {
          await machine.start(report);
        }),
        step('Waiting for SSH and provisioning Docker', async (report) => {
          const ssh = await waitSshStep(machine, report, signal);
          try {
            ctx.provision = await provisionStep(machine, ssh, report, {}, signal);
          } finally {
            ssh.close();
          }
        }),
        step('Waiting for Docker to answer over TLS', async () => {
          await waitDockerStep(machine, signal);
          await startForwarder(machine);
        }),
      ]);
      signal.throwIfAborted();
      await machine.save();
      await store.endCreate(req.name);
    } catch (err) {
      const cause = signal.aborted ? (signal.reason as Error) : (ctx.failure ?? err);
      if (req.keepOnFailure) {
        await machine.save().catch(() => undefined);
      } else {
        await removeHalfMade(machine);
      }
      throw cause instanceof MachineError ? cause : new MachineError(messageOf(cause), { cause });
    }
    return {
      name: req.name,
      driver: req.driverName,
      url: await machine.url(),
      iso: ctx.iso ? { source: ctx.iso.source, volumeId: ctx.iso.info.volumeId, preseed: ctx.iso.preseed } : undefined,
      provision: ctx.provision!,
      timings: ctx.timings,
      totalMs: Date.now() - started,
    };
  });
}

/** Undo a failed or interrupted create: the forwarder, the VM (and any process of its folder), the folder. */
async function removeHalfMade(machine: Machine): Promise<void> {
  await stopForwarder(machine).catch(() => undefined);
  await machine.remove().catch(() => undefined);
  await stopMachineProcesses(machine.store, machine.name).catch(() => undefined);
  await machine.store.remove(machine.name).catch(() => undefined);
}

/** What our ISO extracts into /var/lib/boot2docker on first boot: the result of provisioning. */
async function preseedOf(machine: Machine): Promise<TarFile[]> {
  const certs = await certsStep(machine);
  const hostKey = generateKeyPair();
  await pinHostKey(machine.knownHostsFile, hostKey.publicKey);
  return preseedFiles({
    hostname: machine.name,
    profile: profileOf(machine),
    caCertPem: certs.caCertPem,
    serverCertPem: certs.certPem,
    serverKeyPem: certs.keyPem,
    hostKeyPrivate: hostKey.privateKey,
    extraCaPem: machine.config.HostOptions.ImportHostCA ? await hostCaBundle(machine.config.HostOptions.ImportHostCA) : undefined,
  });
}

function stepError(name: string, step: string, err: unknown, exitCode?: number): MachineError {
  if (err instanceof MachineError && err.exitCode === 130) return err;
  const inner = err instanceof MachineError ? err : fsError(err);
  return new MachineError(`Error creating machine "${name}" at step "${step}": ${inner ? inner.message : messageOf(err)}`, {
    exitCode: exitCode ?? inner?.exitCode ?? 1,
    fix: inner?.fix,
    cause: err,
  });
}
