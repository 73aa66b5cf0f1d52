import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type GuestArch, machineArch } from '../../core/arch.js';
import { MachineError } from '../../core/errors.js';
import { exists, readIfExists } from '../../core/files.js';
import { runDir } from '../../core/paths.js';
import { findProcesses, processAlive, processCommandLine, terminate, terminateAll, waitForExit } from '../../core/process.js';
import { exec, findProgram, realSystem } from '../../core/system.js';
import { poll, sleep, timedOut } from '../../core/wait.js';
import { bootEntry, IsoImage } from '../../iso/iso9660.js';
import type { BaseDriverConfig } from '../../store/config.js';
import { chooseForwardPorts } from '../ports.js';
import { imageUsage } from '../disk.js';
import type {
  DiskSpec,
  DiskUsage,
  Driver,
  DriverEnv,
  Endpoint,
  Forward,
  GuestMount,
  MachineState,
  PortForwarder,
  Report,
  Share,
} from '../driver.js';
import { type Accel, type AccelVerdict, chooseAccel, recordHang } from './accel.js';
import { archSpec, arm64Firmware, cpuModel } from './arch.js';
import { qmp, QmpError } from './qmp.js';

export interface QemuConfig extends BaseDriverConfig {
  Memory: number;
  CPU: number;
  DiskSize: number;
  Boot2DockerURL: string;
  /** Host port on 127.0.0.1 forwarded to the guest's 2376. */
  DockerPort: number;
  Accel: string;
  QemuBinary: string;
  Network: 'user' | 'restricted';
  Boot: 'kernel' | 'iso';
  /** Host folders shared over 9p (virtio), mounted at guestPath by the provisioner. */
  Shares: Share[];
  /** The guest's architecture (absent: amd64, the only one before there was a choice). */
  Arch?: GuestArch;
}

/** The virtual hardware every machine gets (also the bench's floor boot, to compare like with like). */
export function machineArgs(accel: Accel, cpus: number, memoryMB: number, arch: GuestArch = 'amd64'): string[] {
  // arm64 under KVM: the host's interrupt controller (many arm64 servers have no GICv2)
  const machine = archSpec(arch).machine + (arch === 'arm64' && accel === 'kvm' ? ',gic-version=max' : '');
  return [
    '-machine',
    machine,
    '-accel',
    accel,
    '-cpu',
    cpuModel(arch, accel === 'tcg'),
    '-smp',
    String(cpus),
    '-m',
    String(memoryMB),
    '-nodefaults',
    '-no-user-config',
    '-display',
    'none',
    '-vga',
    'none',
  ];
}

/** slirp's guest address, fixed by our -netdev so it can go in the server certificate. */
export const GUEST_IP = '10.0.2.15';
const STOP_TIMEOUT_MS = 60_000;
/** Under a hypervisor the kernel prints within a second; this much silence means it hung. */
const SILENT_BOOT_MS = 10_000;

/** A value inside a QEMU option list ("file=...,format=raw"): a comma is written twice. */
export const optionValue = (s: string) => s.replace(/,/g, ',,');

/** QEMU processes of a machine folder, found by their -pidfile argument (works without config.json). */
export async function qemuProcesses(machineDir: string): Promise<number[]> {
  const marker = `-pidfile ${path.join(machineDir, 'qemu.pid')}`;
  return findProcesses((cmd) => cmd.includes(marker));
}

