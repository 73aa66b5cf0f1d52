import type * as VB from 'virtualbox-soap';
import { MachineError } from '../../../core/errors.js';
import type { Report } from '../../driver.js';
import { errorKind, type HostOnlyAttachment, type VBoxBackend, VBoxError, type VmSpec } from '../backend.js';
import {
  type Forward,
  normalizeMac,
  parseForward,
  shortStateName,
  type StorageSlot,
  type VBoxVersion,
  type VmInfo,
  type VmRef,
} from '../parse.js';
import { PLATFORMS, type VmPlatform } from '../platform.js';
import { makeDiskWithVBoxManage, type VBoxManage } from '../vboxmanage.js';
import { ADAPTER_TYPES, ATTACHMENT_NAMES, BOOT_NAMES, en, PROMISC } from './enums.js';
import { SoapNetworkOps } from './network.js';
import { clientOf, opt, ref, type SoapConnection, waitProgress, wrap } from './transport.js';

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

export class SoapBackend extends SoapNetworkOps implements VBoxBackend {
  readonly kind = 'soap';
  readonly notes = ['the userdata disk is imported with VBoxManage convertfromraw (the web service cannot write raw data into a disk)'];

  constructor(
    connect: () => Promise<SoapConnection>,
    /** For what the web service cannot do (raw disk import). */
    private readonly vbm: VBoxManage | undefined,
  ) {
    super(connect);
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
    const platform = PLATFORMS[spec.arch];
    return this.call('creating the VM', async (c) => {
      const { vbox } = c;
      if (platform.vbox === 'ARM' && !c.platformApi) {
        throw new MachineError('This VirtualBox web service runs no ARM VMs (its API is older than 7.1)', {
          fix: 'install VirtualBox 7.1 or later, or create the machine with -d qemu',
        });
      }
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
          platform: platform.vbox,
          groups: ['/'],
          osTypeId: platform.osType,
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
      await this.configurePlatform(c, machine, platform);
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
      const ctl = platform.controller;
      const controller = await machine.addStorageController(ctl.name, en(ctl.bus));
      if (ctl.type) await controller.setControllerType(en(ctl.type));
      if (ctl.portCount) await controller.setPortCount(ctl.portCount);
      await controller.setUseHostIOCache(true);
      await machine.saveSettings();
      await vbox.registerMachine(machine);
      const uuid = String(await machine.getId());
      spec.onRegistered?.(uuid);
      report(`Registered VM ${spec.name} (${uuid}) through the web service`);
      await c.withLock(uuid, 'Write', async (m) => {
        const iso = await vbox.openMedium(spec.isoPath, en('DVD'), en('ReadOnly'), false);
        await m.attachDevice(ctl.name, 0, 0, en('DVD'), iso);
        const disk = await vbox.openMedium(spec.diskPath, en('HardDisk'), en('ReadWrite'), false);
        await m.attachDevice(ctl.name, 1, 0, en('HardDisk'), disk);
        // An SSD that takes TRIM: what the guest frees (fstrim) shrinks the VDI.
        await m.nonRotationalDevice(ctl.name, 1, 0, true);
        await m.setAutoDiscardForDevice(ctl.name, 1, 0, true);
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

  /**
   * docker-machine's modifyvm settings that moved in 7.1 (IPlatform, IPlatformX86, IFirmwareSettings);
   * for ARM what the vboxmanage backend sets (platform.ts): EFI, QemuRamFB, no input devices.
   */
  private async configurePlatform(c: SoapConnection, machine: VB.IMachine, vmPlatform: VmPlatform): Promise<void> {
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
    // Attribute names exactly as the API spells them: gSOAP silently ignores an unknown element.
    const setFirmware = async (settings: [string, string | number | boolean][]) => {
      const [fw] = await c.raw('IMachine_getFirmwareSettings', [['_this', m]]);
      for (const [attr, value] of settings) {
        await c.raw(`IFirmwareSettings_set${attr.charAt(0).toUpperCase()}${attr.slice(1)}`, [
          ['_this', fw!],
          [attr, value],
        ]);
      }
    };
    if (vmPlatform.vbox === 'ARM') {
      // createMachine with platform ARM already gave the armv8virtual chipset.
      await setFirmware([
        ['firmwareType', 'EFI'],
        ['ACPIEnabled', true],
      ]);
      await (await machine.getGraphicsAdapter()).setGraphicsControllerType(en('QemuRamFB'));
      await machine.setPointingHIDType(en('None'));
      await machine.setKeyboardHIDType(en('None'));
      return;
    }
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
    await setFirmware([
      ['firmwareType', 'BIOS'],
      ['IOAPICEnabled', true],
      ['ACPIEnabled', true],
      ['logoFadeIn', false],
      ['logoFadeOut', false],
      ['logoDisplayTime', 0],
      ['bootMenuMode', 'Disabled'],
    ]);
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
      // Locked right after a power-off: the driver tries again (remove()).
      const media = await machine.unregister(en('DetachAllReturnHardDisksOnly'));
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
}
