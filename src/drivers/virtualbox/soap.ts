import type * as VB from 'virtualbox-soap';
import { MachineError } from '../../core/errors.js';
import { sleep } from '../../core/wait.js';
import type { Report } from '../driver.js';
import { errorKind, type HostOnlyAttachment, type VBoxBackend, VBoxError, type VmSpec } from './backend.js';
import {
  type DhcpServer,
  type Forward,
  type HostOnlyIf,
  type HostOnlyNet,
  normalizeMac,
  parseForward,
  parseVersion,
  shortStateName,
  type StorageSlot,
  type VBoxVersion,
  type VmInfo,
  type VmRef,
} from './parse.js';
import { makeDiskWithVBoxManage, type VBoxManage } from './vboxmanage.js';

/**
 * The `soap` backend: vboxwebsrv through virtualbox-soap 5.0.0, loaded on first use (parsing its
 * WSDL takes about a second). That package was generated from the VirtualBox 7.0 API, so:
 *  - enums are ambient const enums: string literals are passed instead (`en("Write")`);
 *  - unsignedInt getters return strings: every number goes through Number();
 *  - 7.1 added `platform` to createMachine and moved firmware/chipset/CPU settings to IPlatform,
 *    IPlatformX86 and IFirmwareSettings, which the package does not know: those are raw SOAP calls
 *    (`rawCall`), chosen by the API version the service reports.
 * What the web service cannot do at all, importing raw data into a disk, goes through VBoxManage.
 */

type Soap = typeof VB;

/** A string for a const-enum parameter (the enums do not exist at run time). */
function en<T>(value: string): T {
  return value as unknown as T;
}

/** The managed object reference behind a wrapper object. */
function ref(obj: unknown): string {
  return (obj as { __object: string }).__object;
}

function clientOf(obj: unknown): unknown {
  return (obj as { __client: unknown }).__client;
}

/**
 * virtualbox-soap's plain getters read `__result.returnval` and throw a TypeError when VirtualBox
 * returns an empty value (no redirects, no host-only interface, an empty string): that is the default.
 */
async function opt<T>(p: Promise<T>, dflt: T): Promise<T> {
  try {
    return (await p) ?? dflt;
  } catch (err) {
    if (err instanceof TypeError && /returnval/.test(err.message)) return dflt;
    throw err;
  }
}

let soapModule: Promise<Soap> | undefined;
export function loadSoap(): Promise<Soap> {
  soapModule ??= import('virtualbox-soap').then((m) => ((m as unknown as { default?: Soap }).default ?? m) as Soap);
  return soapModule;
}

function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function xmlUnescape(s: string): string {
  return s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');
}

export class SoapFault extends Error {
  constructor(
    message: string,
    readonly code?: number,
  ) {
    super(message);
    this.name = 'SoapFault';
  }
}

/** One SOAP operation the bundled WSDL does not describe; returns the <returnval> texts. */
export async function rawCall(endpoint: string, op: string, args: [string, string | number | boolean][]): Promise<string[]> {
  const body = args.map(([k, v]) => `<${k}>${xmlEscape(String(v))}</${k}>`).join('');
  const envelope =
    '<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:vbox="http://www.virtualbox.org/">' +
    `<soap:Body><vbox:${op}>${body}</vbox:${op}></soap:Body></soap:Envelope>`;
  const res = await fetch(endpoint, {
    method: 'POST',
    headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: '""' },
    body: envelope,
  });
  const text = await res.text();
  // A fault may have no faultstring (vboxwebsrv's refused logon): its faultcode then.
  const fault = /<faultstring>([\s\S]*?)<\/faultstring>/.exec(text) ?? /<faultcode>([\s\S]*?)<\/faultcode>/.exec(text);
  if (fault) {
    const message = xmlUnescape(fault[1]!);
    const code = /rc=0x([0-9a-f]{8})/.exec(message);
    throw new SoapFault(message, code ? parseInt(code[1]!, 16) : undefined);
  }
  return [...text.matchAll(/<returnval>([\s\S]*?)<\/returnval>/g)].map((m) => xmlUnescape(m[1]!));
}

export interface SoapTarget {
  /** Endpoint without credentials. */
  endpoint: string;
  username: string;
  password: string;
}

/** url with everything up to its last "@" (user:password) replaced by ***, for messages; also when url does not parse. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)?.*@/is, (_m, scheme?: string) => `${scheme ?? ''}***@`);
}

/**
 * Split "http://user:pass@host:18083/" (creds, when given, replace what the URL says) and refuse an
 * unauthenticated remote service. The endpoint never carries credentials: it is what messages show.
 */