/** What `--version` says, or an error when the binary is missing or not QEMU. */
export async function qemuVersion(binary: string, arch: GuestArch = 'amd64'): Promise<string> {
  const res = await exec(binary, ['--version'], { timeoutMs: 10_000 });
  const version = /QEMU emulator version (\S+)/.exec(res.stdout)?.[1];
  const spec = archSpec(arch);
  if (res.spawnError === 'ENOENT') {
    throw new MachineError(`QEMU (${binary}) was not found${arch === 'arm64' ? ': arm64 machines need it' : ''}`, {
      exitCode: 3,
      fix:
        process.platform === 'darwin'
          ? 'install it with "brew install qemu"'
          : `install it, e.g. "apt-get install ${spec.debianPackage}${arch === 'arm64' ? ' qemu-efi-aarch64' : ''}"`,
    });
  }
  if (!version) {
    const said = (res.stdout || res.stderr || `exit code ${res.exitCode}`).trim().split('\n')[0]!.slice(0, 80);
    throw new MachineError(`${binary} is not QEMU ("${binary} --version" said: ${said})`, {
      exitCode: 3,
      fix: `point --qemu-binary (QEMU_BINARY) at ${spec.binary}`,
    });
  }
  return version;
}

/** The UEFI firmware an arm64 machine boots its ISO with, or the one-line error saying where it looked. */
export async function findArm64Firmware(binary: string): Promise<string> {
  const binaryPath = path.isAbsolute(binary) ? binary : await findProgram(realSystem(), binary);
  const candidates = arm64Firmware(binaryPath);
  for (const f of candidates) if (await exists(f)) return f;
  throw new MachineError(`No UEFI firmware for arm64 machines was found (looked for ${candidates.join(', ')})`, {
    fix:
      process.platform === 'darwin'
        ? 'install QEMU with "brew install qemu" (it ships edk2-aarch64-code.fd), or boot the kernel directly (--qemu-boot kernel)'
        : 'install it ("apt-get install qemu-efi-aarch64"), or boot the kernel directly (--qemu-boot kernel)',
  });
}

export class QemuDriver implements Driver, PortForwarder {
  readonly name = 'qemu';

  constructor(
    readonly config: QemuConfig,
    private readonly env: DriverEnv,
  ) {}

  private file(name: string): string {
    return path.join(this.env.machineDir, name);
  }
  get diskPath(): string {
    return this.file('disk.raw');
  }
  get isoPath(): string {
    return this.file('boot2docker.iso');
  }
  private get pidFile(): string {
    return this.file('qemu.pid');
  }
  consoleLog(): string {
    return this.file('serial.log');
  }

  /** The raw data disk is sparse (discard=unmap punches holes when the guest trims): its blocks are what it takes. */
  diskUsage(): Promise<DiskUsage | undefined> {
    return imageUsage(this.diskPath);
  }

  /**
   * The QMP socket: in the machine dir, or (when that path is too long for a socket) in this user's
   * private run directory.
   */
  async qmpSocket(): Promise<string> {
    const inDir = this.file('qmp.sock');
    if (Buffer.byteLength(inDir) < 100) return inDir;
    const hash = createHash('sha256').update(this.env.machineDir).digest('hex').slice(0, 16);
    return path.join(await runDir(), `${hash}.qmp`);
  }

  /**
   * QMP commands. The monitor serves one client at a time, so under parallel commands a connection
   * may wait or be refused: tried again (`attempts` times) unless the socket is gone or QEMU said no.
   */
  private async qmp(commands: { execute: string; arguments?: object }[], timeoutMs?: number, attempts = 3): Promise<unknown[]> {
    const socket = await this.qmpSocket();
    for (let attempt = 1; ; attempt++) {
      try {
        return await qmp(socket, commands, timeoutMs);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (attempt >= attempts || err instanceof QmpError || code === 'ENOENT') throw err;
        await sleep(100 * attempt);
      }
    }
  }

  get arch(): GuestArch {
    return machineArch(this.config);
  }

  get binary(): string {
    return this.config.QemuBinary || archSpec(this.arch).binary;
  }

  async preCreateCheck(report: Report): Promise<void> {
    report(`QEMU ${await qemuVersion(this.binary, this.arch)} (${this.binary}), an ${this.arch} machine`);
    if (this.arch === 'arm64' && this.config.Boot === 'iso') report(`UEFI firmware: ${await findArm64Firmware(this.binary)}`);
  }

