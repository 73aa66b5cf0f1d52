/**
 * Pure parsers for what VirtualBox prints: VBoxManage's outputs (5.x to 7.2 formats), VBox.log, the
 * frontends' start-up errors, and the guest's `ip addr show`. No I/O here; every function is tested
 * against recorded real outputs (test/fixtures/virtualbox-7.2, and the docker-machine test vectors).
 */

// ---------------------------------------------------------------------------------------------
// Output hygiene

/**
 * Debian's and Oracle's /usr/bin/VBoxManage wrapper (VBox.sh) print a WARNING banner on stdout when
 * the kernel driver is missing. Returns stdout without it, and the banner's first line if there was one.
 */
export function stripWrapperBanner(stdout: string): { stdout: string; banner?: string } {
  if (!stdout.startsWith('WARNING: ')) return { stdout };
  const lines = stdout.split('\n');
  let i = 1;
  while (i < lines.length && (lines[i] === '' || /^\s/.test(lines[i]!))) i++;
  return { stdout: lines.slice(i).join('\n'), banner: lines[0]!.slice('WARNING: '.length).trim() };
}

/** The error lines VBoxManage wrote ("VBoxManage: error: X" → "X"), without Details/Context lines. */
export function errorLines(stderr: string): string[] {
  const out: string[] = [];
  for (const raw of stderr.split('\n')) {
    const m = /(?:^|\s)(?:VBoxManage(?:\.exe)?: )?error: (.*)$/.exec(raw.trim());
    if (!m) continue;
    const text = m[1]!.trim();
    if (!text || /^(Details|Context): /.test(text)) continue;
    out.push(text);
  }
  return out;
}

/** VBoxManage can exit 0 after printing an error (docker-machine's vbm.go checks stderr too). */
export function hasError(stderr: string): boolean {
  return /(^|\n|\s)(VBoxManage(\.exe)?: )?error:/.test(stderr);
}

/** "The object is not ready", the COM server going away between calls, a lock held a moment. */
export function isTransient(stderr: string): boolean {
  return /The object is not ready|Failed to create the VirtualBox object|COM server is not running|is already locked for a session|is being unlocked|already has a lock request pending|VBOX_E_INVALID_OBJECT_STATE/i.test(
    stderr,
  );
}

export function isMachineNotFound(stderr: string): string | undefined {
  return /Could not find a registered machine (?:named|with UUID) '(.+?)'/.exec(stderr)?.[1];
}

// ---------------------------------------------------------------------------------------------
// --version

export interface VBoxVersion {
  raw: string;
  major: number;
  minor: number;
  patch: number;
  revision?: number;
}

/** "7.2.22_Debianr175245", "6.0.24r139119", "5.0.8r103449", "4.3.1", "5.1": undefined if unparseable. */
export function parseVersion(text: string): VBoxVersion | undefined {
  const raw = text.trim().split('\n').pop()?.trim() ?? '';
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?([^r\s]*)(?:r(\d+))?/.exec(raw);
  if (!m) return undefined;
  return { raw, major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3] ?? 0), revision: m[5] ? Number(m[5]) : undefined };
}

export function versionAtLeast(v: VBoxVersion, major: number, minor = 0, patch = 0): boolean {
  if (v.major !== major) return v.major > major;
  if (v.minor !== minor) return v.minor > minor;
  return v.patch >= patch;
}

/** "7_2" from a version, as IVirtualBox.getAPIVersion() says it. */
export function apiVersionOf(v: VBoxVersion): string {
  return `${v.major}_${v.minor}`;
}

// ---------------------------------------------------------------------------------------------
// showvminfo --machinereadable

/** Key/value pairs; keys and values unquoted. Lines without "=" (" rec_screen0") are skipped. */
export function parseMachineReadable(text: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    if (!line || /^\s/.test(line)) continue;
    let key: string;
    let rest: string;
    if (line.startsWith('"')) {
      const end = line.indexOf('"=', 1);
      if (end < 0) continue;
      key = line.slice(1, end);
      rest = line.slice(end + 2);
    } else {
      const eq = line.indexOf('=');
      if (eq <= 0) continue;
      key = line.slice(0, eq);
      rest = line.slice(eq + 1);
    }
    map.set(key, unquote(rest));
  }
  return map;
}