export function soapTarget(url: string, creds?: { username?: string; password?: string }): SoapTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new MachineError(`--virtualbox-soap-url ${redactUrl(url)} is not a URL`, { fix: 'give it as http://127.0.0.1:18083/' });
  }
  const username = creds?.username || decodeURIComponent(u.username);
  const password = creds?.password ?? decodeURIComponent(u.password);
  const loopback = ['127.0.0.1', 'localhost', '[::1]', '::1'].includes(u.hostname);
  if (!loopback && !username) {
    throw new MachineError(`The VirtualBox web service at ${u.host} is not on this machine and no credentials were given`, {
      fix: 'put the host account in the URL (http://user:password@host:18083/); never run vboxwebsrv without authentication on a network address',
    });
  }
  u.username = '';
  u.password = '';
  return { endpoint: u.toString(), username, password };
}

/** A logged-on web session; one per endpoint per process. */
export class SoapConnection {
  private sessionChain: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly soap: Soap,
    readonly endpoint: string,
    readonly wsm: VB.IWebsessionManager,
    readonly vbox: VB.IVirtualBox,
    readonly api: { major: number; minor: number },
    readonly version: VBoxVersion,
  ) {}

  static async open(target: SoapTarget): Promise<SoapConnection> {
    const soap = await loadSoap();
    let wsm: VB.IWebsessionManager;
    let vbox: VB.IVirtualBox;
    try {
      wsm = await soap.connect(target.endpoint);
      vbox = await wsm.logon(target.username, target.password);
    } catch (err) {
      // No `cause`: the soap error holds the request, password included (and Node prints causes).
      const said = (err as Error).message;
      if (/^SOAP-ENV:Client\b/.test(said)) {
        throw new MachineError(`The VirtualBox web service at ${target.endpoint} refused the logon of user "${target.username}"`, {
          fix: 'check the user and password (--virtualbox-soap-url http://user:password@host:18083/)',
        });
      }
      const safe = target.password ? said.split(target.password).join('***') : said;
      throw new MachineError(`Could not log on to the VirtualBox web service at ${target.endpoint}: ${safe}`, {
        fix: 'check that vboxwebsrv runs there, or use --virtualbox-api vboxmanage',
      });
    }
    const [apiText, versionText, revision] = await Promise.all([vbox.getAPIVersion(), vbox.getVersion(), vbox.getRevision()]);
    const [major, minor] = String(apiText).split('_').map(Number) as [number, number];
    const version = parseVersion(`${versionText}r${revision}`);
    if (!version) throw new MachineError(`The VirtualBox web service reports version "${versionText}", which is not a version`);
    if (major < 7) {
      await wsm.logoff(vbox).catch(() => undefined);
      throw new MachineError(`The soap backend needs VirtualBox 7.0 or later (the web service is ${versionText})`, {
        fix: 'use --virtualbox-api vboxmanage',
      });
    }
    return new SoapConnection(soap, target.endpoint, wsm, vbox, { major, minor }, version);
  }

  /** Whether IPlatform/IFirmwareSettings exist (API 7_1 and later). */
  get platformApi(): boolean {
    return this.api.major > 7 || (this.api.major === 7 && this.api.minor >= 1);
  }

  raw(op: string, args: [string, string | number | boolean][]): Promise<string[]> {
    return rawCall(this.endpoint, op, args);
  }

  /** The web session has one ISession: whatever uses it runs one at a time. */
  serial<T>(fn: (session: VB.ISession) => Promise<T>): Promise<T> {
    const run = async () => fn(await this.wsm.getSessionObject(this.vbox));
    const next = this.sessionChain.then(run, run);
    this.sessionChain = next.catch(() => undefined);
    return next;
  }

  /** Run fn with the session locking the machine (Write: settings; Shared: a running VM's console). */
  withLock<T>(vm: string, lockType: 'Write' | 'Shared', fn: (mutable: VB.IMachine, session: VB.ISession) => Promise<T>): Promise<T> {
    return this.serial(async (session) => {
      const machine = await this.vbox.findMachine(vm);
      for (let attempt = 1; ; attempt++) {
        try {
          await machine.lockMachine(session, en(lockType));
          break;
        } catch (err) {
          // Right after a power-off the VM process may still hold its lock for a moment.
          if (attempt < 25 && errorKind((err as Error).message) === 'locked') {
            await sleep(200);
            continue;
          }
          throw err;
        }
      }
      try {
        return await fn(await session.getMachine(), session);
      } finally {
        await session.unlockMachine().catch(() => undefined);
      }
    });
  }

  async logoff(): Promise<void> {
    await this.wsm.logoff(this.vbox).catch(() => undefined);
  }
}