  async create(disk: DiskSpec, report: Report): Promise<void> {
    report(`Creating a ${this.config.DiskSize} MB sparse disk`);
    const { writeRawDisk } = await import('../../iso/userdata.js'); // tar: only create pays for it
    await writeRawDisk(this.diskPath, disk.head, this.config.DiskSize);
  }

  /** Extract the kernel and initrd from the ISO (once per ISO) for direct kernel boot and the accelerator probe. */
  private async bootFiles(): Promise<{ kernel: string; initrd: string; append: string } | undefined> {
    const dir = this.file('boot');
    const marker = path.join(dir, 'cmdline');
    const isoStat = await fs.stat(this.isoPath);
    const markerStat = await fs.stat(marker).catch(() => undefined);
    if (markerStat && markerStat.mtimeMs >= isoStat.mtimeMs) {
      const append = (await fs.readFile(marker, 'utf8')).trim();
      return { kernel: path.join(dir, 'vmlinuz'), initrd: path.join(dir, 'initrd.img'), append };
    }
    const iso = await IsoImage.open(this.isoPath);
    try {
      const entry = await bootEntry(iso);
      if (!entry) return undefined;
      await fs.mkdir(dir, { recursive: true, mode: 0o700 });
      if (!(await iso.extract(entry.kernel, path.join(dir, 'vmlinuz')))) return undefined;
      if (!(await iso.extract(entry.initrd, path.join(dir, 'initrd.img')))) return undefined;
      await fs.writeFile(marker, `${entry.append}\n`);
      return { kernel: path.join(dir, 'vmlinuz'), initrd: path.join(dir, 'initrd.img'), append: entry.append };
    } finally {
      await iso.close();
    }
  }

  /**
   * The QEMU process of this machine: the one in qemu.pid if it is ours (its command line names our
   * pidfile: a recycled pid is not), else one found by its command line (qemu.pid was lost), which
   * is written back. Never trusting a lost pidfile is what keeps a running VM from being shown
   * Stopped and then started a second time on the same disk.
   */
  async pid(): Promise<number | undefined> {
    const recorded = Number((await readIfExists(this.pidFile).catch(() => undefined))?.trim());
    if (recorded && processAlive(recorded)) {
      const cmd = await processCommandLine(recorded);
      if (cmd === undefined || cmd.includes(`-pidfile ${this.pidFile}`)) return recorded;
    }
    const [found] = await qemuProcesses(this.env.machineDir);
    if (found) await fs.writeFile(this.pidFile, `${found}\n`, { mode: 0o600 }).catch(() => undefined);
    return found;
  }

  /**
   * Running as long as its QEMU process runs. QMP refines that (paused, shutting down, I/O error)
   * but does not decide it: the monitor serves one client at a time, and a busy or lost socket must
   * not make a running VM look stopped.
   */
  async state(): Promise<MachineState> {
    const pid = await this.pid();
    if (!pid) return (await exists(this.diskPath)) ? 'Stopped' : 'Error';
    const status = await this.vmStatus();
    switch (status) {
      case undefined:
      case 'running':
        return 'Running';
      case 'paused':
      case 'suspended':
        return 'Paused';
      case 'prelaunch':
      case 'inmigrate':
        return 'Starting';
      case 'shutdown':
        return 'Stopping';
      default:
        return 'Error';
    }
  }

  /** QEMU's own run state ("running", "io-error"...), undefined when the monitor does not answer. */
  private async vmStatus(): Promise<string | undefined> {
    try {
      const [status] = (await this.qmp([{ execute: 'query-status' }], 2000, 1)) as [{ status: string }];
      return status.status;
    } catch {
      return undefined;
    }
  }