function unquote(v: string): string {
  if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) {
    return v.slice(1, -1).replace(/\\(["\\n])/g, (_, c: string) => (c === 'n' ? '\n' : c));
  }
  return v;
}

/** A NAT port-forwarding rule, as `Forwarding(n)="ssh,tcp,127.0.0.1,2222,,22"` shows it. */
export interface Forward {
  name: string;
  proto: 'tcp' | 'udp';
  hostIp: string;
  hostPort: number;
  guestIp: string;
  guestPort: number;
}

export function parseForward(rule: string): Forward | undefined {
  const parts = rule.split(',');
  if (parts.length !== 6) return undefined;
  const [name, proto, hostIp, hostPort, guestIp, guestPort] = parts as [string, string, string, string, string, string];
  // SOAP's INATEngine.getRedirects() gives the protocol as a number: 0 UDP, 1 TCP.
  const p = proto === '1' || proto.toLowerCase() === 'tcp' ? 'tcp' : 'udp';
  return { name, proto: p, hostIp, hostPort: Number(hostPort), guestIp, guestPort: Number(guestPort) };
}

export function formatForward(f: Forward): string {
  return `${f.name},${f.proto},${f.hostIp},${f.hostPort},${f.guestIp},${f.guestPort}`;
}

export interface Nic {
  slot: number;
  /** nat, hostonly, hostonlynet, bridged, intnet, natnetwork, generic, null, none. */
  attachment: string;
  adapterType?: string;
  /** 12 lower-case hex digits, no separators. */
  mac?: string;
  hostOnlyAdapter?: string;
  hostOnlyNetwork?: string;
  cableConnected?: boolean;
  promisc?: string;
}

export interface StorageSlot {
  controller: string;
  port: number;
  device: number;
  medium: string;
}

export interface SharedFolder {
  name: string;
  hostPath: string;
}

/** What the driver and its tests need from a VM, from either backend. */
export interface VmInfo {
  name: string;
  uuid: string;
  /** VBoxManage's short state name: poweroff, running, paused, saved, aborted, gurumeditation... */
  state: string;
  memory: number;
  cpus: number;
  cfgFile: string;
  logFolder: string;
  bootOrder: string[];
  nics: Nic[];
  forwards: Forward[];
  storage: StorageSlot[];
  sharedFolders: SharedFolder[];
  uart1?: string;
  sessionName?: string;
}

export function vmInfoFromMachineReadable(text: string): VmInfo {
  const m = parseMachineReadable(text);
  const nics: Nic[] = [];
  for (let slot = 1; slot <= 8; slot++) {
    // docker-machine's GetIP only looked at hostonlyadapterN/macaddressN: accept that shape too.
    const attachment = m.get(`nic${slot}`) ?? (m.has(`hostonlyadapter${slot}`) ? 'hostonly' : undefined);
    if (attachment === undefined) continue;
    const mac = m.get(`macaddress${slot}`);
    nics.push({
      slot,
      attachment,
      adapterType: m.get(`nictype${slot}`),
      mac: mac ? normalizeMac(mac) : undefined,
      hostOnlyAdapter: m.get(`hostonlyadapter${slot}`),
      hostOnlyNetwork: m.get(`hostonly-network${slot}`) ?? m.get(`hostonlynet${slot}`),
      cableConnected: m.has(`cableconnected${slot}`) ? m.get(`cableconnected${slot}`) === 'on' : undefined,
      promisc: m.get(`nicpromisc${slot}`),
    });
  }
  const forwards: Forward[] = [];
  const storage: StorageSlot[] = [];
  const shares: SharedFolder[] = [];
  const controllers = new Set<string>();
  for (const [k, v] of m) {
    if (/^storagecontrollername\d+$/.test(k)) controllers.add(v);
  }
  for (const [k, v] of m) {
    const fw = /^Forwarding\(\d+\)$/.test(k) ? parseForward(v) : undefined;
    if (fw) forwards.push(fw);
    const sf = /^SharedFolderNameMachineMapping(\d+)$/.exec(k);
    if (sf) shares.push({ name: v, hostPath: m.get(`SharedFolderPathMachineMapping${sf[1]}`) ?? '' });
    const st = /^(.+)-(\d+)-(\d+)$/.exec(k);
    if (st && controllers.has(st[1]!) && v !== 'none' && v !== 'emptydrive') {
      storage.push({ controller: st[1]!, port: Number(st[2]), device: Number(st[3]), medium: v });
    }
  }
  const bootOrder: string[] = [];
  for (let i = 1; i <= 4; i++) {
    const b = m.get(`boot${i}`);
    if (b && b !== 'none') bootOrder.push(b);
  }
  return {
    name: m.get('name') ?? '',
    uuid: m.get('UUID') ?? '',
    state: (m.get('VMState') ?? '').toLowerCase(),
    memory: Number(m.get('memory') ?? 0),
    cpus: Number(m.get('cpus') ?? 0),
    cfgFile: m.get('CfgFile') ?? '',
    logFolder: m.get('LogFldr') ?? '',
    bootOrder,
    nics,
    forwards,
    storage,
    sharedFolders: shares,
    uart1: m.get('uart1'),
    sessionName: m.get('SessionName'),
  };
}

export function normalizeMac(mac: string): string {
  return mac.replace(/[^0-9a-fA-F]/g, '').toLowerCase();
}

// ---------------------------------------------------------------------------------------------
// States

export type MachineStateName = 'Running' | 'Paused' | 'Saved' | 'Stopped' | 'Stopping' | 'Starting' | 'Error' | '';

/**
 * VirtualBox machine states, as VBoxManage names them ("poweroff", "gurumeditation") or as the API
 * names them ("PoweredOff", "Stuck"), mapped to docker-machine's states. docker-machine mapped only
 * five and left the rest as None; the transitional ones are mapped here too.
 */
const STATES: Record<string, MachineStateName> = {
  running: 'Running',
  paused: 'Paused',
  saved: 'Saved',
  'aborted-saved': 'Saved',
  abortedsaved: 'Saved',
  poweroff: 'Stopped',
  poweredoff: 'Stopped',
  aborted: 'Stopped',
  teleported: 'Stopped',
  starting: 'Starting',
  restoring: 'Starting',
  teleportingin: 'Starting',
  stopping: 'Stopping',
  saving: 'Stopping',
  gurumeditation: 'Error',
  stuck: 'Error',
  // Running with a snapshot or teleport in progress: the guest still runs.
  livesnapshotting: 'Running',
  onlinesnapshotting: 'Running',
  teleporting: 'Running',
  deletingsnapshotlive: 'Running',
  deletingsnapshotonline: 'Running',
  teleportingpausedvm: 'Paused',
  deletingsnapshotlivepaused: 'Paused',
  deletingsnapshotpaused: 'Paused',
  // Powered off while VirtualBox works on its settings.
  restoringsnapshot: 'Stopped',
  deletingsnapshot: 'Stopped',
  settingup: 'Stopped',
  snapshotting: 'Stopped',
};

export function machineState(vboxState: string): MachineStateName {
  return STATES[vboxState.toLowerCase().replace(/_/g, '')] ?? '';
}

/** The VBoxManage spelling of an API state ("PoweredOff" → "poweroff"), for one VmInfo shape. */
export function shortStateName(apiState: string): string {
  const k = apiState.toLowerCase();
  const map: Record<string, string> = { poweredoff: 'poweroff', stuck: 'gurumeditation', abortedsaved: 'aborted-saved' };
  return map[k] ?? k;
}

// ---------------------------------------------------------------------------------------------
// list vms / runningvms

export interface VmRef {
  name: string;
  uuid: string;
}

export function parseListVms(text: string): VmRef[] {
  const out: VmRef[] = [];
  for (const line of text.split(/\r?\n/)) {
    const m = /^"(.*)" \{([0-9a-fA-F-]{36})\}\s*$/.exec(line);
    if (m) out.push({ name: m[1]!, uuid: m[2]!.toLowerCase() });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// list hostonlyifs / dhcpservers / hostonlynets

export interface HostOnlyIf {
  name: string;
  guid?: string;
  dhcp: boolean;
  ip: string;
  mask: string;
  mac?: string;
  status?: string;
  networkName: string;
}

/**
 * `list hostonlyifs`, docker-machine's way: an entry is complete at its VBoxNetworkName line, so
 * missing blank lines do not matter, and names may contain spaces ("VirtualBox Host-Only Ethernet
 * Adapter #3"). Duplicates are kept: see dedupeHostOnlyIfs.
 */
export function parseHostOnlyIfs(text: string): HostOnlyIf[] {
  const out: HostOnlyIf[] = [];
  let cur: Partial<HostOnlyIf> & { dhcp?: boolean } = {};
  for (const [key, value] of colonLines(text)) {
    switch (key) {
      case 'Name':
        cur = { name: value };
        break;
      case 'GUID':
        cur.guid = value;
        break;
      case 'DHCP':
        cur.dhcp = value !== 'Disabled';
        break;
      case 'IPAddress':
        cur.ip = value;
        break;
      case 'NetworkMask':
        cur.mask = value;
        break;
      case 'HardwareAddress':
        cur.mac = value ? normalizeMac(value) : undefined;
        break;
      case 'Status':
        cur.status = value;
        break;
      case 'VBoxNetworkName':
        out.push({
          name: cur.name ?? value.replace(/^HostInterfaceNetworking-/, ''),
          guid: cur.guid,
          dhcp: cur.dhcp ?? false,
          ip: cur.ip ?? '',
          mask: cur.mask ?? '',
          mac: cur.mac,
          status: cur.status,
          networkName: value,
        });
        cur = {};
        break;
    }
  }
  return out;
}

/**
 * docker-machine refused to work with duplicate adapter names (Npcap's loopback adapter) or IPs;
 * keep the first of each, sorted by name for a stable choice, and say what was ignored.
 */
export function dedupeHostOnlyIfs(ifs: HostOnlyIf[]): { ifs: HostOnlyIf[]; warnings: string[] } {
  const seen = new Set<string>();
  const warnings: string[] = [];
  const out: HostOnlyIf[] = [];
  for (const i of ifs) {
    if (seen.has(i.networkName)) {
      warnings.push(`VirtualBox lists two host-only adapters named "${i.name}"; using the first`);
      continue;
    }
    seen.add(i.networkName);
    out.push(i);
  }
  return { ifs: out, warnings };
}

export interface DhcpServer {
  networkName: string;
  ip: string;
  mask: string;
  lower: string;
  upper: string;
  enabled: boolean;
}

/** `list dhcpservers`: the pre-6.1 keys (IP, lowerIPAddress) and the 6.1+ ones (Dhcpd IP, LowerIPAddress). */
export function parseDhcpServers(text: string): DhcpServer[] {
  const out: DhcpServer[] = [];
  let cur: DhcpServer | undefined;
  for (const [key, value] of colonLines(text)) {
    if (key === 'NetworkName') {
      cur = { networkName: value, ip: '', mask: '', lower: '', upper: '', enabled: false };
      out.push(cur);
      continue;
    }
    if (!cur) continue;
    switch (key.toLowerCase()) {
      case 'ip':
      case 'dhcpd ip':
        cur.ip = value;
        break;
      case 'networkmask':
        cur.mask = value;
        break;
      case 'loweripaddress':
        cur.lower = value;
        break;
      case 'upperipaddress':
        cur.upper = value;
        break;
      case 'enabled':
        cur.enabled = value === 'Yes';
        break;
    }
  }
  return out;
}

export interface HostOnlyNet {
  name: string;
  mask: string;
  lower: string;
  upper: string;
  enabled: boolean;
}

/** `list hostonlynets` (VirtualBox 7 on macOS). */
export function parseHostOnlyNets(text: string): HostOnlyNet[] {
  const out: HostOnlyNet[] = [];
  let cur: HostOnlyNet | undefined;
  for (const [key, value] of colonLines(text)) {
    if (key === 'Name') {
      cur = { name: value, mask: '', lower: '', upper: '', enabled: true };
      out.push(cur);
      continue;
    }
    if (!cur) continue;
    if (key === 'NetworkMask') cur.mask = value;
    else if (key === 'LowerIP') cur.lower = value;
    else if (key === 'UpperIP') cur.upper = value;
    else if (key === 'State') cur.enabled = value === 'Enabled';
  }
  return out;
}

/** "Key:   value" lines at the start of a line (indented sub-blocks are skipped). */
function colonLines(text: string): [string, string][] {
  const out: [string, string][] = [];
  for (const line of text.split(/\r?\n/)) {
    if (!line || /^\s/.test(line)) continue;
    const m = /^([^:]+):(?:\s+(.*))?$/.exec(line);
    if (m) out.push([m[1]!.trim(), (m[2] ?? '').trim()]);
  }
  return out;
}

/** `hostonlyif create` stdout. */
export function parseCreatedHostOnlyIf(stdout: string): string | undefined {
  return /Interface '(.+)' was successfully created/.exec(stdout)?.[1];
}

/** `createvm` stdout: the new VM's UUID. */
export function parseCreatedVmUuid(stdout: string): string | undefined {
  return /^UUID:\s*([0-9a-fA-F-]{36})\s*$/m.exec(stdout)?.[1]?.toLowerCase();
}

export interface HostInfo {
  /** "Processor supports HW virtualization": VT-x/AMD-V usable by VirtualBox. */
  hwVirt?: boolean;
  nestedPaging?: boolean;
  cpus?: number;
  os?: string;
}

/** `list hostinfo`: what VirtualBox itself thinks of the host CPU. */
export function parseHostInfo(text: string): HostInfo {
  const kv = new Map(colonLines(text));
  const yes = (k: string) => (kv.has(k) ? kv.get(k) === 'yes' : undefined);
  const cpus = kv.get('Processor count');
  return {
    hwVirt: yes('Processor supports HW virtualization'),
    nestedPaging: yes('Processor supports nested paging'),
    cpus: cpus ? Number(cpus) : undefined,
    os: kv.get('Operating system'),
  };
}

/** `guestproperty get`: undefined for "No value set!". */
export function parseGuestProperty(stdout: string): string | undefined {
  const t = stdout.trim();
  if (!t || t === 'No value set!') return undefined;
  return /^Value:\s*(.*)$/m.exec(t)?.[1];
}

// ---------------------------------------------------------------------------------------------
// The guest

/**
 * docker-machine's GetIP: in `ip addr show`, the first "inet" after the "link" line with this MAC.
 * Undefined when the MAC is not there or has no IPv4 address (yet).
 */
export function parseIpForMac(ipAddrShow: string, mac: string): string | undefined {
  const want = normalizeMac(mac);
  let matching = false;
  for (const raw of ipAddrShow.split('\n')) {
    const line = raw.trim();
    if (/^\d+:/.test(line)) matching = false;
    const tokens = line.split(/\s+/);
    if (line.startsWith('link')) {
      matching = normalizeMac(tokens[1] ?? '') === want;
    } else if (matching && line.startsWith('inet ')) {
      return tokens[1]?.split('/')[0];
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Why a VM did not start

/** docker-machine's vtx.go rules on VBox.log, plus the AMD-V and Hyper-V texts it missed. */
export function vtxProblemInLog(log: string): string | undefined {
  for (const line of log.split('\n')) {
    if (line.includes('VT-x is disabled') && !line.includes('Falling back to raw-mode: VT-x is disabled in the BIOS for all CPU modes'))
      return 'VT-x is disabled';
    if (line.includes('the host CPU does NOT support HW virtualization')) return 'the host CPU does not support hardware virtualization';
    if (line.includes('VERR_VMX_UNABLE_TO_START_VM')) return 'VERR_VMX_UNABLE_TO_START_VM';
    if (line.includes('Power up failed') && line.includes('VERR_VMX_NO_VMX')) return 'VERR_VMX_NO_VMX';
    if (line.includes('Power up failed') && /VERR_SVM_(NO_SVM|DISABLED)/.test(line)) return /VERR_SVM_\w+/.exec(line)![0];
    if (/AMD-V is disabled in the BIOS/.test(line)) return 'AMD-V is disabled in the BIOS';
  }
  return undefined;
}

export function hyperVProblemInLog(log: string): string | undefined {
  const m =
    /VERR_SUPDRV_NO_RAW_MODE_HYPER_V_ROOT|Raw-mode is unavailable courtesy of Hyper-V|VERR_NEM_NOT_AVAILABLE|VERR_NEM_INIT_FAILED/.exec(
      log,
    );
  return m?.[0];
}

/** The last "Power up failed" or error line of VBox.log (docker-machine printed its last line). */
export function lastLogError(log: string): string | undefined {
  const lines = log
    .split('\n')
    .map((l) => l.replace(/^\d\d:\d\d:\d\d\.\d+\s+/, '').trim())
    .filter(Boolean);
  for (let i = lines.length - 1; i >= 0; i--) {
    if (/Power up failed|VERR_|ERROR \[/.test(lines[i]!)) return lines[i];
  }
  return undefined;
}

/** The support library's status codes (VBox/err.h) the frontends print as "Error -NNNN in ...". */
export const SUP_ERRORS: Record<number, { code: string; text: string }> = {
  [-1908]: { code: 'VERR_VM_DRIVER_NOT_INSTALLED', text: 'Kernel driver not installed' },
  [-1909]: { code: 'VERR_VM_DRIVER_NOT_ACCESSIBLE', text: 'Kernel driver not accessible' },
  [-1910]: { code: 'VERR_VM_DRIVER_LOAD_ERROR', text: 'Kernel driver could not be loaded' },
  [-1911]: { code: 'VERR_VM_DRIVER_OPEN_ERROR', text: 'Kernel driver could not be opened' },
  [-1912]: { code: 'VERR_VM_DRIVER_VERSION_MISMATCH', text: 'Kernel driver version mismatch' },
};

export interface FrontendError {
  rc: number;
  code?: string;
  /** What the frontend said ("Kernel driver not installed"), or our text for the rc. */
  text: string;
}

/**
 * A hardened frontend's start-up failure (VBoxHeadless, VirtualBoxVM), e.g.
 * "VBoxHeadless: Error -1908 in suplibOsInit!\nVBoxHeadless: Kernel driver not installed". Also
 * matches the same text in VBoxHardening.log / VBoxStartup.log on Windows.
 */
export function parseFrontendError(text: string): FrontendError | undefined {
  const m = /Error (-\d+) in (\w+)!/.exec(text);
  if (!m) return undefined;
  const rc = Number(m[1]);
  const known = SUP_ERRORS[rc];
  // The line after "Error ... in X!" is the message ("Kernel driver not installed", "VERR_VM_DRIVER_LOAD_ERROR").
  const after = text
    .slice(m.index + m[0].length)
    .split('\n')
    .map((l) => l.replace(/^[\w.]+: /, '').trim())
    .find(Boolean);
  const said = after && !/^Tip!/.test(after) ? after : undefined;
  const text2 = said && !/^VERR_|^RTR3InitEx failed/.test(said) ? said : (known?.text ?? said ?? `error ${rc}`);
  return { rc, code: known?.code ?? (said && /^VERR_\w+$/.test(said) ? said : undefined), text: text2 };
}

/** Windows: VBoxHardening.log lines that explain a start failure (driver stub, hardening). */
export function hardeningProblem(log: string): string | undefined {
  const fe = parseFrontendError(log);
  if (fe) return `${fe.text} (${fe.code ?? fe.rc})`;
  const m = /NtCreateFile\(\\Device\\VBoxDrvStub\) failed[^\n]*|supR3HardenedWinReSpawn[^\n]*(?:failed|error)[^\n]*|VERR_SUP_VP_\w+/.exec(
    log,
  );
  return m?.[0].trim();
}

// ---------------------------------------------------------------------------------------------
// Host files

/**
 * /etc/vbox/networks.conf (VirtualBox 6.1.28+ on Linux and macOS): lines "* 10.0.0.0/8 192.168.0.0/16".
 * Undefined when the file says nothing, which means the default 192.168.56.0/21.
 */
export function parseNetworksConf(text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined;
  const ranges: string[] = [];
  for (const line of text.split('\n')) {
    const t = line.replace(/#.*/, '').trim();
    if (!t.startsWith('*')) continue;
    for (const tok of t.slice(1).trim().split(/\s+/)) if (tok) ranges.push(tok);
  }
  return ranges;
}

/** `reg query HKLM\SOFTWARE\Oracle\VirtualBox /v InstallDir` → the directory. */
export function parseRegQuery(stdout: string, value: string): string | undefined {
  const re = new RegExp(`^\\s*${value}\\s+REG_(?:EXPAND_)?SZ\\s+(.+?)\\s*$`, 'mi');
  return re.exec(stdout)?.[1];
}