const connections = new Map<string, Promise<SoapConnection>>();

/** One logged-on web session per endpoint and process, shared by every driver (e.g. `ls`). */
export function sharedSoapConnection(target: SoapTarget): Promise<SoapConnection> {
  const key = `${target.username}@${target.endpoint}`;
  let c = connections.get(key);
  if (!c) {
    c = SoapConnection.open(target);
    connections.set(key, c);
    c.catch(() => connections.delete(key));
  }
  return c;
}

/** Log off every shared web session (tests, bench; a CLI process just exits). */
export async function closeSoapConnections(): Promise<void> {
  const all = [...connections.values()];
  connections.clear();
  await Promise.all(all.map(async (c) => (await c.catch(() => undefined))?.logoff()));
}

/** VBoxManage's NIC type names → INetworkAdapter.adapterType. */
const ADAPTER_TYPES: Record<string, string> = {
  Am79C970A: 'Am79C970A',
  Am79C973: 'Am79C973',
  Am79C960: 'Am79C960',
  '82540EM': 'I82540EM',
  '82543GC': 'I82543GC',
  '82545EM': 'I82545EM',
  virtio: 'Virtio',
};
const PROMISC: Record<string, string> = { deny: 'Deny', 'allow-vms': 'AllowNetwork', 'allow-all': 'AllowAll' };
const ATTACHMENT_NAMES: Record<string, string> = {
  NAT: 'nat',
  HostOnly: 'hostonly',
  HostOnlyNetwork: 'hostonlynetwork',
  Bridged: 'bridged',
  Internal: 'intnet',
  NATNetwork: 'natnetwork',
  Generic: 'generic',
  Cloud: 'cloudnetwork',
  Null: 'null',
};
const BOOT_NAMES: Record<string, string> = { DVD: 'dvd', HardDisk: 'disk', Floppy: 'floppy', Network: 'net' };

/** VirtualBox API errors as VBoxError, with VBoxManage-like kinds. */
function wrap(err: unknown, what: string): VBoxError {
  if (err instanceof VBoxError) return err;
  const message = (err as Error)?.message ?? String(err);
  const code = (err as { code?: number }).code;
  let kind = errorKind(message);
  if (code === 0x80bb0007) kind = 'locked';
  return new VBoxError(`${what} failed: ${message.replace(/^VirtualBox error: (apirc=0x[0-9a-f]+ )?/, '')}`, kind, message);
}

async function waitProgress(progress: VB.IProgress | null, what: string, timeoutMs = -1): Promise<void> {
  if (!progress) return;
  await progress.waitForCompletion(timeoutMs);
  const rc = Number(await progress.getResultCode());
  if (rc !== 0) {
    const info = await progress.getErrorInfo().catch(() => null);
    const text = info ? await info.getText().catch(() => '') : '';
    throw new VBoxError(`${what} failed: ${text || `result code ${rc}`}`, errorKind(text), text || String(rc));
  }
}

export class SoapBackend implements VBoxBackend {
  readonly kind = 'soap';
  readonly notes = ['the userdata disk is imported with VBoxManage convertfromraw (the web service cannot write raw data into a disk)'];
  private connection: Promise<SoapConnection> | undefined;

  constructor(
    private readonly connect: () => Promise<SoapConnection>,
    /** For what the web service cannot do (raw disk import). */
    private readonly vbm: VBoxManage | undefined,
  ) {}

  conn(): Promise<SoapConnection> {
    this.connection ??= this.connect().catch((err) => {
      this.connection = undefined;
      throw err;
    });
    return this.connection;
  }

  private async call<T>(what: string, fn: (c: SoapConnection) => Promise<T>): Promise<T> {
    const c = await this.conn();
    try {
      return await fn(c);
    } catch (err) {
      throw wrap(err, what);
    }
  }

  async version(): Promise<{ version: VBoxVersion; api: string }> {
    const c = await this.conn();
    return { version: c.version, api: `${c.api.major}_${c.api.minor}` };
  }

  async hostHwVirt(): Promise<boolean | undefined> {
    return this.call('IHost.getProcessorFeature', async (c) => Boolean(await (await c.vbox.getHost()).getProcessorFeature(en('HWVirtEx'))));
  }

