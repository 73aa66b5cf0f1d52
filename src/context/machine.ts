import path from 'node:path';
import { MachineError } from '../core/errors.js';
import type { ClientTls } from '../docker/api.js';
import type { Store } from '../store/store.js';
import { type ContextMeta, DockerContexts, dockerConfigDir } from './docker-contexts.js';

/**
 * Docker contexts for machines. Naming rule: machine NAME gets the context "machine-NAME" (docker
 * reserves "default", the name of the first machine, and a prefix keeps machine contexts together
 * in `docker context ls`). A context is ours when its metadata names the machine and the store
 * (MachineName, MachineStoragePath): only those are refreshed, replaced or removed.
 */

export const CONTEXT_PREFIX = 'machine-';

export function contextNameFor(machine: string): string {
  return `${CONTEXT_PREFIX}${machine}`;
}

export interface MachineContextMeta extends ContextMeta {
  Metadata: { Description: string; MachineName: string; MachineStoragePath: string };
}

export function isMachineContext(meta: ContextMeta | undefined): meta is MachineContextMeta {
  return typeof meta?.Metadata?.MachineName === 'string' && typeof meta.Metadata.MachineStoragePath === 'string';
}

function ours(meta: ContextMeta | undefined, store: Store, machine?: string): meta is MachineContextMeta {
  return (
    isMachineContext(meta) &&
    path.resolve(meta.Metadata.MachineStoragePath) === store.root &&
    (machine === undefined || meta.Metadata.MachineName === machine)
  );
}

export function contextsFor(env: NodeJS.ProcessEnv): DockerContexts {
  return new DockerContexts(dockerConfigDir(env));
}

export interface UseResult {
  machine: string;
  context: string;
  host: string;
  configDir: string;
  /** Things in this shell that keep the docker CLI from using the context. */
  warnings: string[];
}

/** DOCKER_HOST and DOCKER_CONTEXT win over config.json's currentContext: say so. */
export function overrides(env: NodeJS.ProcessEnv, context: string | undefined): string[] {
  const warnings: string[] = [];
  if (env.DOCKER_HOST) {
    warnings.push(
      `DOCKER_HOST is set in this shell (${env.DOCKER_HOST}) and the docker CLI uses it instead of the current context: unset it ("eval $(machine env -u)", or "machine env -u --shell powershell | Invoke-Expression")`,
    );
  }
  if (env.DOCKER_CONTEXT && env.DOCKER_CONTEXT !== context) {
    warnings.push(`DOCKER_CONTEXT is set in this shell (${env.DOCKER_CONTEXT}) and wins over the current context: unset it`);
  }
  return warnings;
}

/** Write (or refresh) the context of a running machine with its TLS material. */
export async function writeContext(contexts: DockerContexts, store: Store, name: string, url: string, tls: ClientTls) {
  const context = contextNameFor(name);
  const existing = await contexts.read(context);
  if (existing && !ours(existing, store, name)) {
    const owner = isMachineContext(existing)
      ? `machine "${existing.Metadata.MachineName}" of ${existing.Metadata.MachineStoragePath}`
      : 'someone else';
    throw new MachineError(`The docker context "${context}" already exists and belongs to ${owner}`, {
      fix: `remove it with "docker context rm ${context}" if it is no longer used, then run this again`,
    });
  }
  const meta: MachineContextMeta = {
    Name: context,
    Metadata: { Description: `machine "${name}"`, MachineName: name, MachineStoragePath: store.root },
    Endpoints: { docker: { Host: url, SkipTLSVerify: false } },
  };
  await contexts.write(meta, tls);
  return context;
}

export interface UnuseResult {
  /** The machine context that was current, if one was. */
  previous?: string;
  /** A context that is current and not a machine's: left alone. */
  foreign?: string;
  warnings: string[];
}

/** `machine use --unset`: back to docker's "default" context, if a machine's context is current. */
export async function unuseMachine(env: NodeJS.ProcessEnv = process.env): Promise<UnuseResult> {
  const contexts = contextsFor(env);
  const current = await contexts.current();
  const warnings = env.DOCKER_HOST ? overrides(env, undefined).slice(0, 1) : [];
  if (!current) return { warnings };
  // A machine's context, or a dangling "machine-…" name (its files gone): ours to clear.
  const meta = await contexts.read(current);
  if (!isMachineContext(meta) && (meta || !current.startsWith(CONTEXT_PREFIX))) return { foreign: current, warnings };
  await contexts.setCurrent(undefined);
  return { previous: current, warnings };
}

/** After an address change (start on a new port, new IP): rewrite our context, if there is one. */
export async function refreshMachineContext(
  store: Store,
  name: string,
  url: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<boolean> {
  const contexts = contextsFor(env);
  const context = contextNameFor(name);
  const meta = await contexts.read(context);
  if (!ours(meta, store, name) || meta.Endpoints.docker?.Host === url) return false;
  const { Machine } = await import('../machine/machine.js');
  const machine = await Machine.load(store, name);
  await writeContext(contexts, store, name, url, await machine.clientTls());
  return true;
}

/** `machine rm`: remove the context `machine use` made (and stop it being current). */
export async function removeMachineContext(store: Store, name: string, env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  const contexts = contextsFor(env);
  const context = contextNameFor(name);
  if (!ours(await contexts.read(context), store, name)) return undefined;
  if ((await contexts.current()) === context) await contexts.setCurrent(undefined);
  await contexts.remove(context);
  return context;
}

export interface DockerTarget {
  /** Where the docker CLI's choice comes from. */
  source: 'DOCKER_HOST' | 'DOCKER_CONTEXT' | 'currentContext' | 'default';
  context?: string;
  /** The daemon address the docker CLI uses, when known. */
  host?: string;
  /** The machine of this store it names, when it is one of ours. */
  machine?: string;
}

/**
 * What the docker CLI talks to, by its own precedence: DOCKER_HOST, then DOCKER_CONTEXT, then
 * config.json's currentContext, then the default socket.
 */
export async function dockerTarget(store: Store, env: NodeJS.ProcessEnv = process.env): Promise<DockerTarget> {
  if (env.DOCKER_HOST) return { source: 'DOCKER_HOST', host: env.DOCKER_HOST };
  const contexts = contextsFor(env);
  const fromEnv = env.DOCKER_CONTEXT && env.DOCKER_CONTEXT !== 'default' ? env.DOCKER_CONTEXT : undefined;
  const name = fromEnv ?? (env.DOCKER_CONTEXT === 'default' ? undefined : await contexts.current());
  if (!name) return { source: 'default' };
  const meta = await contexts.read(name);
  return {
    source: fromEnv ? 'DOCKER_CONTEXT' : 'currentContext',
    context: name,
    host: meta?.Endpoints.docker?.Host,
    machine: ours(meta, store) ? meta.Metadata.MachineName : undefined,
  };
}
