import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MachineError } from '../core/errors.js';
import { exists, readIfExists, writeFileAtomic } from '../core/files.js';
import { type LockOwner, ownerAlive, withFileLock } from '../core/lock.js';
import { processStartToken } from '../core/process.js';
import { CONFIG_VERSION, type HostConfig, MACHINE_NAME } from './config.js';

/** Marker left in a machine directory while `create` runs; it names the creating process (pid, start time). */
const CREATING = '.creating';

export function defaultStoragePath(): string {
  return path.join(os.homedir(), '.docker', 'machine');
}

export function validateName(name: string): void {
  if (!MACHINE_NAME.test(name) || name.length > 63) {
    const shown = name === '' ? '"" (an empty name)' : `"${name}"`;
    throw new MachineError(`Invalid machine name ${shown}`, {
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
  /** The folder of a machine. Every path into machines/ goes through here: the name rule is checked first. */
  machineDir(name: string): string {
    validateName(name);
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

  /** A machine folder exists under that name (a real directory: a symlink there is not a machine). */
  async exists(name: string): Promise<boolean> {
    const st = await fs.lstat(this.machineDir(name)).catch(() => undefined);
    return Boolean(st?.isDirectory());
  }

  notFound(name: string): MachineError {
    return new MachineError(
      `Docker machine "${name}" does not exist. Use "machine ls" to list machines. Use "machine create" to add a new one.`,
    );
  }

  async load(name: string): Promise<HostConfig> {
    let text: string;
    const file = this.configPath(name);
    if (!(await this.exists(name))) {
      const st = await fs.lstat(this.machineDir(name)).catch(() => undefined);
      if (st?.isSymbolicLink()) throw this.notAMachine(name, 'is a symbolic link');
      throw this.notFound(name);
    }
    try {
      text = await fs.readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      if (await this.isHalfCreated(name)) throw this.halfCreated(name);
      throw new MachineError(`Machine "${name}" has no config.json (${file})`, {
        fix: `remove it with "machine rm -f ${name}"`,
      });
    }
    let host: HostConfig;
    try {
      host = JSON.parse(text) as HostConfig;
    } catch (err) {
      throw new MachineError(`The config of machine "${name}" is corrupt (${file}: ${(err as Error).message})`, {
        fix: `fix the JSON by hand or remove the machine with "machine rm -f ${name}"`,
      });
    }
    if (typeof host !== 'object' || host === null || typeof host.Driver !== 'object' || !host.HostOptions) {
      throw new MachineError(`The config of machine "${name}" is not a docker-machine v3 config (${file})`, {
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
    const problem = shapeProblem(host);
    if (problem) {
      throw new MachineError(`The config of machine "${name}" is invalid: ${problem} (${file})`, {
        fix: `fix that field by hand or remove the machine with "machine rm -f ${name}"`,
      });
    }
    if (host.Name && host.Name !== name) {
      throw new MachineError(`The config of machine "${name}" names another machine ("${host.Name}") (${file})`, {
        fix: `fix "Name" by hand or remove the machine with "machine rm -f ${name}"`,
      });
    }
    host.Name = name;
    return host;
  }

  /** Save atomically with docker-machine's formatting (4-space indent) and mode 0600. */
  async save(host: HostConfig): Promise<void> {
    await fs.mkdir(this.machineDir(host.Name), { recursive: true, mode: 0o700 });
    await writeFileAtomic(this.configPath(host.Name), JSON.stringify(host, null, 4), 0o600);
  }

  /** True when the folder is a machine's: a real directory holding config.json or the half-create marker. */
  async isMachineDir(name: string): Promise<boolean> {
    if (!(await this.exists(name))) return false;
    const dir = this.machineDir(name);
    return (await exists(path.join(dir, 'config.json'))) || (await exists(path.join(dir, CREATING)));
  }

  notAMachine(name: string, why: string): MachineError {
    return new MachineError(`${this.machineDir(name)} ${why}: it is not a machine, so machine leaves it alone`, {
      fix: 'remove or rename it by hand if you do not need it',
    });
  }

  /**
   * Delete a machine's folder: only a real directory directly under machines/ that is a machine
   * (config.json or the half-create marker), never a symlink or anything a name could reach outside.
   */
  async remove(name: string): Promise<void> {
    const dir = this.machineDir(name);
    const st = await fs.lstat(dir).catch(() => undefined);
    if (!st) return;
    if (!st.isDirectory()) throw this.notAMachine(name, st.isSymbolicLink() ? 'is a symbolic link' : 'is not a directory');
    if (!(await this.isMachineDir(name))) throw this.notAMachine(name, 'has no config.json');
    if (path.dirname(await fs.realpath(dir)) !== (await fs.realpath(this.machinesDir)))
      throw this.notAMachine(name, 'is outside the store');
    await fs.rm(dir, { recursive: true, force: true });
  }

  /** Create the machine directory, failing if it exists; mark it as being created (by whom). */
  async beginCreate(name: string): Promise<void> {
    const dir = this.machineDir(name);
    await fs.mkdir(this.machinesDir, { recursive: true, mode: 0o700 });
    try {
      await fs.mkdir(dir, { mode: 0o700 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new MachineError(`Docker machine "${name}" already exists`);
      }
      throw err;
    }
    await fs.writeFile(path.join(dir, CREATING), JSON.stringify({ pid: process.pid, start: await processStartToken(process.pid) }), {
      mode: 0o600,
    });
  }

  async endCreate(name: string): Promise<void> {
    await fs.rm(path.join(this.machineDir(name), CREATING), { force: true });
  }

  /** True when a create of this machine was interrupted (its creating process is gone). */
  async isHalfCreated(name: string): Promise<boolean> {
    const text = await readIfExists(path.join(this.machineDir(name), CREATING)).catch(() => undefined);
    if (text === undefined) return false;
    let owner: { pid?: number; start?: string };
    try {
      owner = /^\d+$/.test(text.trim()) ? { pid: Number(text) } : (JSON.parse(text) as typeof owner);
    } catch {
      return true;
    }
    return !(await ownerAlive({ pid: Number(owner.pid), start: owner.start, command: '', at: '' }));
  }

  halfCreated(name: string): MachineError {
    return new MachineError(`Machine "${name}" was not completely created`, {
      fix: `remove it with "machine rm -f ${name}" and create it again`,
    });
  }

  /**
   * Run fn while holding the machine's lock, so two commands on one machine never interleave. The
   * lock lives beside the machine directory (a hidden entry docker-machine ignores). A lock left by
   * a command that died is taken over at once; a live holder is named in the "busy" error.
   */
  withLock<T>(name: string, fn: () => Promise<T>, opts: { waitMs?: number; onWait?: (owner: LockOwner) => void } = {}): Promise<T> {
    validateName(name);
    const file = path.join(this.machinesDir, `.${name}.lock`);
    return withFileLock(file, { ...opts, busy: (owner) => busyError(name, owner) }, fn);
  }
}

export function busyError(name: string, owner: LockOwner): MachineError {
  const who = owner.pid === process.pid ? 'this command' : `"${owner.command}" (pid ${owner.pid})`;
  return new MachineError(`Machine "${name}" is busy: ${who} is working on it`, {
    fix: 'wait for it to finish and try again',
  });
}

const isStringArray = (v: unknown) => v === null || v === undefined || (Array.isArray(v) && v.every((x) => typeof x === 'string'));
const isPort = (v: unknown) => v === undefined || (Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 65535);

/**
 * The first field of a config.json that the code could not use as it is: wrong types fail here,
 * in one line naming the field, rather than deep inside a command.
 */
function shapeProblem(host: HostConfig): string | undefined {
  const d = host.Driver as Record<string, unknown>;
  const auth = host.HostOptions.AuthOptions as unknown as Record<string, unknown> | undefined;
  const engine = host.HostOptions.EngineOptions as unknown as Record<string, unknown> | undefined;
  if (typeof host.DriverName !== 'string' || !host.DriverName) return 'DriverName is missing';
  if (typeof auth !== 'object' || auth === null) return 'HostOptions.AuthOptions is missing';
  for (const k of ['CaCertPath', 'CaPrivateKeyPath', 'ClientCertPath', 'ClientKeyPath']) {
    if (typeof auth[k] !== 'string' || !auth[k]) return `HostOptions.AuthOptions.${k} is missing`;
  }
  for (const k of ['ServerCertPath', 'ServerKeyPath'])
    if (auth[k] !== undefined && typeof auth[k] !== 'string') return `HostOptions.AuthOptions.${k} is not a path`;
  if (!isStringArray(auth.ServerCertSANs)) return 'HostOptions.AuthOptions.ServerCertSANs is not a list of names';
  if (typeof engine !== 'object' || engine === null) return 'HostOptions.EngineOptions is missing';
  for (const k of ['ArbitraryFlags', 'Env', 'InsecureRegistry', 'Labels', 'RegistryMirror', 'Dns']) {
    if (!isStringArray(engine[k])) return `HostOptions.EngineOptions.${k} is not a list of strings`;
  }
  if (engine.StorageDriver !== undefined && typeof engine.StorageDriver !== 'string')
    return 'HostOptions.EngineOptions.StorageDriver is not a string';
  for (const k of ['SSHPort', 'DockerPort', 'EnginePort']) {
    if (!isPort(d[k])) return `Driver.${k} is ${JSON.stringify(d[k])}, not a port number`;
  }
  for (const k of ['IPAddress', 'SSHUser', 'SSHKeyPath', 'MachineName']) {
    if (d[k] !== undefined && typeof d[k] !== 'string') return `Driver.${k} is ${JSON.stringify(d[k])}, not a string`;
  }
  return undefined;
}