  private async find(c: SoapConnection, vm: string): Promise<VB.IMachine | undefined> {
    try {
      return await c.vbox.findMachine(vm);
    } catch (err) {
      if (errorKind((err as Error).message) === 'not-found' || (err as { code?: number }).code === 0x80bb0001) return undefined;
      throw err;
    }
  }

  async vmState(vm: string): Promise<string | undefined> {
    return this.call('IMachine.getState', async (c) => {
      const m = await this.find(c, vm);
      return m ? shortStateName(String(await m.getState())) : undefined;
    });
  }

  async vmInfo(vm: string): Promise<VmInfo | undefined> {
    return this.call('reading the VM', async (c) => {
      const m = await this.find(c, vm);
      if (!m) return undefined;
      const [name, uuid, state, memory, cpus, cfgFile, logFolder] = await Promise.all([
        m.getName(),
        m.getId(),
        m.getState(),
        m.getMemorySize(),
        m.getCPUCount(),
        m.getSettingsFilePath(),
        m.getLogFolder(),
      ]);
      const nics = await Promise.all(
        [0, 1, 2, 3].map(async (i) => {
          const a = await m.getNetworkAdapter(i);
          const [enabled, type, adapterType, mac, hostOnly, cable, promisc] = await Promise.all([
            a.getEnabled(),
            a.getAttachmentType(),
            a.getAdapterType(),
            opt(a.getMACAddress(), ''),
            opt(a.getHostOnlyInterface(), ''),
            a.getCableConnected(),
            a.getPromiscModePolicy(),
          ]);
          const attachment = enabled ? (ATTACHMENT_NAMES[String(type)] ?? String(type).toLowerCase()) : 'none';
          const hostOnlyNetwork = attachment === 'hostonlynetwork' ? await opt(a.getHostOnlyNetwork(), '') : undefined;
          return {
            slot: i + 1,
            attachment,
            adapterType: Object.entries(ADAPTER_TYPES).find(([, v]) => v === String(adapterType))?.[0] ?? String(adapterType),
            mac: mac ? normalizeMac(String(mac)) : undefined,
            hostOnlyAdapter: attachment === 'hostonly' ? String(hostOnly) : undefined,
            hostOnlyNetwork: hostOnlyNetwork ? String(hostOnlyNetwork) : undefined,
            cableConnected: Boolean(cable),
            promisc: Object.entries(PROMISC).find(([, v]) => v === String(promisc))?.[0],
          };
        }),
      );
      const redirects = await opt((await (await m.getNetworkAdapter(0)).getNATEngine()).getRedirects(), []);
      const forwards = (redirects ?? []).map((r) => parseForward(String(r))).filter((f): f is Forward => Boolean(f));
      const attachments = (await opt(m.getMediumAttachments(), [])) as unknown as {
        medium?: string;
        controller: string;
        port: string | number;
        device: string | number;
      }[];
      const storage: StorageSlot[] = [];
      for (const a of attachments) {
        if (!a.medium) continue;
        const medium = new c.soap.IMedium(clientOf(m), a.medium);
        storage.push({
          controller: a.controller,
          port: Number(a.port),
          device: Number(a.device),
          medium: String(await opt(medium.getLocation(), '')),
        });
      }
      storage.sort((a, b) => a.port - b.port || a.device - b.device);
      const sharedFolders = await Promise.all(
        ((await m.getSharedFolders()) ?? []).map(async (s) => ({
          name: String(await s.getName()),
          hostPath: String(await s.getHostPath()),
        })),
      );
      const bootOrder: string[] = [];
      for (let i = 1; i <= 4; i++) {
        const b = String(await m.getBootOrder(i));
        if (BOOT_NAMES[b]) bootOrder.push(BOOT_NAMES[b]!);
      }
      const serial = await m.getSerialPort(0);
      const uartOn = Boolean(await serial.getEnabled());
      return {
        name: String(name),
        uuid: String(uuid),
        state: shortStateName(String(state)),
        memory: Number(memory),
        cpus: Number(cpus),
        cfgFile: String(cfgFile),
        logFolder: String(logFolder),
        bootOrder,
        nics,
        forwards,
        storage,
        sharedFolders,
        uart1: uartOn ? 'on' : 'off',
      };
    });
  }

  async listVms(): Promise<VmRef[]> {
    return this.call('IVirtualBox.getMachines', async (c) => {
      const machines = await c.vbox.getMachines();
      return Promise.all(machines.map(async (m) => ({ name: String(await m.getName()), uuid: String(await m.getId()) })));
    });
  }

