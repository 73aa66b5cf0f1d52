import { execFileSync, spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { poll } from '../src/core/wait.js';
import type { GuestArch } from '../src/core/arch.js';
import { archSpec } from '../src/drivers/qemu/arch.js';
import { machineArgs } from '../src/drivers/qemu/driver.js';
import { dockerPing } from '../src/docker/api.js';
import { IsoImage, bootEntry } from '../src/iso/iso9660.js';
import { preseedFiles } from '../src/provision/preseed.js';
import { renderProfile } from '../src/provision/profile.js';
import { SshSession } from '../src/ssh/client.js';
import { generateKeyPair } from '../src/ssh/keys.js';
import { defaultEngineOptions } from '../src/store/config.js';
import { arm64Busybox, BUSYBOX } from '../test/helpers/docker.js';
import { bootVm, testIso } from '../test/helpers/vm.js';

/** Host milliseconds until `test` finds what it looks for in the serial log. */
async function waitSerial(
  file: string,
  startedAt: number,
  re: RegExp,
  timeoutMs = 600_000,
): Promise<{ ms: number; match: RegExpMatchArray }> {
  const match = await poll(async () => (await fs.readFile(file, 'utf8').catch(() => '')).match(re) ?? undefined, {
    timeoutMs,
    intervalMs: 50,
    maxIntervalMs: 50,
    what: String(re),
  });
  return { ms: performance.now() - startedAt, match };
}

function sshBanner(port: number): Promise<true | undefined> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.setTimeout(2000, () => (s.destroy(), resolve(undefined)));
    s.once('data', (d) => (s.destroy(), resolve(d.toString().startsWith('SSH-') ? true : undefined)));
    s.once('error', () => undefined);
    // QEMU's forward accepts, then closes when nothing listens in the guest yet: no data, no error.
    s.once('close', () => resolve(undefined));
  });
}

/**
 * The floor: the ISO's own kernel with a minimal busybox initramfs (whose /init reports and powers
 * off), under the same QEMU settings as the driver.
 */
async function floorBoot(kernel: string, arch: GuestArch): Promise<{ host_ms: number; guest_s: number }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'floor-'));
  const { binary, console } = archSpec(arch);
  try {
    const root = path.join(dir, 'root');
    await fs.mkdir(path.join(root, 'bin'), { recursive: true });
    await fs.mkdir(path.join(root, 'dev'));
    await fs.mkdir(path.join(root, 'proc'));
    await fs.writeFile(path.join(root, 'bin', 'busybox'), arch === 'arm64' ? arm64Busybox() : readFileSync(BUSYBOX), { mode: 0o755 });
    await fs.writeFile(
      path.join(root, 'init'),
      `#!/bin/busybox sh\n/bin/busybox mount -t devtmpfs dev /dev\n/bin/busybox mount -t proc proc /proc\n/bin/busybox echo "machine-floor: userspace $(/bin/busybox cut -d" " -f1 /proc/uptime)" > /dev/${console}\n/bin/busybox poweroff -f\n`,
      { mode: 0o755 },
    );
    execFileSync('sh', ['-c', 'find . | cpio -o -H newc --quiet > ../initrd.cpio'], { cwd: root });
    const serial = path.join(dir, 'serial.log');
    const t0 = performance.now();
    const qemu = spawn(
      binary,
      [
        ...machineArgs('tcg', 1, 1024, arch),
        ...['-kernel', kernel, '-initrd', path.join(dir, 'initrd.cpio'), '-append', `console=${console} rdinit=/init loglevel=3`],
        ...['-chardev', `file,id=s0,path=${serial}`, '-serial', 'chardev:s0', '-no-reboot'],
      ],
      { stdio: 'ignore' },
    );
    const { ms, match } = await waitSerial(serial, t0, /machine-floor: userspace ([\d.]+)/);
    await new Promise((r) => (qemu.exitCode !== null ? r(undefined) : qemu.once('exit', r)));
    return { host_ms: ms, guest_s: Number(match[1]) };
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/** Boot the ISO with a preseeded disk (as `create` makes it) and time each milestone from QEMU's start. */
async function isoBoot(boot: 'kernel' | 'iso', arch: GuestArch): Promise<Record<string, number>> {
  const hostKey = generateKeyPair();
  const vm = await bootVm(`bench${boot}`, {
    boot,
    arch,
    preseed: async (dir) =>
      preseedFiles({
        hostname: `bench${boot}`,
        profile: renderProfile(defaultEngineOptions(), 'qemu'),
        caCertPem: readFileSync(path.join(dir, 'ca.pem'), 'utf8'),
        serverCertPem: readFileSync(path.join(dir, 'server.pem'), 'utf8'),
        serverKeyPem: readFileSync(path.join(dir, 'server-key.pem'), 'utf8'),
        hostKeyPrivate: hostKey.privateKey,
      }),
  });
  try {
    const serial = vm.driver.consoleLog();
    const [userspace, sshd, dockerd] = await Promise.all([
      waitSerial(serial, vm.startedAt, /machine-boot: userspace ([\d.]+)/),
      poll(() => sshBanner(vm.driver.config.SSHPort), { timeoutMs: 600_000, intervalMs: 100, maxIntervalMs: 100, what: 'sshd' }).then(
        () => performance.now() - vm.startedAt,
      ),
      poll(
        async () => {
          const tls = {
            ca: readFileSync(path.join(vm.dir, 'ca.pem'), 'utf8'),
            cert: readFileSync(path.join(vm.dir, 'cert.pem'), 'utf8'),
            key: readFileSync(path.join(vm.dir, 'key.pem'), 'utf8'),
          };
          return (await dockerPing({ host: '127.0.0.1', port: vm.driver.config.DockerPort, tls }, 2000)) ? true : undefined;
        },
        { timeoutMs: 600_000, intervalMs: 100, maxIntervalMs: 200, what: 'dockerd' },
      ).then(() => performance.now() - vm.startedAt),
    ]);
    // The guest notes "dockerd" from a loop that polls its log: it may land just after the ping.
    await waitSerial(serial, vm.startedAt, /machine-boot: dockerd/, 30_000).catch(() => undefined);
    // Guest RAM in use at idle, after a "docker info": what the kernel cannot give back. The page
    // cache of the read-only root can be; tmpfs (Shmem, an unpacked initramfs root) cannot.
    const ssh = await SshSession.connect(vm.ssh);
    let memUsedMib: number;
    try {
      const meminfo = await ssh.check('docker -H unix:///var/run/docker.sock info >/dev/null 2>&1; sleep 5; cat /proc/meminfo');
      const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(meminfo)?.[1]);
      memUsedMib = (kb('MemTotal') - kb('MemFree') - kb('Buffers') - (kb('Cached') - kb('Shmem')) - kb('SReclaimable')) / 1024;
    } finally {
      ssh.close();
    }
    const milestones = Object.fromEntries(
      [...(await fs.readFile(serial, 'utf8')).matchAll(/machine-boot: (\w+) ([\d.]+)/g)].map((m) => [`guest_${m[1]}_s`, Number(m[2])]),
    );
    return {
      qemu_to_kernel_ms: userspace.ms - Number(userspace.match[1]) * 1000,
      qemu_to_userspace_ms: userspace.ms,
      qemu_to_sshd_ms: sshd,
      qemu_to_dockerd_tls_ms: dockerd,
      guest_mem_used_idle_mib: memUsedMib,
      ...milestones,
    };
  } finally {
    await vm.dispose();
  }
}

