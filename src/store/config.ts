/**
 * The docker-machine config.json v3 schema (libmachine/host). Field order follows Go's struct order
 * so that what we write looks like what docker-machine writes, and docker-machine can read it.
 */

export interface EngineOptions {
  ArbitraryFlags: string[];
  Dns: string[] | null;
  GraphDir: string;
  Env: string[];
  Ipv6: boolean;
  InsecureRegistry: string[];
  Labels: string[];
  LogLevel: string;
  StorageDriver: string;
  SelinuxEnabled: boolean;
  TlsVerify: boolean;
  RegistryMirror: string[];
  InstallURL: string;
  /** Ours: false when the other architecture's binaries must not run through emulation (--no-binfmt). */
  Binfmt?: boolean;
}

export interface SwarmOptions {
  IsSwarm: boolean;
  Address: string;
  Discovery: string;
  Agent: boolean;
  Master: boolean;
  Host: string;
  Image: string;
  Strategy: string;
  Heartbeat: number;
  Overcommit: number;
  ArbitraryFlags: string[];
  ArbitraryJoinFlags: string[];
  Env: string[] | null;
  IsExperimental: boolean;
}

export interface AuthOptions {
  CertDir: string;
  CaCertPath: string;
  CaPrivateKeyPath: string;
  CaCertRemotePath: string;
  ServerCertPath: string;
  ServerKeyPath: string;
  ClientKeyPath: string;
  ServerCertRemotePath: string;
  ServerKeyRemotePath: string;
  ClientCertPath: string;
  ServerCertSANs: string[];
  StorePath: string;
}

export interface HostOptions {
  Driver: string;
  Memory: number;
  Disk: number;
  EngineOptions: EngineOptions;
  SwarmOptions: SwarmOptions;
  AuthOptions: AuthOptions;
  /** Ours (docker-machine ignores it): "system" or a PEM file whose CAs the VM must trust. */
  ImportHostCA?: string;
  /** Ours: no automatic port forwarding of published container ports. */
  NoPortForward?: boolean;
  /**
   * Ours: the host's proxy settings (HTTP_PROXY=..., as the host had them) captured at create or by
   * `provision --proxy-from-env`, carried into the daemon. Never read again from the shell.
   */
  HostProxy?: string[];
}

/** The fields every docker-machine driver serialises (drivers.BaseDriver); drivers add their own. */
export interface BaseDriverConfig {
  IPAddress: string;
  MachineName: string;
  SSHUser: string;
  SSHPort: number;
  SSHKeyPath: string;
  StorePath: string;
  SwarmMaster: boolean;
  SwarmHost: string;
  SwarmDiscovery: string;
  /** The ISO to boot (create's --boot2docker-url or the driver's flag); drivers that boot none have none. */
  Boot2DockerURL?: string;
  [key: string]: unknown;
}

export interface HostConfig {
  ConfigVersion: number;
  Driver: BaseDriverConfig;
  DriverName: string;
  HostOptions: HostOptions;
  Name: string;
}

export const CONFIG_VERSION = 3;

export function defaultEngineOptions(): EngineOptions {
  return {
    ArbitraryFlags: [],
    Dns: null,
    GraphDir: '',
    Env: [],
    Ipv6: false,
    InsecureRegistry: [],
    Labels: [],
    LogLevel: '',
    StorageDriver: '',
    SelinuxEnabled: false,
    TlsVerify: true,
    RegistryMirror: [],
    InstallURL: 'https://get.docker.com',
  };
}

export function defaultSwarmOptions(): SwarmOptions {
  return {
    IsSwarm: false,
    Address: '',
    Discovery: '',
    Agent: false,
    Master: false,
    Host: 'tcp://0.0.0.0:3376',
    Image: 'swarm:latest',
    Strategy: 'spread',
    Heartbeat: 0,
    Overcommit: 0,
    ArbitraryFlags: [],
    ArbitraryJoinFlags: [],
    Env: null,
    IsExperimental: false,
  };
}

export function baseDriverConfig(name: string, storePath: string, sshKeyPath: string): BaseDriverConfig {
  return {
    IPAddress: '',
    MachineName: name,
    SSHUser: 'docker',
    SSHPort: 0,
    SSHKeyPath: sshKeyPath,
    StorePath: storePath,
    SwarmMaster: false,
    SwarmHost: 'tcp://0.0.0.0:3376',
    SwarmDiscovery: '',
  };
}

/** docker-machine's rule for machine names (commands/create.go). */
export const MACHINE_NAME = /^[a-zA-Z0-9][a-zA-Z0-9\-.]*$/;
