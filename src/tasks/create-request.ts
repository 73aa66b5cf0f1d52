import path from 'node:path';
import { MachineError } from '../core/errors.js';
import type { FlagValues } from '../drivers/driver.js';
import { defaultEngineOptions } from '../store/config.js';
import type { ClientCertPaths } from '../certs/bootstrap.js';
import { checkMirror } from '../iso/releases.js';
import { captureProxy } from '../provision/proxy.js';
import { checkEngineOptions, checkSan } from '../provision/validate.js';
import type { CreateRequest } from './create.js';

export interface CreateOptions {
  /** -d / MACHINE_DRIVER; undefined: create chooses. */
  driver?: string;
  engineEnv?: string[];
  engineInsecureRegistry?: string[];
  engineLabel?: string[];
  engineOpt?: string[];
  engineRegistryMirror?: string[];
  engineStorageDriver?: string;
  tlsSan?: string[];
  boot2dockerUrl?: string;
  /** --iso-mirror (MACHINE_ISO_MIRROR): the folder URL released ISOs are downloaded from. */
  isoMirror?: string;
  keepOnFailure?: boolean;
  importHostCa?: string | boolean;
  portForward?: boolean;
  /** --no-binfmt: false. */
  binfmt?: boolean;
  swarm?: boolean;
  swarmMaster?: boolean;
  swarmDiscovery?: string;
  /** Make the new machine the docker CLI's current context (`machine use NAME`). */
  activate?: boolean;
  /** The global --tls-* flags: the CA and client pair to use (made there if missing). */
  tls?: Partial<ClientCertPaths>;
}

/**
 * What `machine create` (and quickstart) asked for, checked and turned into a create request: the
 * engine settings are validated here because they reach a shell in the VM.
 */
export function createRequest(name: string, opts: CreateOptions, driverFlags: FlagValues): CreateRequest {
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
  if (opts.binfmt === false) engine.Binfmt = false;
  const hostProxy = captureProxy(process.env);
  checkEngineOptions(engine, hostProxy);
  (opts.tlsSan ?? []).forEach(checkSan);
  if (opts.isoMirror) checkMirror(opts.isoMirror);
  return {
    name,
    driverName: opts.driver,
    flags: driverFlags,
    engine,
    tlsSans: opts.tlsSan ?? [],
    isoUrl: opts.boot2dockerUrl,
    isoMirror: opts.isoMirror || undefined,
    importHostCa: opts.importHostCa === true ? 'system' : opts.importHostCa ? path.resolve(opts.importHostCa) : undefined,
    noPortForward: opts.portForward === false,
    hostProxy,
    tls: opts.tls ?? {},
    keepOnFailure: opts.keepOnFailure,
    activate: opts.activate,
  };
}
