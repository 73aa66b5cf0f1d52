import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MachineError } from '../core/errors.js';
import { exists, writeFileAtomic } from '../core/files.js';
import { processAlive } from '../core/process.js';
import { CONFIG_VERSION, type HostConfig, MACHINE_NAME } from './config.js';

/** Marker left in a machine directory while `create` runs; its content is the creating pid. */
const CREATING = '.creating';

export function defaultStoragePath(): string {
  return path.join(os.homedir(), '.docker', 'machine');
}

export function validateName(name: string): void {
  if (!MACHINE_NAME.test(name) || name.length > 63) {
    throw new MachineError(`Invalid machine name "${name}"`, {
      fix: 'Allowed hostname chars are: 0-9a-zA-Z . - (starting with a letter or digit, at most 63 characters)',
    });
  }
}

/** The docker-machine store: `<root>/{certs,cache,machines/<name>/config.json}`. */
export class Store {
  readonly root: string;

  constructor(root: string) {
    this.root = path.resolve(root);
  }

  get certsDir(): string {
    return path.join(this.root, 'certs');
  }
  get cacheDir(): string {
    return path.join(this.root, 'cache');
  }
  get machinesDir(): string {
    return path.join(this.root, 'machines');
  }
  machineDir(name: string): string {
    return path.join(this.machinesDir, name);
  }
  configPath(name: string): string {
    return path.join(this.machineDir(name), 'config.json');
  }

  /** Machine names: the non-hidden directories under machines/, byte-sorted like Go's ReadDir. */
  async names(): Promise<string[]> {
    let entries: import('node:fs').Dirent[];
    try {
      entries = await fs.readdir(this.machinesDir, { withFileTypes: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    return entries
      .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
      .map((e) => e.name)
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  async exists(name: string): Promise<boolean> {
    return exists(this.machineDir(name));
  }

  notFound(name: string): MachineError {
    return new MachineError(
      `Docker machine "${name}" does not exist. Use "machine ls" to list machines. Use "machine create" to add a new one.`,
    );
  }

  async load(name: string): Promise<HostConfig> {
    let text: string;
    try {
      text = await fs.readFile(this.configPath(name), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      if (!(await this.exists(name))) throw this.notFound(name);
      if (await this.isHalfCreated(name)) throw this.halfCreated(name);
      throw new MachineError(`Machine "${name}" has no config.json (${this.configPath(name)})`, {
        fix: `remove it with "machine rm -f ${name}"`,
      });
    }
    let host: HostConfig;
    try {
      host = JSON.parse(text) as HostConfig;
    } catch (err) {
      throw new MachineError(`The config of machine "${name}" is corrupt (${this.configPath(name)}: ${(err as Error).message})`, {
        fix: `fix the JSON by hand or remove the machine with "machine rm -f ${name}"`,
      });
    }
    if (typeof host !== 'object' || host === null || typeof host.Driver !== 'object' || !host.HostOptions) {
      throw new MachineError(`The config of machine "${name}" is not a docker-machine v3 config (${this.configPath(name)})`, {
        fix: `remove the machine with "machine rm -f ${name}"`,
      });
    }
    if ((host.ConfigVersion ?? 0) > CONFIG_VERSION) {
      throw new MachineError('config version is from the future -- you should upgrade your Docker Machine client');
    }
    if ((host.ConfigVersion ?? 0) < CONFIG_VERSION) {
      throw new MachineError(`Machine "${name}" uses config version ${host.ConfigVersion ?? 0}`, {
        fix: 'run "docker-machine ls" once with docker-machine 0.16 to migrate it to version 3',
      });
    }
    host.Name ||= name;
    return host;
  }

  /** Save atomically with docker-machine's formatting (4-space indent) and mode 0600. */
  async save(host: HostConfig): Promise<void> {
    await fs.mkdir(this.machineDir(host.Name), { recursive: true, mode: 0o700 });
    await writeFileAtomic(this.configPath(host.Name), JSON.stringify(host, null, 4), 0o600);
  }

  async remove(name: string): Promise<void> {
    await fs.rm(this.machineDir(name), { recursive: true, force: true });
  }

  /** Create the machine directory, failing if it exists; mark it as being created. */
  async beginCreate(name: string): Promise<void> {
    await fs.mkdir(this.machinesDir, { recursive: true, mode: 0o700 });
    try {
      await fs.mkdir(this.machineDir(name), { mode: 0o700 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new MachineError(`Docker machine "${name}" already exists`);
      }
      throw err;
    }
    await fs.writeFile(path.join(this.machineDir(name), CREATING), String(process.pid));
  }

  async endCreate(name: string): Promise<void> {
    await fs.rm(path.join(this.machineDir(name), CREATING), { force: true });
  }

  /** True when a create of this machine was interrupted (its creating process is gone). */
  async isHalfCreated(name: string): Promise<boolean> {
    let pid: number;
    try {
      pid = Number(await fs.readFile(path.join(this.machineDir(name), CREATING), 'utf8'));
    } catch {
      return false;
    }
    return !processAlive(pid);
  }

  halfCreated(name: string): MachineError {
    return new MachineError(`Machine "${name}" was not completely created`, {
      fix: `remove it with "machine rm -f ${name}" and create it again`,
    });
  }

  /**
   * Run fn while holding the machine's lock, so two commands on one machine never interleave.
   * The lock lives beside the machine directory (a hidden entry docker-machine ignores).
   */
  async withLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
    await fs.mkdir(this.machinesDir, { recursive: true, mode: 0o700 });
    const lockPath = path.join(this.machinesDir, `.${name}.lock`);
    // Loaded on use: read-only commands (ls, status, env) never lock, and never pay for it.
    const { default: lockfile } = await import('proper-lockfile');
    let release: () => Promise<void>;
    try {
      release = await lockfile.lock(this.machinesDir, {
        lockfilePath: lockPath,
        realpath: false,
        stale: 15_000,
        update: 5_000,
        retries: { retries: 8, minTimeout: 100, maxTimeout: 1000 },
        onCompromised: () => undefined, // another process removed it: carry on, the work is ours
      });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ELOCKED') {
        throw new MachineError(`Machine "${name}" is busy: another machine command is working on it`, {
          fix: 'wait for it to finish and try again',
        });
      }
      throw err;
    }
    try {
      return await fn();
    } finally {
      await release().catch(() => undefined);
    }
  }
}
