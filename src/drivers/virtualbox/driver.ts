import { promises as fs } from 'node:fs';
import path from 'node:path';
import { type GuestArch, machineArch } from '../../core/arch.js';
import { MachineError } from '../../core/errors.js';
import { portIsFree } from '../../core/ports.js';
import { poll, timedOut } from '../../core/wait.js';
import type { BaseDriverConfig } from '../../store/config.js';
import { imageUsage } from '../disk.js';
import type {
  DiskSpec,
  DiskUsage,
  Driver,
  DriverEnv,
  Endpoint,
  Forward as PortForward,
  GuestMount,
  MachineState,
  PortForwarder,
  Report,
} from '../driver.js';
import { chooseForwardPorts } from '../ports.js';
import { type VBoxBackend, VBoxError } from './backend.js';
import { checkArmVersion } from './arch.js';
import { checkVersion, checkVirtualization, kernelDriverWarning } from './checks.js';
import { VBoxConnector } from './connect.js';
import { explainStartFailure, VTX_ERROR, vtxFix } from './diagnose.js';
import { type System, realSystem } from '../../core/system.js';
import { findSibling } from './hostenv.js';
import { checkHostOnly, repairAdapter, setupHostOnly } from './network.js';
import { type Forward, machineState, parseIpForMac, type VBoxVersion, type VmInfo, vtxProblemInLog } from './parse.js';
import { resolveShares, type Share, sharesFromConfig } from './shares.js';
import type { VBoxManage } from './vboxmanage.js';
import { avoidOwnWebService } from './websrv.js';

/**
 * config.json "Driver" of a VirtualBox machine: docker-machine's fields with docker-machine's names
 * (docker/machine drivers/virtualbox/virtualbox.go, the Driver struct), so stores move both ways, then ours.
 */
export interface VirtualBoxConfig extends BaseDriverConfig {
  VBoxManager: Record<string, never>;
  HostInterfaces: Record<string, never>;
  CPU: number;
  Memory: number;
  DiskSize: number;
  NatNicType: string;
  Boot2DockerURL: string;
  Boot2DockerImportVM: string;
  HostDNSResolver: boolean;
  HostOnlyCIDR: string;
  HostOnlyNicType: string;
  HostOnlyPromiscMode: string;
  UIType: string;
  HostOnlyNoDHCP: boolean;
  NoShare: boolean;
  DNSProxy: boolean;
  NoVTXCheck: boolean;
  ShareFolder: string;
  // Ours (absent from machines docker-machine created):
  /** Host port on 127.0.0.1 forwarded to the guest's 2376; 0 for docker-machine machines not yet started by us. */
  DockerPort?: number;
  NoHostOnly?: boolean;
  API?: 'vboxmanage' | 'soap';
  /** --virtualbox-soap-url without credentials: the driver moves them out when it loads the config. */
  SoapURL?: string;
  /** Its user; the password is in <machine dir>/soap-password (0600). */
  SoapUser?: string;
  VBoxManagePath?: string;
  /** The VM we registered: '' until create registers it (then remove() never touches a VM of that name). */
  UUID?: string;
  DiskPath?: string;
  Shares?: Share[];
  /** --share folders, in addition to the default share. */
  ExtraShares?: Share[];
  /** Seconds between the ACPI power button and the hard power-off in stop(). */
  StopTimeout?: number;
  /** The VM's architecture, the host's own (arm64 on Apple Silicon); absent in older stores: amd64. */
  Arch?: GuestArch;
}

export interface VirtualBoxDriverOptions {
  host?: System;
  /** A ready backend (tests); otherwise made from the config on first use. */
  backend?: VBoxBackend;
  pollIntervalMs?: number;
}

const STOPPED = new Set(['poweroff', 'aborted', 'saved', 'aborted-saved', 'teleported']);

export class VirtualBoxDriver implements Driver, PortForwarder {
  readonly name = 'virtualbox';
  readonly host: System;
  private readonly connector: VBoxConnector;
  private readonly pollMs: number;

