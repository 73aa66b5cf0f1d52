import { promises as fs } from 'node:fs';
import { type GuestArch, machineArch } from '../core/arch.js';
import path from 'node:path';
import { MachineError } from '../core/errors.js';
import type { ClientTls, DockerEndpoint } from '../docker/api.js';
import type { DiskSpec, Driver, DriverFeatures, Report } from '../drivers/driver.js';
import { driverDefinition, loadDriver } from '../drivers/registry.js';
import type { SshTarget } from '../ssh/client.js';
import type { HostConfig } from '../store/config.js';
import type { Store } from '../store/store.js';

/** A stored machine: its config.json and its driver, with what follows from them. */
export class Machine {
  constructor(
    readonly store: Store,
    readonly config: HostConfig,
    readonly driver: Driver,
  ) {}

  static async load(store: Store, name: string, signal?: AbortSignal): Promise<Machine> {
    const config = await store.load(name);
    let host: Machine | undefined;
    const guest = (command: string) => host!.guestRun(command);
    host = new Machine(store, config, await loadDriver(store, config, { signal, guest }));
    return host;
  }

  /** Load a machine that must be running (ssh, ip, url, env, config, provision...). */
  static async loadRunning(store: Store, name: string, message = 'Host is not running'): Promise<Machine> {
    const machine = await Machine.load(store, name);
    if ((await machine.driver.state()) !== 'Running') throw new MachineError(message, { fix: `start it with "machine start ${name}"` });
    return machine;
  }

  /** Run a command in the guest on a short-lived SSH connection (for drivers: IP discovery). */
  async guestRun(command: string): Promise<string> {
    const { SshSession } = await import('../ssh/client.js');
    const session = await SshSession.connect(await this.sshTarget());
    try {
      return await session.check(command);
    } finally {
      session.close();
    }
  }

  get name(): string {
    return this.config.Name;
  }
  /** What its driver can do (declared on the driver's definition). */
  get features(): DriverFeatures {
    return driverDefinition(this.config.DriverName).features;
  }
  get dir(): string {
    return this.store.machineDir(this.name);
  }
  /** The architecture of a machine we boot (its ISO's); '' for a host we did not make (generic). */
  get arch(): GuestArch | '' {
    return this.features.bootsIso ? machineArch(this.config.Driver) : '';
  }
  get knownHostsFile(): string {
    return path.join(this.dir, 'known_hosts');
  }

  async sshTarget(): Promise<SshTarget> {
    const keyPath = this.config.Driver.SSHKeyPath || path.join(this.dir, 'id_rsa');
    let privateKey: string;
    try {
      privateKey = await fs.readFile(keyPath, 'utf8');
    } catch {
      throw new MachineError(`The SSH key of machine "${this.name}" is missing (${keyPath})`, {
        fix: `remove the machine with "machine rm -f ${this.name}" and create it again`,
      });
    }
    const { default: ssh2 } = await import('ssh2'); // only commands that use SSH pay for loading it
    const parsed = ssh2.utils.parseKey(privateKey);
    if (parsed instanceof Error) {
      throw new MachineError(
        `The SSH key of machine "${this.name}" (${keyPath}) is not a private key machine can use (${parsed.message})`,
        {
          fix: `restore it from a backup, or remove the machine with "machine rm -f ${this.name}" and create it again`,
        },
      );
    }
    const ep = this.driver.sshEndpoint();
    return {
      host: ep.host,
      port: ep.port,
      user: this.config.Driver.SSHUser || 'docker',
      privateKey,
      knownHostsFile: this.knownHostsFile,
      name: this.name,
    };
  }

  /** The client side of TLS: DOCKER_CERT_PATH's ca.pem, cert.pem and key.pem. */
  async clientTls(): Promise<ClientTls> {
    const auth = this.config.HostOptions.AuthOptions;
    const read = (p: string) => fs.readFile(p, 'utf8');
    try {
      const [ca, cert, key] = await Promise.all([read(auth.CaCertPath), read(auth.ClientCertPath), read(auth.ClientKeyPath)]);
      return { ca, cert, key };
    } catch (err) {
      throw new MachineError(`The TLS certificates of machine "${this.name}" are missing (${(err as NodeJS.ErrnoException).path ?? ''})`, {
        fix: `run "machine regenerate-certs --client-certs -f ${this.name}"`,
      });
    }
  }

  async dockerEndpoint(): Promise<DockerEndpoint> {
    const ep = await this.driver.dockerEndpoint();
    return { ...ep, tls: await this.clientTls() };
  }

  async url(): Promise<string> {
    const ep = await this.driver.dockerEndpoint();
    return `tcp://${ep.host}:${ep.port}`;
  }

  /**
   * What the server certificate must verify for: the address clients use (DOCKER_HOST, contexts) and
   * the names the user asked for. Anything else missing is no reason to restart a daemon.
   */
  async requiredCertHosts(): Promise<string[]> {
    const ep = await this.driver.dockerEndpoint();
    return [...new Set([ep.host, ...(this.config.HostOptions.AuthOptions.ServerCertSANs ?? [])].filter(Boolean))];
  }

  /** Every address a client may use for the daemon: what a newly issued server certificate covers. */
  async certHosts(): Promise<string[]> {
    const ep = await this.driver.dockerEndpoint();
    const hosts = [
      'localhost',
      '127.0.0.1',
      this.name,
      ep.host,
      ...(this.config.HostOptions.AuthOptions.ServerCertSANs ?? []),
      ...(await this.driver.certHosts()),
    ];
    return [...new Set(hosts.filter(Boolean))];
  }

  async save(): Promise<void> {
    await this.store.save(this.config);
  }

  // Lifecycle goes through the machine, which saves what the driver changed in its config
  // (ports chosen at start, the VM's id at create, an address forgotten at stop).

  async create(spec: DiskSpec, report: Report): Promise<void> {
    await this.driver.create(spec, report);
    await this.save();
  }

  async start(report: Report): Promise<void> {
    await this.driver.start(report);
    await this.save();
  }

  async stop(how: 'stop' | 'kill', report: Report): Promise<void> {
    if (how === 'stop') await this.driver.stop(report);
    else await this.driver.kill();
    await this.save();
  }

  /** The VM and its disk (the store entry is the caller's). */
  async remove(): Promise<void> {
    await this.driver.remove();
  }
}
