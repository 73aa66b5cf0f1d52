import { contextsFor, overrides, type UseResult, writeContext } from '../context/machine.js';
import { Machine } from '../machine/machine.js';
import type { Store } from '../store/store.js';
import { ensureTls } from './tls.js';

/**
 * `machine use NAME`: a docker context for the machine (address and TLS files), made current. The
 * machine must be running: its certificate is checked (and re-issued if an address is missing)
 * first, as `machine env` does.
 */
export async function useMachine(
  store: Store,
  name: string,
  notice: (line: string) => void,
  env: NodeJS.ProcessEnv = process.env,
): Promise<UseResult> {
  if (!(await store.exists(name))) throw store.notFound(name);
  const host = await Machine.loadRunning(store, name, `Machine "${name}" is not running`);
  const url = await ensureTls(host, notice);
  const contexts = contextsFor(env);
  const context = await writeContext(contexts, store, name, url, await host.clientTls());
  await contexts.setCurrent(context);
  return { machine: name, context, host: url, configDir: contexts.configDir, warnings: overrides(env, context) };
}