  constructor(
    readonly config: VirtualBoxConfig,
    private readonly env: DriverEnv,
    opts: VirtualBoxDriverOptions = {},
  ) {
    this.host = opts.host ?? realSystem();
    this.connector = new VBoxConnector(config, this.host, env, opts.backend);
    this.pollMs = opts.pollIntervalMs ?? 500;
  }

  /** The VM: by the UUID we registered, by name for machines docker-machine created. */
  get vm(): string {
    return this.config.UUID || this.config.MachineName;
  }

  private file(name: string): string {
    return path.join(this.env.machineDir, name);
  }

  get diskPath(): string {
    return this.config.DiskPath || this.file('disk.vdi');
  }

  get arch(): GuestArch {
    return machineArch(this.config);
  }

  get isoPath(): string {
    return this.file('boot2docker.iso');
  }

  /** The forwarder lives long: it must not keep a web service of its own (VBoxManage does the same work). */
  forBackground(): void {
    avoidOwnWebService();
  }

  consoleLog(): string {
    return this.file('serial.log');
  }

  /** The VDI grows as the guest writes and shrinks when it trims (attached with --discard on). */
  diskUsage(): Promise<DiskUsage | undefined> {
    return imageUsage(this.diskPath, this.config.DiskSize > 0 ? this.config.DiskSize * 1024 * 1024 : undefined);
  }

  // ----- backends

  vboxManage(): Promise<VBoxManage> {
    return this.connector.vboxManage();
  }

  backend(): Promise<VBoxBackend> {
    return this.connector.backend();
  }

  // ----- checks and creation

  async preCreateCheck(report: Report): Promise<void> {
    const be = await this.backend();
    let info: { version: VBoxVersion; api: string };
    try {
      info = await be.version();
    } catch (err) {
      if (err instanceof MachineError) throw err; // says what and how to fix (the web service's logon)
      throw new MachineError(`VirtualBox does not answer: ${(err as Error).message}`, {
        exitCode: 3,
        fix: 'check that VirtualBox works ("VBoxManage list vms"), or reinstall it',
      });
    }
    for (const w of checkVersion(info.version, info.version.raw)) report(w);
    if (this.arch === 'arm64') checkArmVersion(info.version);
    const via = be.kind === 'soap' ? 'its web service' : (await this.vboxManage()).file;
    report(`VirtualBox ${info.version.raw} (API ${info.api}) through ${via}`);
    if (be.kind === 'vboxmanage') {
      const banner = (await this.vboxManage()).banner;
      if (banner) report(`VBoxManage says: ${banner}`);
    }
    const driverWarning = await kernelDriverWarning(this.host);
    if (driverWarning) report(driverWarning);
    if (!this.config.NoVTXCheck) {
      const hwVirt = await be.hostHwVirt().catch(() => undefined);
      for (const w of (await checkVirtualization(this.host, info.version, hwVirt)).warnings) report(w);
    }
    if (!this.config.NoHostOnly) await checkHostOnly(be, this.host, this.config, info.version, report);
    const existing = await be.vmInfo(this.config.MachineName);
    if (existing) {
      throw new MachineError(`VirtualBox already has a VM named "${this.config.MachineName}" (${existing.cfgFile})`, {
        exitCode: 3,
        fix: `choose another machine name, or delete that VM ("VBoxManage unregistervm ${this.config.MachineName} --delete")`,
      });
    }
  }

  private forwards(): Forward[] {
    return [
      { name: 'ssh', proto: 'tcp', hostIp: '127.0.0.1', hostPort: this.config.SSHPort, guestIp: '', guestPort: 22 },
      { name: 'docker', proto: 'tcp', hostIp: '127.0.0.1', hostPort: this.config.DockerPort ?? 0, guestIp: '', guestPort: 2376 },
    ];
  }

