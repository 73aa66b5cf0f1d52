import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { MachineError } from '../../core/errors.js';
import { exists, readIfExists } from '../../core/files.js';
import { processAlive } from '../../core/process.js';
import { poll, sleep } from '../../core/wait.js';
import { IsoImage, isolinuxBootEntry } from '../../iso/iso9660.js';
import { writeRawDisk } from '../../iso/userdata.js';
import type { BaseDriverConfig } from '../../store/config.js';
import { chooseForwardPorts } from '../ports.js';
import type { DiskSpec, Driver, DriverEnv, Endpoint, Forward, GuestMount, MachineState, PortForwarder, Report, Share } from '../driver.js';
import { type Accel, probeAccel } from './accel.js';
import { qmp } from './qmp.js';

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
}

/** The virtual hardware every machine gets (also the bench's floor boot, to compare like with like). */
export function machineArgs(accel: Accel, cpus: number, memoryMB: number): string[] {
  const cpu = accel === 'tcg' ? 'max' : 'host';
  return [
    '-machine',
    'pc',
    '-accel',
    accel,
    '-cpu',
    cpu,
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

  /** The QMP socket: in the machine dir, or in a short private dir when that path is too long for a socket. */
  get qmpSocket(): string {
    const inDir = this.file('qmp.sock');
    if (Buffer.byteLength(inDir) < 100) return inDir;
    const hash = createHash('sha256').update(this.env.machineDir).digest('hex').slice(0, 16);
    return path.join(os.tmpdir(), `machine-${process.getuid?.() ?? 'u'}`, `${hash}.qmp`);
  }

  get binary(): string {
    return this.config.QemuBinary || 'qemu-system-x86_64';
  }

  async preCreateCheck(): Promise<void> {
    const res = await execa(this.binary, ['--version'], { reject: false });
    if (res.failed) {
      throw new MachineError(`QEMU (${this.binary}) was not found`, {
        exitCode: 3,
        fix: process.platform === 'darwin' ? 'install it with "brew install qemu"' : 'install it, e.g. "apt-get install qemu-system-x86"',
      });
    }
  }

  async create(disk: DiskSpec, report: Report): Promise<void> {
    report(`Creating a ${this.config.DiskSize} MB sparse disk`);
    await writeRawDisk(this.diskPath, disk.head, this.config.DiskSize);
  }

  /** The accelerator to use: the flag, or a probe when "auto". */
  private async accel(): Promise<{ accel: Accel; reason: string }> {
    const wanted = this.config.Accel || 'auto';
    if (wanted !== 'auto') return { accel: wanted as Accel, reason: 'set by --qemu-accel' };
    return probeAccel(this.binary, this.env.store.cacheDir);
  }

  /** Extract the kernel and initrd from the ISO (once per ISO) for direct kernel boot. */
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
      const entry = await isolinuxBootEntry(iso);
      if (!entry) return undefined;
      await fs.mkdir(dir, { recursive: true });
      if (!(await iso.extract(entry.kernel, path.join(dir, 'vmlinuz')))) return undefined;
      if (!(await iso.extract(entry.initrd, path.join(dir, 'initrd.img')))) return undefined;
      await fs.writeFile(marker, `${entry.append}\n`);
      return { kernel: path.join(dir, 'vmlinuz'), initrd: path.join(dir, 'initrd.img'), append: entry.append };
    } finally {
      await iso.close();
    }
  }

  private async pid(): Promise<number | undefined> {
    const text = await readIfExists(this.pidFile);
    const pid = Number(text?.trim());
    if (!pid || !processAlive(pid)) return undefined;
    // A recycled pid is not our VM: on Linux, check it runs QEMU on this machine's disk.
    if (process.platform === 'linux') {
      const cmdline = await readIfExists(`/proc/${pid}/cmdline`).catch(() => undefined);
      if (cmdline !== undefined && !cmdline.includes(this.diskPath)) return undefined;
    }
    return pid;
  }

  async state(): Promise<MachineState> {
    if (!(await exists(this.diskPath)) && !(await this.pid())) return 'Error';
    if (!(await this.pid())) return 'Stopped';
    try {
      const [status] = (await qmp(this.qmpSocket, [{ execute: 'query-status' }], 3000)) as [{ status: string }];
      switch (status.status) {
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
    } catch {
      return (await this.pid()) ? 'Error' : 'Stopped';
    }
  }

  private async args(accel: Accel): Promise<string[]> {
    const c = this.config;
    const hostfwd = [`hostfwd=tcp:127.0.0.1:${c.SSHPort}-:22`, `hostfwd=tcp:127.0.0.1:${c.DockerPort}-:2376`];
    const netdev = ['user', 'id=net0', 'net=10.0.2.0/24', `dhcpstart=${GUEST_IP}`, ...hostfwd];
    if (c.Network === 'restricted') netdev.push('restrict=on');
    const cpus = c.CPU < 1 ? os.cpus().length : c.CPU;
    const args = [
      '-name',
      `machine-${c.MachineName}`,
      ...machineArgs(accel, cpus, c.Memory),
      '-rtc',
      'base=utc',
      '-netdev',
      netdev.join(','),
      '-device',
      'virtio-net-pci,netdev=net0',
      '-drive',
      `file=${this.diskPath},format=raw,if=none,id=disk0,cache=writeback,discard=unmap`,
      '-device',
      'virtio-blk-pci,drive=disk0',
      '-drive',
      `file=${this.isoPath},media=cdrom,if=none,id=cd0,readonly=on`,
      '-device',
      'ide-cd,drive=cd0',
      '-device',
      'virtio-rng-pci',
      '-chardev',
      `file,id=serial0,path=${this.consoleLog()}`,
      '-serial',
      'chardev:serial0',
      '-qmp',
      `unix:${this.qmpSocket},server=on,wait=off`,
      '-pidfile',
      this.pidFile,
      '-daemonize',
    ];
    (c.Shares ?? []).forEach((share, i) => {
      // In QEMU option values a comma is written twice.
      args.push('-virtfs', `local,path=${share.hostPath.replace(/,/g, ',,')},mount_tag=share${i},security_model=none,id=share${i}`);
    });
    const boot = c.Boot === 'iso' ? undefined : await this.bootFiles();
    if (boot) args.push('-kernel', boot.kernel, '-initrd', boot.initrd, '-append', boot.append);
    else args.push('-boot', 'd');
    return args;
  }

  async start(report: Report): Promise<void> {
    if (await this.pid()) {
      const state = await this.state();
      if (state === 'Paused') {
        await qmp(this.qmpSocket, [{ execute: 'cont' }]);
        return;
      }
      return;
    }
    const { accel, reason } = await this.accel();
    report(`Accelerator: ${accel} (${reason})`);
    await fs.mkdir(path.dirname(this.qmpSocket), { recursive: true, mode: 0o700 });
    await fs.rm(this.qmpSocket, { force: true });
    await fs.rm(this.pidFile, { force: true });
    for (let attempt = 1; ; attempt++) {
      await chooseForwardPorts(this.config, report);
      const res = await execa(this.binary, await this.args(accel), { reject: false, stdin: 'ignore', cwd: this.env.machineDir });
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
      throw new MachineError(`QEMU could not start machine "${this.config.MachineName}": ${detail}`, {
        fix: 'check the machine flags (memory, CPUs) and that QEMU works: "qemu-system-x86_64 --version"',
      });
    }
  }

  async stop(report: Report): Promise<void> {
    const pid = await this.pid();
    if (!pid) return;
    report('Sending the ACPI power button');
    await qmp(this.qmpSocket, [{ execute: 'system_powerdown' }]).catch(() => undefined);
    try {
      await poll(async () => ((await this.pid()) ? undefined : true), {
        timeoutMs: STOP_TIMEOUT_MS,
        intervalMs: 250,
        what: 'the VM to power off',
      });
    } catch {
      report(`The VM did not power off within ${STOP_TIMEOUT_MS / 1000}s; turning it off`);
      await this.kill();
    }
  }

  async kill(): Promise<void> {
    const pid = await this.pid();
    if (!pid) return;
    await qmp(this.qmpSocket, [{ execute: 'quit' }], 2000).catch(() => undefined);
    for (let i = 0; i < 20 && processAlive(pid); i++) await sleep(100);
    if (processAlive(pid)) process.kill(pid, 'SIGKILL');
    for (let i = 0; i < 50 && processAlive(pid); i++) await sleep(100);
  }

  async remove(): Promise<void> {
    await this.kill();
    await fs.rm(this.qmpSocket, { force: true });
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
    const [answer] = await qmp(this.qmpSocket, [{ execute: 'human-monitor-command', arguments: { 'command-line': command } }]);
    return String(answer ?? '');
  }
}
