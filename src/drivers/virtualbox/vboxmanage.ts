import { promises as fs } from 'node:fs';
import type { Exec, ExecResult } from '../../core/system.js';
import { sleep } from '../../core/wait.js';
import { errorKind, type HostOnlyAttachment, type VBoxBackend, VBoxError, type VmSpec } from './backend.js';
import { PLATFORMS } from './platform.js';
import {
  apiVersionOf,
  type DhcpServer,
  errorLines,
  type Forward,
  formatForward,
  hasError,
  type HostOnlyNet,
  isMachineNotFound,
  isTransient,
  parseCreatedHostOnlyIf,
  parseCreatedVmUuid,
  parseDhcpServers,
  parseHostInfo,
  parseHostOnlyIfs,
  parseHostOnlyNets,
  parseListVms,
  parseVersion,
  stripWrapperBanner,
  type VBoxVersion,
  versionAtLeast,
  type VmInfo,
  vmInfoFromMachineReadable,
} from './parse.js';

export interface VBoxManageOptions {
  /** Attempts for VirtualBox's transient errors ("The object is not ready", a lock held a moment). */
  attempts?: number;
  retryDelayMs?: number;
  /** Called with every argv (tests, debugging). */
  trace?: (args: string[], result: ExecResult, ms: number) => void;
}

/**
 * VBoxManage, called the way docker-machine's vbm.go did, with its faults fixed: the wrapper's
 * stdout banner is dropped, "error:" on stderr is a failure even with exit code 0, transient errors
 * are retried, and failures are one line.
 */
export class VBoxManage {
  /** The wrapper banner, when one was seen ("The character device /dev/vboxdrv does not exist."). */
  banner: string | undefined;
  private readonly attempts: number;
  private readonly retryDelayMs: number;

  constructor(
    readonly file: string,
    private readonly exec: Exec,
    private readonly opts: VBoxManageOptions = {},
  ) {
    this.attempts = opts.attempts ?? 6;
    this.retryDelayMs = opts.retryDelayMs ?? 100;
  }

  /** Run and return the cleaned result, without judging it. */
  async call(args: string[], opts: { input?: Buffer | string; timeoutMs?: number } = {}): Promise<ExecResult> {
    for (let attempt = 1; ; attempt++) {
      const t0 = Date.now();
      const raw = await this.exec(this.file, args, { input: opts.input, timeoutMs: opts.timeoutMs ?? 120_000 });
      const { stdout, banner } = stripWrapperBanner(raw.stdout);
      if (banner) this.banner = banner;
      const res = { ...raw, stdout };
      this.opts.trace?.(args, res, Date.now() - t0);
      if (attempt < this.attempts && !res.spawnError && isTransient(res.stderr) && (res.exitCode !== 0 || hasError(res.stderr))) {
        await sleep(this.retryDelayMs * 2 ** (attempt - 1));
        continue;
      }
      return res;
    }
  }

  /** Run; stdout on success, VBoxError on failure (exit code, or "error:" on stderr). */
  async run(args: string[], opts: { input?: Buffer | string; timeoutMs?: number } = {}): Promise<string> {
    const res = await this.call(args, opts);
    if (res.spawnError) {
      throw new VBoxError(`Could not run ${this.file}: ${res.spawnError}`, 'failed', res.spawnError);
    }
    if (res.timedOut) throw new VBoxError(`VBoxManage ${args.join(' ')} did not finish in time`, 'failed', res.stderr);
    if (res.exitCode !== 0 || hasError(res.stderr)) {
      const detail = `${res.stderr}\n${res.stdout}`;
      // The first error line, and the next one when it says why ("VBoxNetAdpCtl: ... /dev/vboxnetctl"),
      // but not the build-path noise of "Error code VERR_... at /build/...".
      const lines = errorLines(res.stderr).filter((l) => !/^Error code \S+ at \//.test(l));
      const said = lines.slice(0, 2).join(': ') || res.stderr.trim().split('\n').pop() || `exit code ${res.exitCode}`;
      throw new VBoxError(`VBoxManage ${args.slice(0, 2).join(' ')} failed: ${said}`, errorKind(detail), detail);
    }
    return res.stdout;
  }
}

/** The `vboxmanage` backend: every operation is one or a few VBoxManage calls. */
export class VBoxManageBackend implements VBoxBackend {
  readonly kind = 'vboxmanage';
  readonly notes: string[] = [];
  private versionCache: { version: VBoxVersion; api: string } | undefined;