  async create(disk: DiskSpec, report: Report): Promise<void> {
    const be = await this.backend();
    this.config.Shares = await resolveShares(this.config, this.host.platform, report);
    if (this.config.Shares.length && !this.mountsShares) report(NO_VBOXSF);
    await chooseForwardPorts(this.config, report);
    this.config.DiskPath = this.file('disk.vdi');
    report(`Creating the ${this.config.DiskSize} MB userdata disk`);
    await be.makeDisk(this.diskPath, disk.head, this.config.DiskSize, report);
    report(`Registering VM "${this.config.MachineName}"`);
    const cpus = this.config.CPU < 1 ? this.host.cpus : this.config.CPU;
    this.config.UUID = await be.createVm(
      {
        name: this.config.MachineName,
        arch: this.arch,
        baseFolder: this.env.machineDir,
        memoryMB: this.config.Memory,
        cpus: Math.min(cpus, 32),
        natNicType: this.config.NatNicType || '82540EM',
        dnsProxy: this.config.DNSProxy,
        hostDnsResolver: this.config.HostDNSResolver,
        forwards: this.forwards(),
        isoPath: disk.isoPath,
        diskPath: this.diskPath,
        shares: this.config.Shares.map((s) => ({ name: s.Name, hostPath: s.HostPath })),
        serialLog: this.consoleLog(),
        onRegistered: (uuid) => {
          this.config.UUID = uuid;
        },
      },
      report,
    );
  }

  // ----- lifecycle

  private async info(): Promise<VmInfo> {
    const info = await (await this.backend()).vmInfo(this.vm);
    if (!info) throw this.notExist();
    return info;
  }

  private notExist(): MachineError {
    return new MachineError(`machine does not exist: VirtualBox has no VM "${this.config.MachineName}"`, {
      fix: `remove it with "machine rm -f ${this.config.MachineName}" and create it again`,
    });
  }

  async state(): Promise<MachineState> {
    if (this.config.UUID === '') throw this.notExist();
    const s = await (await this.backend()).vmState(this.vm);
    if (s === undefined) throw this.notExist();
    return machineState(s);
  }

  /** Wait while VirtualBox is between states (starting, stopping, saving...). */
  private async settled(): Promise<VmInfo> {
    return poll(
      async () => {
        const info = await this.info();
        const s = machineState(info.state);
        return s === 'Starting' || s === 'Stopping' ? undefined : info;
      },
      // Only the state is waited for: an error (no such VM, VirtualBox not answering) is final.
      {
        timeoutMs: 60_000,
        intervalMs: this.pollMs,
        what: `VM "${this.config.MachineName}" to finish starting or stopping`,
        fatal: () => true,
      },
    );
  }