  async createVm(spec: VmSpec, report: Report): Promise<string> {
    return this.call('creating the VM', async (c) => {
      const { vbox } = c;
      const settingsFile = await vbox.composeMachineFilename(spec.name, '/', '', spec.baseFolder);
      let machine: VB.IMachine;
      if (c.platformApi) {
        // 7.1+: createMachine(settingsFile, name, platform, groups, osTypeId, flags, cipher, passwordId, password).
        // The package's typed method omits `platform`; gSOAP accepts the extra element.
        const raw = vbox as unknown as { __invoke(op: string, args: object): Promise<{ returnval: string }> };
        const res = await raw.__invoke('IVirtualBox_createMachine', {
          _this: ref(vbox),
          settingsFile,
          name: spec.name,
          platform: 'x86',
          groups: ['/'],
          osTypeId: 'Linux26_64',
          flags: '',
          cipher: '',
          passwordId: '',
          password: '',
        });
        machine = new c.soap.IMachine(clientOf(vbox), res.returnval);
      } else {
        machine = await vbox.createMachine(settingsFile, spec.name, ['/'], 'Linux26_64', '', '', '', '');
      }
      await machine.setMemorySize(spec.memoryMB);
      await machine.setCPUCount(spec.cpus);
      const boot = ['DVD', 'HardDisk', 'Null', 'Null'];
      for (let i = 0; i < boot.length; i++) await machine.setBootOrder(i + 1, en(boot[i]!));
      await this.configurePlatform(c, machine);
      const nic = await machine.getNetworkAdapter(0);
      await nic.setEnabled(true);
      await nic.setAttachmentType(en('NAT'));
      await nic.setAdapterType(en(ADAPTER_TYPES[spec.natNicType] ?? spec.natNicType));
      await nic.setCableConnected(true);
      const nat = await nic.getNATEngine();
      await nat.setDNSProxy(spec.dnsProxy);
      await nat.setDNSUseHostResolver(spec.hostDnsResolver);
      for (const f of spec.forwards) await nat.addRedirect(f.name, en(f.proto.toUpperCase()), f.hostIp, f.hostPort, f.guestIp, f.guestPort);
      if (spec.serialLog) {
        const port = await machine.getSerialPort(0);
        if (c.platformApi)
          await c.raw('ISerialPort_setIOAddress', [
            ['_this', ref(port)],
            ['IOAddress', 0x3f8],
          ]);
        else await port.setIOBase(0x3f8);
        await port.setIRQ(4);
        await port.setPath(spec.serialLog);
        await port.setHostMode(en('RawFile'));
        await port.setEnabled(true);
      }
      const sata = await machine.addStorageController('SATA', en('SATA'));
      await sata.setUseHostIOCache(true);
      await machine.saveSettings();
      await vbox.registerMachine(machine);
      const uuid = String(await machine.getId());
      spec.onRegistered?.(uuid);
      report(`Registered VM ${spec.name} (${uuid}) through the web service`);
      await c.withLock(uuid, 'Write', async (m) => {
        const iso = await vbox.openMedium(spec.isoPath, en('DVD'), en('ReadOnly'), false);
        await m.attachDevice('SATA', 0, 0, en('DVD'), iso);
        const disk = await vbox.openMedium(spec.diskPath, en('HardDisk'), en('ReadWrite'), false);
        await m.attachDevice('SATA', 1, 0, en('HardDisk'), disk);
        for (const s of spec.shares) {
          await m.createSharedFolder(s.name, s.hostPath, true, true, '');
          await m.setExtraData(`VBoxInternal2/SharedFoldersEnableSymlinksCreate/${s.name}`, '1');
        }
        if (spec.shares.length) {
          await m.setGuestProperty('/VirtualBox/GuestAdd/SharedFolders/MountPrefix', '/', '');
          await m.setGuestProperty('/VirtualBox/GuestAdd/SharedFolders/MountDir', '/', '');
        }
        await m.saveSettings();
      });
      return uuid;
    });
  }