/** One architecture's ISO: its size, its kernel's floor, and its milestones booted directly and through its boot loader. */
async function benchArch(arch: GuestArch): Promise<Record<string, number>> {
  const iso = await testIso(arch);
  const size = (await fs.stat(iso)).size;
  const image = await IsoImage.open(iso);
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bench-kernel-'));
  const kernel = path.join(dir, 'vmlinuz');
  try {
    const entry = await bootEntry(image);
    await image.extract(entry!.kernel, kernel);
    await image.close();
    const floor = await floorBoot(kernel, arch);
    const direct = await isoBoot('kernel', arch);
    const loader = await isoBoot('iso', arch);
    return {
      iso_size_mb: size / 1048576,
      floor_qemu_to_userspace_ms: floor.host_ms,
      floor_guest_userspace_s: floor.guest_s,
      ...Object.fromEntries(Object.entries(direct).map(([k, v]) => [`kernelboot_${k}`, v])),
      // ISOLINUX on amd64, UEFI GRUB on arm64
      ...Object.fromEntries(Object.entries(loader).map(([k, v]) => [`${arch === 'amd64' ? 'isolinux' : 'uefi'}_${k}`, v])),
      ratio_userspace_vs_floor: direct.qemu_to_userspace_ms! / floor.host_ms,
      ratio_sshd_vs_floor: direct.qemu_to_sshd_ms! / floor.host_ms,
      ratio_dockerd_vs_floor: direct.qemu_to_dockerd_tls_ms! / floor.host_ms,
    };
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/** Both ISOs under TCG, the arm64 one emulated by qemu-system-aarch64; amd64's keys as before, arm64's prefixed. */
export async function benchIso(): Promise<Record<string, number>> {
  const amd64 = await benchArch('amd64');
  const arm64 = await benchArch('arm64');
  return {
    ...amd64,
    ...Object.fromEntries(Object.entries(arm64).map(([k, v]) => [`arm64_${k}`, v])),
    ratio_arm64_vs_amd64_iso_size: arm64.iso_size_mb! / amd64.iso_size_mb!,
    ratio_arm64_vs_amd64_dockerd: arm64.kernelboot_qemu_to_dockerd_tls_ms! / amd64.kernelboot_qemu_to_dockerd_tls_ms!,
  };
}
