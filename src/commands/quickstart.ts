import { parseInteger, parseSizeMB } from '../cli/options.js';
import { MachineError } from '../core/errors.js';
import type { FlagSpec, FlagValues } from '../drivers/driver.js';
import { DRIVERS, defaultDriverName } from '../drivers/registry.js';
import { Host } from '../host/host.js';
import { type Store, validateName } from '../store/store.js';
import { ensureTls } from './tls-check.js';

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
  env: NodeJS.ProcessEnv = process.env,
  say: (line: string) => void = (l) => process.stdout.write(`${l}\n`),
): Promise<QuickstartResult> {
  validateName(name);
  let created = false;
  let started = false;
  let context: string | undefined;
  if ((await store.exists(name)) && (await store.isHalfCreated(name))) {
    say(`Machine "${name}" was not completely created: removing it to create it again`);
    const { rm } = await import('./rm.js');
    await rm(store, [name], { force: true }, { out: () => undefined, err: say });
  }
  if (!(await store.exists(name))) {
    const driver = env.MACHINE_DRIVER || defaultDriverName();
    if (!DRIVERS.some((d) => d.name === driver)) {
      throw new MachineError(`MACHINE_DRIVER "${driver}" is not a driver`, { fix: `use one of ${DRIVERS.map((d) => d.name).join(', ')}` });
    }
    say(`Creating machine "${name}" (${driver})`);
    const { create } = await import('./create.js');
    const made = await create(
      store,
      [name],
      {
        driver,
        boot2dockerUrl: env.MACHINE_BOOT2DOCKER_URL || undefined,
        engineRegistryMirror: env.ENGINE_REGISTRY_MIRROR ? [env.ENGINE_REGISTRY_MIRROR] : undefined,
        activate: await mayActivate(env),
      },
      driverFlagsFromEnv(env),
    );
    context = made.context;
    created = true;
  } else {
    const host = await Host.load(store, name);
    const state = await host.driver.state();
    if (state !== 'Running') {
      say(`Starting machine "${name}" (${state || 'not running'})`);
      const { lifecycle } = await import('./lifecycle.js');
      await lifecycle(store, [name], 'start', () => undefined);
      started = true;
    }
  }
  const host = await Host.load(store, name);
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

// Docker Toolbox's banner (windows/start.sh, osx start.sh), exactly.
export const WHALE = `
                        ##         .
                  ## ## ##        ==
               ## ## ## ## ##    ===
           /"""""""""""""""""\\___/ ===
      ~~~ {~~ ~~~~ ~~~ ~~~~ ~~~ ~ /  ===- ~~~
           \\______ o           __/
             \\    \\         __/
              \\____\\_______/
`;

/** The whale, then how to reach the machine. */
export function renderBanner(r: QuickstartResult, opts: { color?: boolean } = {}): string {
  const blue = (s: string) => (opts.color ? `\x1b[1;34m${s}\x1b[0m` : s);
  const green = (s: string) => (opts.color ? `\x1b[0;32m${s}\x1b[0m` : s);
  return [
    '',
    WHALE,
    `${blue('docker')} is configured to use the ${green(r.name)} machine with IP ${green(r.ip)}`,
    `Docker daemon: ${r.url} (TLS; certificates in ${r.certPath}); published ports are reached at ${r.ip}`,
    r.context
      ? `Every terminal's docker uses it too (docker context "${r.context}"; undo with: machine use --unset). Log into the VM: machine ssh ${r.name}`
      : `Log into the VM: machine ssh ${r.name}; use it from every terminal: machine use ${r.name}`,
    'For help getting started, check out the docs at https://docs.docker.com',
    '',
    '',
  ].join('\n');
}