  /** docker-machine's modifyvm settings that moved in 7.1 (IPlatform, IPlatformX86, IFirmwareSettings). */
  private async configurePlatform(c: SoapConnection, machine: VB.IMachine): Promise<void> {
    const hwvirt = ['Enabled', 'NestedPaging', 'LargePages', 'VPID'];
    if (!c.platformApi) {
      await machine.setFirmwareType(en('BIOS'));
      await machine.setRTCUseUTC(true);
      await machine.setHPETEnabled(true);
      await machine.setCPUProperty(en('PAE'), true);
      await machine.setCPUProperty(en('LongMode'), true);
      for (const p of hwvirt) await machine.setHWVirtExProperty(en(p), true);
      const bios = await machine.getBIOSSettings();
      await bios.setIOAPICEnabled(true);
      await bios.setACPIEnabled(true);
      await bios.setLogoFadeIn(false);
      await bios.setLogoFadeOut(false);
      await bios.setLogoDisplayTime(0);
      await bios.setBootMenuMode(en('Disabled'));
      return;
    }
    const m = ref(machine);
    const [platform] = await c.raw('IMachine_getPlatform', [['_this', m]]);
    await c.raw('IPlatform_setRTCUseUTC', [
      ['_this', platform!],
      ['RTCUseUTC', true],
    ]);
    const [x86] = await c.raw('IPlatform_getX86', [['_this', platform!]]);
    await c.raw('IPlatformX86_setHPETEnabled', [
      ['_this', x86!],
      ['HPETEnabled', true],
    ]);
    for (const p of ['PAE', 'LongMode'])
      await c.raw('IPlatformX86_setCPUProperty', [
        ['_this', x86!],
        ['property', p],
        ['value', true],
      ]);
    for (const p of hwvirt)
      await c.raw('IPlatformX86_setHWVirtExProperty', [
        ['_this', x86!],
        ['property', p],
        ['value', true],
      ]);
    const [fw] = await c.raw('IMachine_getFirmwareSettings', [['_this', m]]);
    // Attribute names exactly as the API spells them: gSOAP silently ignores an unknown element.
    const fwSet: [string, string | number | boolean][] = [
      ['firmwareType', 'BIOS'],
      ['IOAPICEnabled', true],
      ['ACPIEnabled', true],
      ['logoFadeIn', false],
      ['logoFadeOut', false],
      ['logoDisplayTime', 0],
      ['bootMenuMode', 'Disabled'],
    ];
    for (const [attr, value] of fwSet) {
      await c.raw(`IFirmwareSettings_set${attr.charAt(0).toUpperCase()}${attr.slice(1)}`, [
        ['_this', fw!],
        [attr, value],
      ]);
    }
  }

  async makeDisk(diskPath: string, head: Buffer, sizeMB: number, report: Report): Promise<void> {
    if (!this.vbm) {
      throw new MachineError('The soap backend needs VBoxManage to import the userdata disk, and it was not found', {
        fix: 'install VirtualBox on this machine (or set VBOX_MANAGE), or use --virtualbox-api vboxmanage',
      });
    }
    report('Importing the userdata disk with VBoxManage (the web service cannot write raw data into a disk)');
    // Convert with VBoxManage; grow through the web service (IMedium.resize).
    await makeDiskWithVBoxManage(this.vbm, await this.version(), diskPath, head, 1);
    await this.call('IMedium.resize', async (c) => {
      const medium = await c.vbox.openMedium(diskPath, en('HardDisk'), en('ReadWrite'), false);
      const size = sizeMB * 1024 * 1024;
      if (Number(await medium.getLogicalSize()) < size) await waitProgress(await medium.resize(size), 'IMedium.resize');
    });
  }

  async setForwards(vm: string, forwards: Forward[], running: boolean): Promise<void> {
    await this.call('changing port forwards', (c) =>
      c.withLock(vm, running ? 'Shared' : 'Write', async (m) => {
        const nat = await (await m.getNetworkAdapter(0)).getNATEngine();
        const have = new Map(
          (await opt(nat.getRedirects(), []))
            .map((r) => parseForward(String(r)))
            .filter((f): f is Forward => Boolean(f))
            .map((f) => [f.name, f]),
        );
        for (const f of forwards) {
          const h = have.get(f.name);
          if (
            h &&
            h.hostIp === f.hostIp &&
            h.hostPort === f.hostPort &&
            h.guestPort === f.guestPort &&
            h.guestIp === f.guestIp &&
            h.proto === f.proto
          )
            continue;
          if (h) await nat.removeRedirect(f.name);
          await nat.addRedirect(f.name, en(f.proto.toUpperCase()), f.hostIp, f.hostPort, f.guestIp, f.guestPort);
        }
        if (!running) await m.saveSettings();
      }),
    );
  }

  async deleteForwards(vm: string, names: string[], running: boolean): Promise<void> {
    await this.call('removing port forwards', (c) =>
      c.withLock(vm, running ? 'Shared' : 'Write', async (m) => {
        const nat = await (await m.getNetworkAdapter(0)).getNATEngine();
        const have = new Set((await opt(nat.getRedirects(), [])).map((r) => parseForward(String(r))?.name));
        for (const n of names) if (have.has(n)) await nat.removeRedirect(n);
        if (!running) await m.saveSettings();
      }),
    );
  }

