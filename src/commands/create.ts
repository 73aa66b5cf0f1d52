import path from 'node:path';
import { MachineError } from '../core/errors.js';
import type { FlagValues } from '../drivers/driver.js';
import { defaultEngineOptions } from '../store/config.js';
import type { Store } from '../store/store.js';
import type { ClientCertPaths } from '../certs/bootstrap.js';
import { captureProxy } from '../provision/proxy.js';
import { checkEngineOptions, checkSan } from '../provision/validate.js';
import { type CreateResult, createMachine } from '../tasks/create.js';

export interface CreateOptions {
  driver: string;
  engineEnv?: string[];
  engineInsecureRegistry?: string[];
  engineLabel?: string[];
  engineOpt?: string[];
  engineRegistryMirror?: string[];
  engineStorageDriver?: string;
  tlsSan?: string[];
  boot2dockerUrl?: string;
  keepOnFailure?: boolean;
  format?: string;
  importHostCa?: string | boolean;
  portForward?: boolean;
  swarm?: boolean;
  swarmMaster?: boolean;
  swarmDiscovery?: string;
  /** Make the new machine the docker CLI's current context (`machine use NAME`). */
  activate?: boolean;
  /** The global --tls-* flags: the CA and client pair to use (made there if missing). */
  tls?: Partial<ClientCertPaths>;
}

/** `machine create NAME`: validates the flags, then runs the create pipeline. */
export async function create(
  store: Store,
  names: string[],
  opts: CreateOptions,
  driverFlags: FlagValues,
): Promise<CreateResult & { context?: string }> {
  if (names.length === 0) throw new MachineError('Error: No machine name specified', { fix: 'usage: machine create [OPTIONS] NAME' });
  if (names.length > 1) throw new MachineError(`Invalid command line. Found extra arguments [${names.slice(1).join(' ')}]`);
  if (opts.swarm || opts.swarmMaster || opts.swarmDiscovery) {
    throw new MachineError('Classic Swarm (--swarm*) is not supported: Docker retired it', {
      fix: 'run "docker swarm init" on the machine instead',
    });
  }
  const engine = defaultEngineOptions();
  engine.Env = opts.engineEnv ?? [];
  engine.InsecureRegistry = opts.engineInsecureRegistry ?? [];
  engine.Labels = opts.engineLabel ?? [];
  engine.ArbitraryFlags = opts.engineOpt ?? [];
  engine.RegistryMirror = opts.engineRegistryMirror ?? [];
  engine.StorageDriver = opts.engineStorageDriver ?? '';
  const hostProxy = captureProxy(process.env);
  checkEngineOptions(engine, hostProxy);
  (opts.tlsSan ?? []).forEach(checkSan);
  const result = await createMachine(store, {
    name: names[0]!,
    driverName: opts.driver,
    flags: driverFlags,
    engine,
    tlsSans: opts.tlsSan ?? [],
    isoUrl: opts.boot2dockerUrl,
    importHostCa: opts.importHostCa === true ? 'system' : opts.importHostCa ? path.resolve(opts.importHostCa) : undefined,
    noPortForward: opts.portForward === false,
    hostProxy,
    tls: opts.tls ?? {},
    keepOnFailure: opts.keepOnFailure,
    stream: opts.format === 'json' ? process.stderr : process.stdout,
  });
  if (!opts.activate) return result;
  const { useMachine } = await import('../context/machine.js');
  const used = await useMachine(store, result.name);
  for (const w of used.warnings) process.stderr.write(`${w}\n`);
  return { ...result, context: used.context };
}
