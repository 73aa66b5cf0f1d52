import { certificateHosts } from '../certs/x509.js';
import { dockerPing, TlsCertificateError } from '../docker/api.js';
import type { Host } from '../host/host.js';
import { bringUp } from '../tasks/bringup.js';
import { startForwarder } from '../forward/process.js';
import { readIfExists } from '../core/files.js';

/**
 * docker-machine's connection check (libmachine/check), plus the fix it only talked about: when the
 * server certificate does not cover an address in use (the VM's IP changed) or does not match the
 * CA, re-issue it and hand it to the daemon, then check again. Returns the Docker URL.
 */
export async function ensureTls(host: Host, report: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): Promise<string> {
  const url = await host.url();
  const ep = await host.dockerEndpoint();
  try {
    await dockerPing(ep, 20_000);
    // The port forwarder may have died with a crash of its own: env brings it back.
    await startForwarder(host);
    if (await coversAll(host)) return url;
  } catch (err) {
    if (!(err instanceof TlsCertificateError)) throw err;
    report(`${err.message}`);
  }
  report(`Regenerating the certificates of "${host.name}" for ${(await host.certHosts()).join(', ')} and restarting Docker`);
  await host.store.withLock(host.name, () => bringUp(host, report));
  await dockerPing(await host.dockerEndpoint(), 20_000);
  return host.url();
}

/** Does the server certificate on disk cover every address a client may use now? */
async function coversAll(host: Host): Promise<boolean> {
  const pem = await readIfExists(host.config.HostOptions.AuthOptions.ServerCertPath);
  if (!pem) return false;
  const have = new Set(certificateHosts(pem));
  return (await host.certHosts()).every((h) => have.has(h));
}