  async attachHostOnly(vm: string, slot: number, a: HostOnlyAttachment): Promise<void> {
    await this.call('attaching the host-only network', (c) =>
      c.withLock(vm, 'Write', async (m) => {
        const nic = await m.getNetworkAdapter(slot - 1);
        await nic.setEnabled(true);
        if (a.kind === 'hostonlynet') {
          await nic.setAttachmentType(en('HostOnlyNetwork'));
          await nic.setHostOnlyNetwork(a.name);
        } else {
          await nic.setAttachmentType(en('HostOnly'));
          await nic.setHostOnlyInterface(a.name);
        }
        await nic.setAdapterType(en(ADAPTER_TYPES[a.nicType] ?? a.nicType));
        await nic.setPromiscModePolicy(en(PROMISC[a.promisc] ?? 'Deny'));
        await nic.setCableConnected(true);
        await m.saveSettings();
      }),
    );
  }

  async detachNic(vm: string, slot: number): Promise<void> {
    await this.call('detaching a NIC', (c) =>
      c.withLock(vm, 'Write', async (m) => {
        await (await m.getNetworkAdapter(slot - 1)).setEnabled(false);
        await m.saveSettings();
      }),
    );
  }

  async startVm(vm: string, uiType: string): Promise<void> {
    const c = await this.conn();
    const machine = await this.find(c, vm).catch((err) => {
      throw wrap(err, 'IVirtualBox.findMachine');
    });
    if (!machine) throw new VBoxError(`Could not find a registered machine named '${vm}'`, 'not-found', '');
    await c.serial(async (session) => {
      let progress: VB.IProgress;
      try {
        progress = await machine.launchVMProcess(session, uiType, []);
      } catch (err) {
        throw wrap(err, 'IMachine.launchVMProcess');
      }
      try {
        await waitProgress(progress, 'IMachine.launchVMProcess', 300_000);
      } finally {
        await session.unlockMachine().catch(() => undefined);
      }
    });
  }

  private async console<T>(vm: string, what: string, fn: (console: VB.IConsole) => Promise<T>): Promise<T> {
    return this.call(what, (c) => c.withLock(vm, 'Shared', async (_m, session) => fn(await session.getConsole())));
  }

  async resumeVm(vm: string): Promise<void> {
    await this.console(vm, 'IConsole.resume', (con) => con.resume());
  }

  async acpiPowerButton(vm: string): Promise<void> {
    await this.console(vm, 'IConsole.powerButton', (con) => con.powerButton());
  }

  async powerOff(vm: string): Promise<void> {
    await this.console(vm, 'IConsole.powerDown', async (con) => waitProgress(await con.powerDown(), 'IConsole.powerDown'));
  }

  async unregisterDelete(vm: string): Promise<'deleted' | 'absent'> {
    return this.call('deleting the VM', async (c) => {
      const machine = await this.find(c, vm);
      if (!machine) return 'absent';
      let media: VB.IMedium[];
      for (let attempt = 1; ; attempt++) {
        try {
          media = await machine.unregister(en('DetachAllReturnHardDisksOnly'));
          break;
        } catch (err) {
          // The session of a VM that just powered off stays locked for a moment.
          if (attempt < 25 && wrap(err, '').kind === 'locked') {
            await sleep(200);
            continue;
          }
          throw err;
        }
      }
      await waitProgress(await machine.deleteConfig(media), 'IMachine.deleteConfig');
      return 'deleted';
    });
  }

  async closeMedium(kind: 'disk' | 'dvd', file: string, deleteFile: boolean): Promise<void> {
    const c = await this.conn();
    let medium: VB.IMedium;
    try {
      medium = await c.vbox.openMedium(
        file,
        en(kind === 'disk' ? 'HardDisk' : 'DVD'),
        en(kind === 'disk' ? 'ReadWrite' : 'ReadOnly'),
        false,
      );
    } catch {
      return; // not there, or not a medium VirtualBox can open: nothing to forget
    }
    try {
      if (deleteFile && kind === 'disk') await waitProgress(await medium.deleteStorage(), 'IMedium.deleteStorage');
      else await medium.close();
    } catch (err) {
      throw wrap(err, 'closing a medium');
    }
  }

  // ----- host-only networking

