import { MachineError, messageOf } from '../core/errors.js';
import { dockerPing, TlsCertificateError } from '../docker/api.js';
import type { Host } from '../host/host.js';
import { bringUp } from './bringup.js';
import { startForwarder } from '../forward/process.js';

/**
 * docker-machine's connection check (libmachine/check), plus the fix it only talked about. The check
 * is the real thing: a TLS request to the address the docker CLI will use, verified as the CLI
 * verifies it. Only when that fails on the certificate (the VM's address changed, or the CA did)
 * is the certificate re-issued and the daemon restarted, and then it is said on stderr. A
 * certificate that verifies is kept, whatever names it lacks: read-like commands (env, config,
 * use) never restart Docker under running containers. Returns the Docker URL; `notice` hears of a
 * re-issue.
 */
export async function ensureTls(host: Host, notice: (line: string) => void): Promise<string> {
  const url = await host.url();
  const ep = await host.dockerEndpoint();
  try {
    await dockerPing(ep, 20_000);
  } catch (err) {
    if (!(err instanceof TlsCertificateError)) {
      throw new MachineError(`Error checking TLS connection: Docker of machine "${host.name}" does not answer at ${ep.host}:${ep.port} (${messageOf(err)})`, {
        fix: `see "machine logs ${host.name}", or restart it with "machine restart ${host.name}"`,
      });
    }
    notice(`${err.message}: re-issuing the certificate of "${host.name}" for ${ep.host} and restarting Docker`);
    await host.store.withLock(host.name, () => bringUp(host, () => undefined));
    await dockerPing(await host.dockerEndpoint(), 20_000);
    return host.url();
  }
  // The port forwarder may have died with a crash of its own: env brings it back.
  await startForwarder(host);
  return url;
}
