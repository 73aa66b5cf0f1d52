import { parseShare } from '../shares.js';
import { realSystem, type System } from '../../core/system.js';
import { vboxGuestArch } from './arch.js';
import { PLATFORMS } from './platform.js';
import { MachineError } from '../../core/errors.js';
import type { BaseDriverConfig } from '../../store/config.js';
import type { DriverEnv, FlagValues, Share } from '../driver.js';
import { VirtualBoxDriver, type VirtualBoxConfig } from './driver.js';
import { sharesFromConfig } from './shares.js';
import { validateHostOnlyCidr } from './network.js';
import { soapTarget } from './soap/transport.js';

export { VirtualBoxDriver, type VirtualBoxConfig } from './driver.js';

const NIC_TYPES = ['Am79C970A', 'Am79C973', '82540EM', '82543GC', '82545EM', 'virtio'];
const PROMISC = ['deny', 'allow-vms', 'allow-all'];

function oneOf(flag: string, value: string, allowed: string[]): string {
  if (!allowed.includes(value)) throw new MachineError(`--${flag} "${value}" is not valid`, { fix: `use one of: ${allowed.join(', ')}` });
  return value;
}

/** `host`: where the VM will run (its architecture is the host's); the real one unless a test gives one. */
export async function configFromFlags(
  flags: FlagValues,
  base: BaseDriverConfig,
  _env?: DriverEnv,
  host: System = realSystem(),
): Promise<VirtualBoxConfig> {
  const arch = await vboxGuestArch(host);
  const nicType = PLATFORMS[arch].nicType;
  const str = (name: string, dflt = '') => (flags[name] === undefined ? dflt : String(flags[name]));
  const bool = (name: string) => flags[name] === true || flags[name] === 'true';
  const memory = Number(flags['virtualbox-memory'] ?? 1024);
  const cpus = Number(flags['virtualbox-cpu-count'] ?? 1);
  const disk = Number(flags['virtualbox-disk-size'] ?? 20000);
  if (!Number.isInteger(memory) || memory < 256)
    throw new MachineError(`--virtualbox-memory ${memory} is too small`, { fix: 'give the machine at least 256 MB (1024 is the default)' });
  if (!Number.isInteger(disk) || disk < 1024)
    throw new MachineError(`--virtualbox-disk-size ${disk} is too small`, { fix: 'give the machine at least 1024 MB of disk' });
  if (!Number.isInteger(cpus) || cpus === 0 || cpus < -1)
    throw new MachineError(`--virtualbox-cpu-count ${cpus} is not valid`, { fix: 'use a positive number, or -1 for all host CPUs' });
  const cidr = str('virtualbox-hostonly-cidr');
  if (cidr) validateHostOnlyCidr(cidr);
  const shareFolder = str('virtualbox-share-folder');
  if (shareFolder && !shareFolder.includes(':')) {
    throw new MachineError(`--virtualbox-share-folder "${shareFolder}" has no share name`, {
      fix: 'give it as DIR:NAME, e.g. /Users/me/src:src',
    });
  }
  const api = oneOf('virtualbox-api', str('virtualbox-api', 'vboxmanage'), ['vboxmanage', 'soap']) as 'vboxmanage' | 'soap';
  const soapUrl = str('virtualbox-soap-url');
  if (soapUrl) soapTarget(soapUrl);
  const stopTimeout = Number(flags['virtualbox-stop-timeout'] ?? 60);
  if (!Number.isInteger(stopTimeout) || stopTimeout < 0)
    throw new MachineError(`--virtualbox-stop-timeout ${stopTimeout} is not valid`, { fix: 'give a number of seconds' });
  return {
    ...base,
    VBoxManager: {},
    HostInterfaces: {},
    CPU: cpus,
    Memory: memory,
    DiskSize: disk,
    NatNicType: oneOf('virtualbox-nat-nictype', str('virtualbox-nat-nictype', nicType), NIC_TYPES),
    Boot2DockerURL: str('virtualbox-boot2docker-url'),
    Boot2DockerImportVM: '',
    HostDNSResolver: bool('virtualbox-host-dns-resolver'),
    HostOnlyCIDR: cidr,
    HostOnlyNicType: oneOf('virtualbox-hostonly-nictype', str('virtualbox-hostonly-nictype', nicType), NIC_TYPES),
    HostOnlyPromiscMode: oneOf('virtualbox-hostonly-nicpromisc', str('virtualbox-hostonly-nicpromisc', 'deny'), PROMISC),
    UIType: oneOf('virtualbox-ui-type', str('virtualbox-ui-type', 'headless'), ['gui', 'sdl', 'headless', 'separate']),
    HostOnlyNoDHCP: bool('virtualbox-hostonly-no-dhcp'),
    NoShare: bool('virtualbox-no-share'),
    DNSProxy: !bool('virtualbox-no-dns-proxy'),
    NoVTXCheck: bool('virtualbox-no-vtx-check'),
    ShareFolder: shareFolder,
    DockerPort: 0,
    NoHostOnly: bool('virtualbox-no-hostonly'),
    API: api,
    SoapURL: soapUrl,
    VBoxManagePath: str('virtualbox-vboxmanage'),
    UUID: '',
    DiskPath: '',
    Shares: [],
    // VirtualBox 7 refuses spaces in share names: the mount point keeps the real path.
    ExtraShares: ((flags.share as string[] | undefined) ?? [])
      .map(parseShare)
      .map((sh, i) => ({ Name: `share${i}`, HostPath: sh.hostPath, GuestPath: sh.guestPath })),
    StopTimeout: stopTimeout,
    Arch: arch,
  };
}

export function load(config: BaseDriverConfig, env: DriverEnv): VirtualBoxDriver {
  return new VirtualBoxDriver(config as VirtualBoxConfig, env);
}

/** The shared folders create resolved, else what the config asks for (a docker-machine machine not started by us). */
export function shares(config: BaseDriverConfig, platform: NodeJS.Platform): Share[] {
  const c = config as Partial<VirtualBoxConfig>;
  const stored = Array.isArray(c.Shares)
    ? c.Shares
    : sharesFromConfig({ ShareFolder: c.ShareFolder ?? '', NoShare: Boolean(c.NoShare) }, platform);
  return stored.map((s) => ({ hostPath: s.HostPath ?? '', guestPath: s.GuestPath ?? '' }));
}