  async listHostOnlyIfs(): Promise<HostOnlyIf[]> {
    return this.call('IHost.findHostNetworkInterfacesOfType', async (c) => {
      const host = await c.vbox.getHost();
      const ifs = await host.findHostNetworkInterfacesOfType(en('HostOnly'));
      return Promise.all(
        ifs.map(async (i) => {
          const [name, guid, dhcp, ip, mask, mac, status, networkName] = await Promise.all([
            i.getName(),
            opt(i.getId(), ''),
            i.getDHCPEnabled(),
            opt(i.getIPAddress(), ''),
            opt(i.getNetworkMask(), ''),
            opt(i.getHardwareAddress(), ''),
            i.getStatus(),
            i.getNetworkName(),
          ]);
          return {
            name: String(name),
            guid: String(guid),
            dhcp: Boolean(dhcp),
            ip: String(ip),
            mask: String(mask),
            mac: mac ? normalizeMac(String(mac)) : undefined,
            status: String(status),
            networkName: String(networkName),
          };
        }),
      );
    });
  }

  async createHostOnlyIf(): Promise<string | undefined> {
    return this.call('IHost.createHostOnlyNetworkInterface', async (c) => {
      const host = await c.vbox.getHost();
      const { hostInterface, returnval } = await host.createHostOnlyNetworkInterface();
      await waitProgress(returnval, 'IHost.createHostOnlyNetworkInterface', 180_000);
      return hostInterface ? String(await hostInterface.getName()) : undefined;
    });
  }

  async removeHostOnlyIf(name: string): Promise<void> {
    await this.call('IHost.removeHostOnlyNetworkInterface', async (c) => {
      const host = await c.vbox.getHost();
      const i = await host.findHostNetworkInterfaceByName(name);
      await waitProgress(
        await host.removeHostOnlyNetworkInterface(String(await i.getId())),
        'IHost.removeHostOnlyNetworkInterface',
        180_000,
      );
    });
  }

  async ipconfigHostOnlyIf(name: string, ip: string, mask: string): Promise<void> {
    await this.call('IHostNetworkInterface.enableStaticIPConfig', async (c) => {
      const host = await c.vbox.getHost();
      await (await host.findHostNetworkInterfaceByName(name)).enableStaticIPConfig(ip, mask);
    });
  }

  async listDhcpServers(): Promise<DhcpServer[]> {
    return this.call('IVirtualBox.getDHCPServers', async (c) => {
      const servers = await c.vbox.getDHCPServers();
      return Promise.all(
        servers.map(async (s) => {
          const [networkName, ip, mask, lower, upper, enabled] = await Promise.all([
            s.getNetworkName(),
            opt(s.getIPAddress(), ''),
            opt(s.getNetworkMask(), ''),
            opt(s.getLowerIP(), ''),
            opt(s.getUpperIP(), ''),
            s.getEnabled(),
          ]);
          return {
            networkName: String(networkName),
            ip: String(ip),
            mask: String(mask),
            lower: String(lower),
            upper: String(upper),
            enabled: Boolean(enabled),
          };
        }),
      );
    });
  }

  async putDhcpServer(s: DhcpServer, exists: boolean): Promise<void> {
    await this.call('configuring the DHCP server', async (c) => {
      const server = exists ? await c.vbox.findDHCPServerByNetworkName(s.networkName) : await c.vbox.createDHCPServer(s.networkName);
      await server.setConfiguration(s.ip, s.mask, s.lower, s.upper);
      await server.setEnabled(true);
    });
  }

  async listHostOnlyNets(): Promise<HostOnlyNet[]> {
    return this.call('IVirtualBox.getHostOnlyNetworks', async (c) => {
      const nets = await c.vbox.getHostOnlyNetworks();
      return Promise.all(
        nets.map(async (n) => {
          const [name, mask, lower, upper, enabled] = await Promise.all([
            n.getNetworkName(),
            opt(n.getNetworkMask(), ''),
            opt(n.getLowerIP(), ''),
            opt(n.getUpperIP(), ''),
            n.getEnabled(),
          ]);
          return { name: String(name), mask: String(mask), lower: String(lower), upper: String(upper), enabled: Boolean(enabled) };
        }),
      );
    });
  }

  async addHostOnlyNet(n: HostOnlyNet): Promise<void> {
    await this.call('IVirtualBox.createHostOnlyNetwork', async (c) => {
      const net = await c.vbox.createHostOnlyNetwork(n.name);
      await net.setNetworkMask(n.mask);
      await net.setLowerIP(n.lower);
      await net.setUpperIP(n.upper);
      await net.setEnabled(true);
    });
  }

  /** The web session is shared (sharedSoapConnection); closeSoapConnections logs it off. */
  async close(): Promise<void> {
    this.connection = undefined;
  }
}