  /** Why a booting VM can never answer: QEMU is gone, or stopped on a disk write error or a panic. */
  async bootProblem(): Promise<MachineError | undefined> {
    if (!(await this.pid())) {
      return new MachineError(`The QEMU process of machine "${this.config.MachineName}" exited while the VM was booting`, {
        fix: `see its console with "machine logs ${this.config.MachineName}"`,
      });
    }
    const status = await this.vmStatus();
    if (status === 'io-error') {
      const free = await freeSpace(this.env.machineDir);
      return new MachineError(
        `Machine "${this.config.MachineName}" stopped: writing its disk (${this.diskPath}) failed${free === undefined ? '' : `, and ${free} MB are free there`}`,
        { fix: 'free space on that disk (or move the store with MACHINE_STORAGE_PATH), then "machine restart"' },
      );
    }
    if (status === 'guest-panicked' || status === 'internal-error') {
      return new MachineError(`The kernel of machine "${this.config.MachineName}" stopped (${status})`, {
        fix: `see its console with "machine logs ${this.config.MachineName}"`,
      });
    }
    return undefined;
  }

  private async args(accel: Accel): Promise<string[]> {
    const c = this.config;
    const hostfwd = [`hostfwd=tcp:127.0.0.1:${c.SSHPort}-:22`, `hostfwd=tcp:127.0.0.1:${c.DockerPort}-:2376`];
    const netdev = ['user', 'id=net0', 'net=10.0.2.0/24', `dhcpstart=${GUEST_IP}`, ...hostfwd];
    if (c.Network === 'restricted') netdev.push('restrict=on');
    const cpus = c.CPU < 1 ? os.cpus().length : c.CPU;
    const spec = archSpec(this.arch);
    const args = [
      '-name',
      optionValue(`machine-${c.MachineName}`),
      ...machineArgs(accel, cpus, c.Memory, this.arch),
      '-rtc',
      'base=utc',
      '-netdev',
      netdev.join(','),
      '-device',
      'virtio-net-pci,netdev=net0',
      '-drive',
      `file=${optionValue(this.diskPath)},format=raw,if=none,id=disk0,cache=writeback,discard=unmap`,
      '-device',
      'virtio-blk-pci,drive=disk0',
      '-drive',
      `file=${optionValue(this.isoPath)},media=cdrom,if=none,id=cd0,readonly=on`,
      ...spec.cdrom,
      '-device',
      'virtio-rng-pci',
      '-chardev',
      `file,id=serial0,path=${optionValue(this.consoleLog())}`,
      '-serial',
      'chardev:serial0',
      '-qmp',
      `unix:${optionValue(await this.qmpSocket())},server=on,wait=off`,
      '-pidfile',
      this.pidFile,
      '-daemonize',
    ];
    (c.Shares ?? []).forEach((share, i) => {
      args.push('-virtfs', `local,path=${optionValue(share.hostPath)},mount_tag=share${i},security_model=none,id=share${i}`);
    });
    const boot = c.Boot === 'iso' ? undefined : await this.bootFiles();
    if (boot) args.push('-kernel', boot.kernel, '-initrd', boot.initrd, '-append', boot.append);
    else if (this.arch === 'arm64')
      args.push('-bios', await findArm64Firmware(this.binary)); // UEFI boots the CD: arm64 has no BIOS
    else args.push('-boot', 'd');
    return args;
  }