  async start(report: Report): Promise<void> {
    const be = await this.backend();
    const info = await this.settled();
    const state = machineState(info.state);
    if (state === 'Running') return;
    if (state === 'Paused') {
      report('Resuming the VM');
      await be.resumeVm(this.vm);
      return;
    }
    if (state === 'Error') {
      throw new MachineError(`VM "${this.config.MachineName}" is stuck (${info.state})`, {
        fix: `power it off with "machine kill ${this.config.MachineName}", then start it`,
      });
    }
    const hostOnly =
      state === 'Stopped' && !this.config.NoHostOnly ? await setupHostOnly(be, this.host, this.config, this.vm, info, report) : undefined;
    await chooseForwardPorts(this.config, report);
    try {
      await be.setForwards(this.vm, this.forwards(), false);
    } catch (err) {
      // A saved VM keeps its hardware: its forwards change once it runs.
      if (state !== 'Saved') throw err;
    }
    const t0 = Date.now();
    try {
      await be.startVm(this.vm, this.config.UIType || 'headless');
    } catch (err) {
      const message = err instanceof VBoxError ? err.detail || err.message : (err as Error).message;
      const vbm = await this.vboxManage().catch(() => undefined);
      const frontend = vbm ? await findSibling(this.host, vbm.file, 'VBoxHeadless', 'VBOX_HEADLESS') : undefined;
      throw await explainStartFailure({ host: this.host, machine: this.config.MachineName, message, logFolder: info.logFolder, frontend });
    }
    report(`VirtualBox started the VM in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
    if (state === 'Saved') await be.setForwards(this.vm, this.forwards(), true).catch(() => undefined);
    if (hostOnly?.kind === 'hostonlyif' && this.host.platform === 'win32')
      await repairAdapter(be, hostOnly.name, this.config.HostOnlyCIDR, report);
    this.config.IPAddress = '';
    if (!this.config.NoVTXCheck && info.logFolder) {
      const log = await this.host.readFile(path.join(info.logFolder, 'VBox.log'));
      const vtx = log ? vtxProblemInLog(log) : undefined;
      if (vtx) {
        await be.powerOff(this.vm).catch(() => undefined);
        throw new MachineError(`${VTX_ERROR} (VBox.log: ${vtx})`, { fix: vtxFix(this.host.platform) });
      }
    }
  }

  async stop(report: Report): Promise<void> {
    const be = await this.backend();
    let state = machineState((await this.info()).state);
    if (state === 'Paused') {
      report('Resuming the VM so that it can shut down');
      await be.resumeVm(this.vm);
      state = 'Running';
    }
    if (state !== 'Running' && state !== 'Starting') return;
    report('Sending the ACPI power button');
    await be.acpiPowerButton(this.vm);
    const timeoutMs = (this.config.StopTimeout ?? 60) * 1000;
    // Only the timeout leads to the hard power-off: an error reading the VM, or an abort, ends stop.
    const stopped = await poll(async () => (STOPPED.has((await this.info()).state) ? true : undefined), {
      timeoutMs,
      intervalMs: this.pollMs,
      maxIntervalMs: this.pollMs,
      signal: this.env.signal,
      what: `VM "${this.config.MachineName}" to power off`,
      fatal: () => true,
    }).catch(timedOut(false));
    if (!stopped) {
      report(`The VM did not power off within ${timeoutMs / 1000}s; turning it off`);
      await this.kill();
    }
    this.config.IPAddress = '';
  }

  async kill(): Promise<void> {
    const be = await this.backend();
    try {
      await be.powerOff(this.vm);
    } catch (err) {
      if (err instanceof VBoxError && (err.kind === 'not-running' || err.kind === 'not-found')) return;
      // It may have stopped between our look and the call.
      const s = await be.vmState(this.vm).catch(() => undefined);
      if (s === undefined || STOPPED.has(s)) return;
      throw err;
    }
  }

  async remove(): Promise<void> {
    // Registered by us (UUID), or by docker-machine (name); '' means create never registered one.
    if (this.config.UUID !== '') {
      const be = await this.backend();
      // A VM whose files are gone is "inaccessible": showvminfo fails, unregistervm still works.
      const info = await be.vmInfo(this.vm).catch(() => 'unreadable' as const);
      if (info) {
        if (info === 'unreadable' || !STOPPED.has(info.state)) await this.kill().catch(() => undefined);
        // The session of a VM that just powered off stays locked for a moment: retry while it is.
        await poll(() => be.unregisterDelete(this.vm), {
          timeoutMs: 30_000,
          intervalMs: 200,
          what: `VirtualBox to release VM "${this.config.MachineName}"`,
          fatal: (e) => !(e instanceof VBoxError && e.kind === 'locked'),
        });
      }
    }
    await this.removeLeftovers();
  }

  /** What unregistervm --delete leaves: a disk never attached, the ISO in the media registry, the VM folder. */
  private async removeLeftovers(): Promise<void> {
    const be = await this.backend().catch(() => undefined);
    if (this.config.DiskPath !== undefined) {
      // Ours (VDI); forget it even when its file is gone, or VirtualBox lists it as inaccessible.
      await be?.closeMedium('disk', this.diskPath, true).catch(() => undefined);
      await fs.rm(this.diskPath, { force: true });
      await fs.rm(`${this.diskPath}.raw`, { force: true });
    }
    await be?.closeMedium('dvd', this.isoPath, false).catch(() => undefined);
    await fs.rm(this.file(this.config.MachineName), { recursive: true, force: true });
  }

  // ----- addresses

  sshEndpoint(): Endpoint {
    return { host: '127.0.0.1', port: this.config.SSHPort };
  }

  async dockerEndpoint(): Promise<Endpoint> {
    // Ours: the 127.0.0.1 forward (port 0 until create chooses it; certificates only need the host).
    if (this.config.DockerPort !== undefined) return { host: '127.0.0.1', port: this.config.DockerPort };
    // A docker-machine machine we have not started yet: its daemon is on the host-only address.
    return { host: await this.ip(), port: 2376 };
  }

  /** docker-machine's GetIP: NIC2's MAC looked up in the guest's `ip addr show`, over SSH. */
  async ip(): Promise<string> {
    if (this.config.NoHostOnly) return '127.0.0.1';
    const info = await this.info();
    if (machineState(info.state) !== 'Running') throw new MachineError('Host is not running');
    const nic = info.nics.find((n) => (n.attachment === 'hostonly' || n.attachment === 'hostonlynetwork') && n.mac);
    if (!nic)
      throw new MachineError('Machine does not have a host-only adapter', {
        fix: `restart it ("machine restart ${this.config.MachineName}") to attach one`,
      });
    const guest = this.env.guest;
    if (!guest) {
      if (this.config.IPAddress) return this.config.IPAddress;
      throw new MachineError('The host-only address is only known over SSH, which is not available here');
    }
    const ip = await poll(async () => parseIpForMac(await guest('ip addr show'), nic.mac!), {
      timeoutMs: 20_000,
      intervalMs: 1000,
      what: `an address on the host-only interface (MAC ${nic.mac})`,
      fix: this.config.HostOnlyNoDHCP
        ? 'the host-only network has no DHCP server for this machine (--virtualbox-hostonly-no-dhcp)'
        : undefined,
      signal: this.env.signal,
    });
    this.config.IPAddress = ip;
    return ip;
  }

  async certHosts(): Promise<string[]> {
    if (this.config.NoHostOnly) return [];
    try {
      if (this.config.UUID !== '' && this.env.guest && (await this.state()) === 'Running') return [await this.ip()];
    } catch {
      // not created or not running yet: the last known address, if any
    }
    return this.config.IPAddress && this.config.IPAddress !== '127.0.0.1' ? [this.config.IPAddress] : [];
  }

  /** VirtualBox NAT: 10.0.2.2 is the host's loopback, as with QEMU. */
  hostAddress(): string {
    return '10.0.2.2';
  }

  /** A published container port: a NAT rule added to the running VM (VBoxManage controlvm natpf1). */
  async addForward(f: PortForward): Promise<void> {
    // VirtualBox accepts a rule whose port is taken and only logs the failure: check first.
    if (!(await portIsFree(f.hostPort))) {
      throw new MachineError(`Cannot forward 127.0.0.1:${f.hostPort} (${f.proto}) to the machine: the port is in use`, {
        fix: 'publish another port',
      });
    }
    const rule: Forward = {
      name: forwardName(f),
      proto: f.proto,
      hostIp: '127.0.0.1',
      hostPort: f.hostPort,
      guestIp: '',
      guestPort: f.guestPort,
    };
    await (await this.backend()).setForwards(this.vm, [rule], true);
  }

  async removeForward(f: PortForward): Promise<void> {
    await (await this.backend()).deleteForwards(this.vm, [forwardName(f)], true);
  }

  /** The arm64 ISO has no vboxsf: Linux builds VirtualBox's guest drivers (vboxguest, vboxsf) for x86 only. */
  private get mountsShares(): boolean {
    return this.arch === 'amd64';
  }

  guestMounts(): GuestMount[] {
    if (!this.mountsShares) return [];
    const shares = this.config.Shares ?? sharesFromConfig(this.config, this.host.platform);
    return shares.map((s) => ({ type: 'vboxsf', source: s.Name, target: s.GuestPath }));
  }
}

const NO_VBOXSF =
  'The arm64 ISO has no vboxsf (Linux builds it for x86 only): the shared folders are in the VM but not mounted in the machine';

/** The NAT rule name of a published container port. */
const forwardName = (f: PortForward) => `docker-${f.proto}-${f.hostPort}`;