  constructor(readonly vbm: VBoxManage) {}

  async version(): Promise<{ version: VBoxVersion; api: string }> {
    if (this.versionCache) return this.versionCache;
    const out = await this.vbm.run(['--version']);
    const version = parseVersion(out);
    if (!version) throw new VBoxError(`VBoxManage --version printed "${out.trim()}", not a version`, 'failed', out);
    this.versionCache = { version, api: apiVersionOf(version) };
    return this.versionCache;
  }

  async hostHwVirt(): Promise<boolean | undefined> {
    return parseHostInfo(await this.vbm.run(['list', 'hostinfo'])).hwVirt;
  }

  async vmInfo(vm: string): Promise<VmInfo | undefined> {
    try {
      return vmInfoFromMachineReadable(await this.vbm.run(['showvminfo', vm, '--machinereadable']));
    } catch (err) {
      if (err instanceof VBoxError && (err.kind === 'not-found' || isMachineNotFound(err.detail))) return undefined;
      throw err;
    }
  }

  async vmState(vm: string): Promise<string | undefined> {
    return (await this.vmInfo(vm))?.state;
  }

  async listVms() {
    return parseListVms(await this.vbm.run(['list', 'vms']));
  }

  async createVm(spec: VmSpec): Promise<string> {
    const platform = PLATFORMS[spec.arch];
    const arm = platform.vbox === 'ARM';
    // x86 is createvm's default: the x86 calls stay docker-machine's, word for word.
    const out = await this.vbm.run([
      'createvm',
      '--basefolder',
      spec.baseFolder,
      '--name',
      spec.name,
      ...(arm ? ['--platform-architecture', 'arm'] : []),
      '--register',
    ]);
    const uuid = parseCreatedVmUuid(out);
    if (!uuid) throw new VBoxError(`VBoxManage createvm did not print the new VM's UUID`, 'failed', out);
    spec.onRegistered?.(uuid);
    const onOff = (b: boolean) => (b ? 'on' : 'off');
    // docker-machine's modifyvm line, plus the NIC, forwards, boot order and serial port in the same call.
    // ARM: EFI, none of the x86 chipset and CPU settings (it refuses most of them), no display or input devices.
    const args = [
      'modifyvm',
      uuid,
      ...(arm
        ? ['--chipset', 'armv8virtual', '--firmware', 'efi']
        : [
            '--firmware',
            'bios',
            '--bioslogofadein',
            'off',
            '--bioslogofadeout',
            'off',
            '--bioslogodisplaytime',
            '0',
            '--biosbootmenu',
            'disabled',
          ]),
      '--ostype',
      platform.osType,
      '--cpus',
      String(spec.cpus),
      '--memory',
      String(spec.memoryMB),
      '--acpi',
      'on',
      ...(arm ? [] : ['--ioapic', 'on']),
      '--rtcuseutc',
      'on',
      '--natdnshostresolver1',
      onOff(spec.hostDnsResolver),
      '--natdnsproxy1',
      onOff(spec.dnsProxy),
      '--cpuhotplug',
      'off',
      ...(arm
        ? ['--graphicscontroller', 'qemuramfb', '--mouse', 'none', '--keyboard', 'none']
        : ['--pae', 'on', '--hpet', 'on', '--hwvirtex', 'on', '--nestedpaging', 'on', '--largepages', 'on', '--vtxvpid', 'on']),
      '--accelerate3d',
      'off',
      '--boot1',
      'dvd',
      '--boot2',
      'disk',
      '--boot3',
      'none',
      '--boot4',
      'none',
      '--nic1',
      'nat',
      '--nictype1',
      spec.natNicType,
      '--cableconnected1',
      'on',
    ];
    for (const f of spec.forwards) args.push('--natpf1', formatForward(f));
    // ARM: VirtualBox makes serial port 1 a PL011 (the guest's ttyAMA0); the I/O base is x86's word for it.
    if (spec.serialLog) args.push('--uart1', '0x3F8', '4', '--uartmode1', 'file', spec.serialLog);
    await this.vbm.run(args);
    const ctl = platform.controller.name;
    await this.vbm.run(['storagectl', uuid, '--name', ctl, ...platform.controller.storagectl, '--hostiocache', 'on']);
    const attach = (port: number, type: 'dvddrive' | 'hdd', medium: string, extra: string[] = []) =>
      this.vbm.run([
        'storageattach',
        uuid,
        '--storagectl',
        ctl,
        '--port',
        String(port),
        '--device',
        '0',
        '--type',
        type,
        '--medium',
        medium,
        ...extra,
      ]);
    await attach(0, 'dvddrive', spec.isoPath);
    // An SSD that takes TRIM: what the guest frees (fstrim) shrinks the VDI.
    await attach(1, 'hdd', spec.diskPath, ['--nonrotational', 'on', '--discard', 'on']);
    for (const share of spec.shares) {
      await this.vbm.run(['sharedfolder', 'add', uuid, '--name', share.name, '--hostpath', share.hostPath, '--automount']);
      await this.vbm.run(['setextradata', uuid, `VBoxInternal2/SharedFoldersEnableSymlinksCreate/${share.name}`, '1']);
    }
    if (spec.shares.length) {
      // For guests whose VBoxService automounts: mount shares at /<name>, as docker-machine set it.
      await this.vbm.run(['guestproperty', 'set', uuid, '/VirtualBox/GuestAdd/SharedFolders/MountPrefix', '/']);
      await this.vbm.run(['guestproperty', 'set', uuid, '/VirtualBox/GuestAdd/SharedFolders/MountDir', '/']);
    }
    return uuid;
  }

