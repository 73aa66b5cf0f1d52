import { promises as fs } from 'node:fs';
import { certCovers, certificateStatus, issuedBy } from '../certs/x509.js';
import { MachineError, messageOf } from '../core/errors.js';
import { forwarderPid, needsForwarder, startForwarder } from '../forward/process.js';
import type { Machine } from '../machine/machine.js';

/**
 * docker-machine's connection check (libmachine/check), plus the fix it only talked about.
 *
 * When nothing needs fixing it is decided here, without a round trip to the daemon (`eval
 * "$(machine env)"` sits in shell start-up files): the server certificate the machine was given is
 * in date, issued by the CA the client trusts, verifies for the address the docker CLI will use,
 * and the forwarder runs (when it has work). Otherwise the check is the real thing: a TLS request to that
 * address, verified as the CLI verifies it. Only when that fails on the certificate (the VM's
 * address changed, or the CA did) is the certificate re-issued and the daemon restarted, and
 * `notice` hears of it. A certificate that verifies is kept, whatever names it lacks: read-like
 * commands (env, config, use) never restart Docker under running containers. Returns the Docker URL.
 */
export async function ensureTls(machine: Machine, notice: (line: string) => void): Promise<string> {
  const ep = await machine.driver.dockerEndpoint();
  const url = `tcp://${ep.host}:${ep.port}`;
  if ((await certificateServes(machine, ep.host)) && (!needsForwarder(machine) || (await forwarderPid(machine)))) return url;
  const { dockerPing, TlsCertificateError } = await import('../docker/api.js');
  const endpoint = await machine.dockerEndpoint();
  try {
    await dockerPing(endpoint, 20_000);
  } catch (err) {
    if (!(err instanceof TlsCertificateError)) {
      throw new MachineError(
        `Error checking TLS connection: Docker of machine "${machine.name}" does not answer at ${ep.host}:${ep.port} (${messageOf(err)})`,
        {
          fix: `see "machine logs ${machine.name}", or restart it with "machine restart ${machine.name}"`,
        },
      );
    }
    notice(`${err.message}: re-issuing the certificate of "${machine.name}" for ${ep.host} and restarting Docker`);
    const { bringUp } = await import('./bringup.js');
    await machine.store.withLock(machine.name, () => bringUp(machine, () => undefined));
    await dockerPing(await machine.dockerEndpoint(), 20_000);
    return machine.url();
  }
  // The port forwarder may have died with a crash of its own: env brings it back.
  await startForwarder(machine);
  return url;
}

/** Would a TLS client accept the certificate the machine was given, for this address? (Read from disk.) */
async function certificateServes(machine: Machine, address: string): Promise<boolean> {
  const auth = machine.config.HostOptions.AuthOptions;
  try {
    const [cert, ca] = await Promise.all([fs.readFile(auth.ServerCertPath, 'utf8'), fs.readFile(auth.CaCertPath, 'utf8')]);
    return !certificateStatus(cert).expired && issuedBy(cert, ca) && certCovers(cert, address);
  } catch {
    return false; // unreadable or not a certificate: the real check says what is wrong
  }
}
