import { MachineError } from '../core/errors.js';
import { parseInteger, parseSizeMB } from '../core/units.js';
import type { FlagSpec, FlagValues } from '../drivers/driver.js';
import { realSystem, type System } from '../core/system.js';
import { chooseDefaultDriver, DRIVERS } from '../drivers/registry.js';
import { Machine } from '../machine/machine.js';
import { type Store, validateName } from '../store/store.js';
import { createMachine } from './create.js';
import { createRequest } from './create-request.js';
import { lifecycle } from './lifecycle.js';
import { type Progress, silentProgress } from './progress.js';
import { rm } from './rm.js';
import { ensureTls } from './tls.js';

/**
 * `machine quickstart [NAME]`: what Docker Toolbox's Quickstart Terminal (start.sh) did before it
 * opened its shell, done right: create the machine if it is missing (the proxy variables of this
 * shell reach its daemon, as Toolbox's --engine-env did: the provisioner carries them in, with a
 * proxy on 127.0.0.1 rewritten to the host), start it if it is not running, and make sure its
 * certificates are valid for the addresses in use. Unlike start.sh it never runs
 * `regenerate-certs` on every start (which rewrote the machine's profile and lost user edits):
 * certificates are re-issued only when an address is missing from them. bin/quickstart and
 * bin/quickstart.ps1 then set the environment and open the shell.
 */

export interface QuickstartResult {
  name: string;
  driver: string;
  created: boolean;
  started: boolean;
  /** The machine's docker context, when it is current for every terminal (made so when quickstart created the machine). */
  context?: string;
  url: string;
  ip: string;
  certPath: string;
}

function fromEnv(spec: FlagSpec, raw: string): string | number | boolean | string[] {
  switch (spec.type) {
    case 'bool':
      return !['', '0', 'false', 'no'].includes(raw.trim().toLowerCase());
    case 'int':
      return parseInteger(raw);
    case 'size':
      return parseSizeMB(raw);
    case 'list':
      return [raw];
    default:
      return raw;
  }
}

/** Driver flags as `machine create` would see them with no flag given: each one's env variable, else its default. */
export function driverFlagsFromEnv(env: NodeJS.ProcessEnv): FlagValues {
  const values: FlagValues = {};
  for (const spec of DRIVERS.flatMap((d) => d.flags)) {
    const raw = spec.env ? env[spec.env] : undefined;
    values[spec.name] = raw !== undefined ? fromEnv(spec, raw) : spec.type === 'bool' ? undefined : spec.default;
  }
  return values;
}

export async function quickstart(
  store: Store,
  name: string,
  progress: Progress,
  env: NodeJS.ProcessEnv = process.env,
  system: System = realSystem(),
): Promise<QuickstartResult> {
  const say = progress.result;
  validateName(name);
  let created = false;
  let started = false;
  let context: string | undefined;
  if ((await store.exists(name)) && (await store.isHalfCreated(name))) {
    say(`Machine "${name}" was not completely created: removing it to create it again`);
    await rm(store, [name], { force: true }, { ...silentProgress, notice: say });
  }
  if (!(await store.exists(name))) {
    const chosen = env.MACHINE_DRIVER ? undefined : await chooseDefaultDriver(system);
    const driver = env.MACHINE_DRIVER || chosen!.name;
    if (!DRIVERS.some((d) => d.name === driver)) {
      throw new MachineError(`MACHINE_DRIVER "${driver}" is not a driver`, { fix: `use one of ${DRIVERS.map((d) => d.name).join(', ')}` });
    }
    say(`Creating machine "${name}" (${driver}${chosen ? `: ${chosen.reason}` : ''})`);
    const request = createRequest(
      name,
      {
        driver,
        boot2dockerUrl: env.MACHINE_BOOT2DOCKER_URL || undefined,
        isoMirror: env.MACHINE_ISO_MIRROR || undefined,
        engineRegistryMirror: env.ENGINE_REGISTRY_MIRROR ? [env.ENGINE_REGISTRY_MIRROR] : undefined,
        activate: await mayActivate(env),
      },
      driverFlagsFromEnv(env),
    );
    const made = await createMachine(store, request, progress);
    context = made.context;
    created = true;
  } else {
    const machine = await Machine.load(store, name);
    const state = await machine.driver.state();
    if (state !== 'Running') {
      say(`Starting machine "${name}" (${state || 'not running'})`);
      await lifecycle(store, [name], 'start', { ...progress, result: () => undefined });
      started = true;
    }
  }
  const host = await Machine.load(store, name);
  const url = await ensureTls(host, say);
  const ip = await host.driver.ip().catch(() => new URL(url.replace(/^tcp:/, 'http:')).hostname);
  // A context made by `machine use` must follow the machine to its (possibly new) address.
  const { refreshMachineContext, contextNameFor } = await import('../context/machine.js');
  await refreshMachineContext(store, name, url, env).catch(() => undefined);
  // Made current now or by an earlier run (and not undone since): the banner says so.
  const { DockerContexts, dockerConfigDir } = await import('../context/docker-contexts.js');
  if (!context && (await new DockerContexts(dockerConfigDir(env)).current().catch(() => undefined)) === contextNameFor(name)) {
    context = contextNameFor(name);
  }
  return { name, driver: host.config.DriverName, created, started, ...(context ? { context } : {}), url, ip, certPath: host.dir };
}

/**
 * Toolbox persisted the machine's variables for every terminal (SETX on Windows). The docker
 * context is the clean, reversible way: a machine quickstart creates becomes the docker CLI's
 * current context, unless the CLI already uses another tool's context (Docker Desktop, Colima...).
 */
async function mayActivate(env: NodeJS.ProcessEnv): Promise<boolean> {
  const { DockerContexts, dockerConfigDir } = await import('../context/docker-contexts.js');
  const { CONTEXT_PREFIX } = await import('../context/machine.js');
  const current = await new DockerContexts(dockerConfigDir(env)).current().catch(() => 'unreadable');
  return current === undefined || current.startsWith(CONTEXT_PREFIX);
}