  async makeDisk(diskPath: string, head: Buffer, sizeMB: number): Promise<void> {
    await makeDiskWithVBoxManage(this.vbm, await this.version(), diskPath, head, sizeMB);
  }

  async setForwards(vm: string, forwards: Forward[], running: boolean): Promise<void> {
    const info = await this.vmInfo(vm);
    const have = new Map((info?.forwards ?? []).map((f) => [f.name, formatForward(f)]));
    const changes: string[][] = [];
    for (const f of forwards) {
      const rule = formatForward(f);
      if (have.get(f.name) === rule) continue;
      if (have.has(f.name)) changes.push(['delete', f.name]);
      changes.push([rule]);
    }
    if (!changes.length) return;
    if (running) {
      for (const c of changes) await this.vbm.run(['controlvm', vm, 'natpf1', ...c]);
    } else {
      await this.vbm.run(['modifyvm', vm, ...changes.flatMap((c) => ['--natpf1', ...c])]);
    }
  }

  async deleteForwards(vm: string, names: string[], running: boolean): Promise<void> {
    const have = new Set(((await this.vmInfo(vm))?.forwards ?? []).map((f) => f.name));
    const gone = names.filter((n) => have.has(n));
    if (!gone.length) return;
    if (running) for (const n of gone) await this.vbm.run(['controlvm', vm, 'natpf1', 'delete', n]);
    else await this.vbm.run(['modifyvm', vm, ...gone.flatMap((n) => ['--natpf1', 'delete', n])]);
  }

  async attachHostOnly(vm: string, slot: number, a: HostOnlyAttachment): Promise<void> {
    const n = String(slot);
    const which =
      a.kind === 'hostonlynet'
        ? [`--nic${n}`, 'hostonlynet', `--host-only-net${n}`, a.name]
        : [`--nic${n}`, 'hostonly', `--hostonlyadapter${n}`, a.name];
    await this.vbm.run(['modifyvm', vm, ...which, `--nictype${n}`, a.nicType, `--nicpromisc${n}`, a.promisc, `--cableconnected${n}`, 'on']);
  }

  async detachNic(vm: string, slot: number): Promise<void> {
    await this.vbm.run(['modifyvm', vm, `--nic${slot}`, 'none']);
  }

  async startVm(vm: string, uiType: string): Promise<void> {
    await this.vbm.run(['startvm', vm, '--type', uiType], { timeoutMs: 300_000 });
  }

  async resumeVm(vm: string): Promise<void> {
    await this.vbm.run(['controlvm', vm, 'resume']);
  }

  async acpiPowerButton(vm: string): Promise<void> {
    await this.vbm.run(['controlvm', vm, 'acpipowerbutton']);
  }

  async powerOff(vm: string): Promise<void> {
    await this.vbm.run(['controlvm', vm, 'poweroff']);
  }

  async unregisterDelete(vm: string): Promise<'deleted' | 'absent'> {
    try {
      await this.vbm.run(['unregistervm', vm, '--delete']);
      return 'deleted';
    } catch (err) {
      if (err instanceof VBoxError && err.kind === 'not-found') return 'absent';
      throw err;
    }
  }