  async start(report: Report): Promise<void> {
    if (await this.pid()) {
      if ((await this.state()) === 'Paused') await this.qmp([{ execute: 'cont' }]);
      return;
    }
    this.env.signal?.throwIfAborted();
    const version = await qemuVersion(this.binary, this.arch);
    const kernel = (await this.bootFiles().catch(() => undefined))?.kernel;
    const verdict: AccelVerdict =
      this.config.Accel && this.config.Accel !== 'auto'
        ? { accel: this.config.Accel as Accel, reason: 'set by --qemu-accel', fallback: false }
        : await chooseAccel({ binary: this.binary, version }, kernel, this.env.store.cacheDir, {
            signal: this.env.signal,
            arch: this.arch,
          });
    report(`Accelerator: ${verdict.accel} (${verdict.reason})`);
    this.env.signal?.throwIfAborted();
    await this.launch(verdict.accel, report);
    if (verdict.accel === 'tcg' || (this.config.Accel && this.config.Accel !== 'auto')) return;
    // The probe said the hypervisor works; the real boot must agree within seconds, or we fall back.
    if (await this.printsWithin(SILENT_BOOT_MS)) return;
    const reason = `${verdict.accel} printed nothing on the console within ${SILENT_BOOT_MS / 1000} s (a hung hypervisor): using software emulation`;
    report(`Accelerator: tcg (${reason})`);
    await recordHang({ binary: this.binary, version }, kernel, this.env.store.cacheDir, reason);
    await this.kill();
    await this.launch('tcg', report);
  }

  /** True once the console log has content; false after ms of silence (or when QEMU exited). */
  private async printsWithin(ms: number): Promise<boolean> {
    const printed = async () => {
      if (((await fs.stat(this.consoleLog()).catch(() => undefined))?.size ?? 0) > 0) return true;
      return (await this.pid()) ? undefined : true; // exited: the SSH wait reports why
    };
    const what = `the console of machine "${this.config.MachineName}" to show output`;
    return poll(printed, { timeoutMs: ms, intervalMs: 200, maxIntervalMs: 200, signal: this.env.signal, what }).catch(timedOut(false));
  }

  private async launch(accel: Accel, report: Report): Promise<void> {
    const qmpSocket = await this.qmpSocket();
    await fs.rm(qmpSocket, { force: true });
    await fs.rm(this.pidFile, { force: true });
    // Private from the start: QEMU writes the console log into an existing file as it finds it.
    await fs.writeFile(this.consoleLog(), '', { mode: 0o600 });
    await fs.chmod(this.consoleLog(), 0o600);
    for (let attempt = 1; ; attempt++) {
      await chooseForwardPorts(this.config, report);
      const res = await exec(this.binary, await this.args(accel), { cwd: this.env.machineDir });
      if (res.exitCode === 0) break;
      const detail =
        (res.stderr || res.stdout)
          .trim()
          .split('\n')
          .filter((l) => !/warning/i.test(l))
          .pop() ?? `exit code ${res.exitCode}`;
      // Another program took a port between our check and QEMU's bind: choose again once.
      if (attempt === 1 && /host forwarding rule|Address already in use/i.test(detail)) {
        this.config.SSHPort = 0;
        this.config.DockerPort = 0;
        continue;
      }
      if (/lock/i.test(detail)) {
        throw new MachineError(`QEMU could not start machine "${this.config.MachineName}": another process uses its disk (${detail})`, {
          fix: `stop the other QEMU process, or remove the machine with "machine rm -f ${this.config.MachineName}"`,
        });
      }
      throw new MachineError(`QEMU could not start machine "${this.config.MachineName}": ${detail}`, {
        fix: `check the machine flags (memory, CPUs) and that QEMU works: "${this.binary} --version"`,
      });
    }
    await fs.chmod(this.pidFile, 0o600).catch(() => undefined);
  }

  /**
   * ACPI power button, then a hard stop after a timeout. Without a monitor (qmp.sock lost) the
   * guest is asked to power off over SSH, and failing that QEMU is ended by signal.
   */
  async stop(report: Report): Promise<void> {
    const pid = await this.pid();
    if (!pid) return;
    report('Sending the ACPI power button');
    const pressed = await this.qmp([{ execute: 'system_powerdown' }])
      .then(() => true)
      .catch(() => false);
    if (!pressed) {
      report('The QEMU monitor does not answer: asking the guest to power off over SSH');
      // In the background, so the command returns before the guest drops the connection.
      const asked = await this.env
        .guest?.('(sleep 1; sudo poweroff) >/dev/null 2>&1 &')
        .then(() => true)
        .catch(() => false);
      if (!asked) {
        report('The guest could not be asked: stopping QEMU by signal');
        await this.kill();
        return;
      }
    }
    if (await waitForExit(pid, STOP_TIMEOUT_MS)) return;
    report(`The VM did not power off within ${STOP_TIMEOUT_MS / 1000}s; turning it off`);
    await this.kill();
  }

