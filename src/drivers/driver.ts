import type { MachineError } from '../core/errors.js';
import type { BaseDriverConfig } from '../store/config.js';
import type { Store } from '../store/store.js';

/** docker-machine's state names (libmachine/state); '' is "None". */
export type MachineState = 'Running' | 'Paused' | 'Saved' | 'Stopped' | 'Stopping' | 'Starting' | 'Error' | 'Timeout' | '';

export interface Endpoint {
  host: string;
  port: number;
}

/** Progress lines for the user; drivers never print. */
export type Report = (message: string) => void;

export interface DriverEnv {
  store: Store;
  machineDir: string;
  signal?: AbortSignal;
  /** Run a command in the guest over the machine's SSH connection (once it is up): its stdout. */
  guest?: (command: string) => Promise<string>;
}

/** A host folder the provisioner mounts in the guest at every start. */
export interface GuestMount {
  type: 'vboxsf' | '9p';
  /** VirtualBox share name, or 9p mount tag. */
  source: string;
  /** Absolute path in the guest; may contain spaces. */
  target: string;
}

export interface DiskSpec {
  /** The first bytes of the userdata disk: magic tar, and preseed when the ISO supports it. */
  head: Buffer;
  /** The ISO to boot, already in the machine directory. */
  isoPath: string;
}

/**
 * What every driver does. Lifecycle only: SSH, provisioning and certificates are the same for
 * every driver and live above. Optional abilities are separate interfaces checked at run time.
 */
export interface Driver {
  readonly name: string;
  /**
   * False for drivers of existing hosts (generic): no ISO, no userdata disk, no generated SSH key.
   * Absent means true.
   */
  readonly bootsIso?: boolean;
  /** Serialised as config.json "Driver"; mutated by start (ports, IP). */
  readonly config: BaseDriverConfig;
  /** Checks before anything is created; failures exit with code 3 as docker-machine's did. */
  preCreateCheck(report: Report): Promise<void>;
  /** Define the VM and its userdata disk, not started. Everything it makes, remove() undoes. */
  create(disk: DiskSpec, report: Report): Promise<void>;
  start(report: Report): Promise<void>;
  /** Graceful (ACPI) stop, then a hard one after a timeout. */
  stop(report: Report): Promise<void>;
  kill(): Promise<void>;
  /** Remove the VM and everything the driver made; a VM that is already gone is not an error. */
  remove(): Promise<void>;
  state(): Promise<MachineState>;
  /** Where the host reaches the guest's sshd. */
  sshEndpoint(): Endpoint;
  /** Where the host reaches the guest's dockerd (DOCKER_HOST). */
  dockerEndpoint(): Promise<Endpoint>;
  /** The address `machine ip` prints: where published ports are reached. */
  ip(): Promise<string>;
  /** Addresses of the VM a client may use besides 127.0.0.1/localhost/name: server cert SANs. */
  certHosts(): Promise<string[]>;
  /** The VM's console log (serial port), if the driver keeps one. */
  consoleLog?(): string;
  /** Host folders to mount in the guest (shared folders, 9p). */
  guestMounts?(): GuestMount[];
  /** The host as the guest reaches it (NAT gateway), for rewriting localhost in proxy settings. */
  hostAddress?(): string | undefined;
  /** Why a VM that is booting can never answer (its process exited, a disk write failed), if so. */
  bootProblem?(): Promise<MachineError | undefined>;
  /** Called by long-lived background processes (the forwarder): start no helper service of its own. */
  forBackground?(): void;
}

/** A published container port forwarded from the host's 127.0.0.1. */
export interface Forward {
  proto: 'tcp' | 'udp';
  hostPort: number;
  guestPort: number;
}

/** Drivers that can add and remove port forwards of a running VM (QEMU hostfwd, VirtualBox NAT rules). */
export interface PortForwarder {
  /** Forward; throws a MachineError naming the port when it cannot be bound. */
  addForward(f: Forward): Promise<void>;
  removeForward(f: Forward): Promise<void>;
}

export function canForward(driver: Driver): driver is Driver & PortForwarder {
  return typeof (driver as Partial<PortForwarder>).addForward === 'function';
}

/** A host folder shared with the guest: hostPath appears at guestPath. */
export interface Share {
  hostPath: string;
  guestPath: string;
}

export interface FlagSpec {
  /** Long flag name without dashes: "qemu-memory". */
  name: string;
  env?: string;
  description: string;
  type: 'string' | 'int' | 'bool' | 'size' | 'list';
  default?: string | number | boolean;
  choices?: string[];
  /** Placeholder in help: "<mb>". */
  arg?: string;
}

export type FlagValues = Record<string, string | number | boolean | string[] | undefined>;

export interface DriverModule {
  /** Validate flags and build the driver part of a new machine's config. */
  configFromFlags(flags: FlagValues, base: BaseDriverConfig, env: DriverEnv): Promise<BaseDriverConfig>;
  /** The driver of an existing machine, from its config.json "Driver". */
  load(config: BaseDriverConfig, env: DriverEnv): Driver;
}

export interface DriverDefinition {
  name: string;
  description: string;
  flags: FlagSpec[];
  /** Loaded on use, so commands pay only for the drivers they touch. */
  load(): Promise<DriverModule>;
  /**
   * VM processes of a machine folder found without its config (a lost pidfile, a corrupt
   * config.json), so `rm` never leaves one running. Drivers whose VMs are not our processes omit it.
   */
  processes?(machineDir: string): Promise<number[]>;
}