  async closeMedium(kind: 'disk' | 'dvd', file: string, deleteFile: boolean): Promise<void> {
    const res = await this.vbm.call(['closemedium', kind, file, ...(deleteFile ? ['--delete'] : [])]);
    if (res.exitCode !== 0 && !/Could not find file for the medium|VERR_FILE_NOT_FOUND|VBOX_E_OBJECT_NOT_FOUND/.test(res.stderr)) {
      throw new VBoxError(
        `VBoxManage closemedium failed: ${errorLines(res.stderr)[0] ?? res.stderr.trim()}`,
        errorKind(res.stderr),
        res.stderr,
      );
    }
  }

  // ----- host-only networking

  async listHostOnlyIfs() {
    return parseHostOnlyIfs(await this.vbm.run(['list', 'hostonlyifs']));
  }

  async createHostOnlyIf(): Promise<string | undefined> {
    return parseCreatedHostOnlyIf(await this.vbm.run(['hostonlyif', 'create'], { timeoutMs: 180_000 }));
  }

  async removeHostOnlyIf(name: string): Promise<void> {
    await this.vbm.run(['hostonlyif', 'remove', name], { timeoutMs: 180_000 });
  }

  async ipconfigHostOnlyIf(name: string, ip: string, mask: string): Promise<void> {
    await this.vbm.run(['hostonlyif', 'ipconfig', name, '--ip', ip, '--netmask', mask], { timeoutMs: 180_000 });
  }

  async listDhcpServers() {
    return parseDhcpServers(await this.vbm.run(['list', 'dhcpservers']));
  }

  async putDhcpServer(s: DhcpServer, exists: boolean): Promise<void> {
    const { version } = await this.version();
    const verb = exists ? 'modify' : 'add';
    // 6.1 renamed the options; the old spellings are what 5.x/6.0 accept.
    const args = versionAtLeast(version, 6, 1)
      ? [
          'dhcpserver',
          verb,
          `--network=${s.networkName}`,
          `--server-ip=${s.ip}`,
          `--netmask=${s.mask}`,
          `--lower-ip=${s.lower}`,
          `--upper-ip=${s.upper}`,
          '--enable',
        ]
      : [
          'dhcpserver',
          verb,
          '--netname',
          s.networkName,
          '--ip',
          s.ip,
          '--netmask',
          s.mask,
          '--lowerip',
          s.lower,
          '--upperip',
          s.upper,
          '--enable',
        ];
    await this.vbm.run(args, { timeoutMs: 180_000 });
  }

  async listHostOnlyNets(): Promise<HostOnlyNet[]> {
    return parseHostOnlyNets(await this.vbm.run(['list', 'hostonlynets']));
  }

  async addHostOnlyNet(n: HostOnlyNet): Promise<void> {
    await this.vbm.run([
      'hostonlynet',
      'add',
      `--name=${n.name}`,
      `--netmask=${n.mask}`,
      `--lower-ip=${n.lower}`,
      `--upper-ip=${n.upper}`,
      '--enable',
    ]);
  }

  async close(): Promise<void> {}
}

/**
 * The userdata disk without streaming gigabytes of zeros through `convertfromraw stdin` (docker-machine
 * #2788): the head goes into a small raw file, becomes a VDI, and the VDI is grown to its size.
 * Shared by both backends (the web service has no way to import raw data).
 */
export async function makeDiskWithVBoxManage(
  vbm: VBoxManage,
  v: { version: VBoxVersion },
  diskPath: string,
  head: Buffer,
  sizeMB: number,
): Promise<void> {
  const MiB = 1024 * 1024;
  const raw = `${diskPath}.raw`;
  // Whole MiB: VirtualBox wants a multiple of 512 bytes, and the resize check below compares MiB.
  const rawSize = Math.max(1, Math.ceil(head.length / MiB)) * MiB;
  const handle = await fs.open(raw, 'w', 0o600);
  try {
    await handle.write(head, 0, head.length, 0);
    await handle.truncate(rawSize);
  } finally {
    await handle.close();
  }
  try {
    await vbm.run(['convertfromraw', raw, diskPath, '--format', 'VDI']);
  } finally {
    await fs.rm(raw, { force: true });
  }
  if (sizeMB * MiB > rawSize) {
    // --resize refuses large factors ("Use --resizebyte if this is intended!"); bytes always work.
    const verb = versionAtLeast(v.version, 5, 1) ? ['modifymedium', 'disk'] : ['modifyhd'];
    await vbm.run([...verb, diskPath, '--resizebyte', String(sizeMB * MiB)]);
  }
}
