import { promises as fs } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { MachineError } from '../../core/errors.js';
import type { BaseDriverConfig } from '../../store/config.js';
import type { Driver, DriverEnv, Endpoint, MachineState } from '../driver.js';

export interface GenericConfig extends BaseDriverConfig {
  EnginePort: number;
  /** The key the user gave; SSHKeyPath is our copy in the machine directory. */
  SSHKey: string;
}

const notSupported = (what: string) =>
  new MachineError(`The generic driver does not ${what} hosts`, { fix: 'do it on the host itself; machine only provisions Docker on it' });

/**
 * docker-machine's generic driver: a host that exists already, reached over SSH. Its lifecycle is
 * the host's own business; machine provisions Docker on it and points clients at it.
 */
export class GenericDriver implements Driver {
  readonly name = 'generic';

  constructor(
    readonly config: GenericConfig,
    private readonly env: DriverEnv,
  ) {}

  async preCreateCheck(): Promise<void> {
    if (!this.config.IPAddress) {
      throw new MachineError('The generic driver requires --generic-ip-address', {
        exitCode: 3,
        fix: 'give the address of the host to provision',
      });
    }
    if (this.config.SSHKey) {
      await fs.access(this.config.SSHKey).catch(() => {
        throw new MachineError(`The SSH key ${this.config.SSHKey} cannot be read`, { exitCode: 3, fix: 'check --generic-ssh-key' });
      });
    }
    if ((await this.state()) !== 'Running') {
      throw new MachineError(`Cannot reach SSH on ${this.config.IPAddress}:${this.config.SSHPort}`, {
        exitCode: 3,
        fix: 'check the address, --generic-ssh-port and that the host is up',
      });
    }
  }

  /** Nothing to make but our copy of the key (so the original may move). */
  async create(): Promise<void> {
    if (!this.config.SSHKey) return;
    const copy = path.join(this.env.machineDir, path.basename(this.config.SSHKey));
    await fs.copyFile(this.config.SSHKey, copy);
    await fs.chmod(copy, 0o600);
    this.config.SSHKeyPath = copy;
  }

  async start(): Promise<void> {
    if ((await this.state()) !== 'Running') throw notSupported('start');
  }
  async stop(): Promise<void> {
    throw notSupported('stop');
  }
  async kill(): Promise<void> {
    throw notSupported('kill');
  }
  /** Removing the machine forgets the host; the host itself is left as it is. */
  async remove(): Promise<void> {}

  /** Running when its SSH port answers, as docker-machine judged. */
  state(): Promise<MachineState> {
    return new Promise((resolve) => {
      const sock = net.connect({ host: this.config.IPAddress, port: this.config.SSHPort, timeout: 5000 });
      sock.once('connect', () => {
        sock.destroy();
        resolve('Running');
      });
      sock.once('timeout', () => {
        sock.destroy();
        resolve('Stopped');
      });
      sock.once('error', () => resolve('Stopped'));
    });
  }

  sshEndpoint(): Endpoint {
    return { host: this.config.IPAddress, port: this.config.SSHPort };
  }
  async dockerEndpoint(): Promise<Endpoint> {
    return { host: this.config.IPAddress, port: this.enginePort() };
  }
  /** --generic-engine-port (2376 for a config.json without it). */
  enginePort(): number {
    return Number(this.config.EnginePort) || 2376;
  }
  async ip(): Promise<string> {
    return this.config.IPAddress;
  }
  async certHosts(): Promise<string[]> {
    return [this.config.IPAddress];
  }
}