  /** QMP quit (QEMU flushes its disk cache), else SIGTERM then SIGKILL. */
  async kill(): Promise<void> {
    const pid = await this.pid();
    if (!pid) return;
    await this.qmp([{ execute: 'quit' }], 2000, 1).catch(() => undefined);
    if (!(await waitForExit(pid, 2000)) && !(await terminate(pid))) {
      throw new MachineError(`QEMU (pid ${pid}) of machine "${this.config.MachineName}" could not be stopped`, {
        fix: `end it by hand ("kill -9 ${pid}")`,
      });
    }
  }

  /** The disk goes with it, so no clean shutdown is owed: SIGKILL, at once (an interrupted create must end fast). */
  async remove(): Promise<void> {
    const pids = new Set(await qemuProcesses(this.env.machineDir));
    const pid = await this.pid();
    if (pid) pids.add(pid);
    const [p] = await terminateAll([...pids], 0);
    if (p) {
      throw new MachineError(`QEMU (pid ${p}) of machine "${this.config.MachineName}" could not be stopped`, {
        fix: `end it by hand ("kill -9 ${p}")`,
      });
    }
    await fs.rm(await this.qmpSocket(), { force: true });
  }

  sshEndpoint(): Endpoint {
    return { host: '127.0.0.1', port: this.config.SSHPort };
  }

  async dockerEndpoint(): Promise<Endpoint> {
    return { host: '127.0.0.1', port: this.config.DockerPort };
  }

  async ip(): Promise<string> {
    return '127.0.0.1';
  }

  async certHosts(): Promise<string[]> {
    return [GUEST_IP];
  }

  /** A kernel that hangs under KVM/HVF boots under software emulation. */
  bootHangFix(): string | undefined {
    return this.config.Accel !== 'tcg' ? 'if it hangs under KVM/HVF, create it with --qemu-accel tcg' : undefined;
  }

  /** slirp's gateway is the host's loopback; unreachable when the network is restricted. */
  hostAddress(): string | undefined {
    return this.config.Network === 'restricted' ? undefined : '10.0.2.2';
  }

  guestMounts(): GuestMount[] {
    return (this.config.Shares ?? []).map((s, i) => ({ type: '9p', source: `share${i}`, target: s.guestPath }));
  }

  /** hostfwd_add through the monitor: the running VM gets a new 127.0.0.1 forward at once. */
  async addForward(f: Forward): Promise<void> {
    const rule = `${f.proto}:127.0.0.1:${f.hostPort}-:${f.guestPort}`;
    const answer = await this.monitor(`hostfwd_add net0 ${rule}`);
    if (answer.trim()) {
      throw new MachineError(`Cannot forward 127.0.0.1:${f.hostPort} (${f.proto}) to the machine: ${answer.trim()}`, {
        fix: 'the port is probably in use on this host; publish another one',
      });
    }
  }

  async removeForward(f: Forward): Promise<void> {
    await this.monitor(`hostfwd_remove net0 ${f.proto}:127.0.0.1:${f.hostPort}`);
  }

  private async monitor(command: string): Promise<string> {
    const [answer] = await this.qmp([{ execute: 'human-monitor-command', arguments: { 'command-line': command } }]);
    return String(answer ?? '');
  }
}

/** Free megabytes on the filesystem holding dir, if the platform tells. */
async function freeSpace(dir: string): Promise<number | undefined> {
  const st = await fs.statfs(dir).catch(() => undefined);
  return st ? Math.floor((st.bavail * st.bsize) / 1048576) : undefined;
}
