import type { MachineError } from '../core/errors.js';
import type { CheckResult } from '../core/check.js';
import type { DoctorSystem } from '../core/check.js';
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
  /** The port dockerd listens on in the guest, when it is not 2376 (enginePort() reads it). */
  enginePort?(): number;
  /** What to try when the VM boots but never answers, beyond reading its console (a setting of this driver). */
  bootHangFix?(): string | undefined;
  /** Why a VM that is booting can never answer (its process exited, a disk write failed), if so. */
  bootProblem?(): Promise<MachineError | undefined>;
  /** Called by long-lived background processes (the forwarder): start no helper service of its own. */
  forBackground?(): void;
  /** The VM's data disk on this host: the space its file really takes (it grows and, trimmed, shrinks). */
  diskUsage?(): Promise<DiskUsage | undefined>;
}

/** A data disk image on the host, in bytes. */
export interface DiskUsage {
  path: string;
  /** What the file takes on the host's disk (allocated blocks: a sparse or growing image takes less than its size). */
  allocated: number;
  /** The size the guest sees. */
  size: number;
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

/** The port dockerd listens on in the guest: 2376 unless the driver says otherwise. */
export function enginePort(driver: Driver): number {
  return driver.enginePort?.() ?? 2376;
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

/** What a driver can do, as data: callers ask this, never the driver's name. */
export interface DriverFeatures {
  /** Boots our ISO: a userdata disk and a generated SSH key (false for existing hosts: generic). */
  bootsIso: boolean;
  /** Forwards the guest's sshd and dockerd to 127.0.0.1 ports saved in its config (SSHPort, DockerPort). */
  forwardsPorts: boolean;
  /**
   * A VM of ours whose clock falls behind when it is paused or the host sleeps: the machine's background
   * process sets it to the host's (never an existing host's clock).
   */
  syncsClock: boolean;
  /** Its data disk gives the host back what the guest frees (discard): the background process runs fstrim in the guest. */
  trimsDisk: boolean;
}

/** Where a driver's checks go in the doctor report: by topic, whichever driver they come from. */
export type DoctorTopic = 'install' | 'hardware' | 'kernel' | 'conflicts' | 'network';

export interface DoctorContext {
  /** The platform's default driver is this one. */
  isDefault: boolean;
  /** Another driver's hypervisor is installed, so this one missing matters less. */
  othersInstalled: boolean;
  /** This driver's machines (those doctor looks at). */
  machines: { name: string; config: BaseDriverConfig }[];
}

/** What a driver's doctor module learned of the host, and the checks it makes of that. */
export interface DoctorProbe {
  /** Its hypervisor is installed (working or not). */
  installed: boolean;
  checks(ctx: DoctorContext): Promise<{ topic: DoctorTopic; result: CheckResult }[]>;
}

export interface DriverDefinition {
  name: string;
  description: string;
  flags: FlagSpec[];
  features: DriverFeatures;
  /** The host folders a machine's config shares with its VM, and where they appear in the guest. */
  shares(config: BaseDriverConfig, platform: NodeJS.Platform): Promise<Share[]>;
  /** This driver's part of `machine doctor`: ask the host (its module is loaded on use). */
  doctor?(host: DoctorSystem): Promise<DoctorProbe>;
  /** Loaded on use, so commands pay only for the drivers they touch. */
  load(): Promise<DriverModule>;
  /**
   * VM processes of a machine folder found without its config (a lost pidfile, a corrupt
   * config.json), so `rm` never leaves one running. Drivers whose VMs are not our processes omit it.
   */
  processes?(machineDir: string): Promise<number[]>;
}
