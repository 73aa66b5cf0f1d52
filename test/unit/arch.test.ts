import { describe, expect, it } from 'vitest';
import { debianArch, hostArch, machineArch, unameArch } from '../../src/core/arch.js';
import type { DoctorSystem } from '../../src/core/check.js';
import type { System } from '../../src/core/system.js';
import { hostArchCheck } from '../../src/doctor/host-checks.js';
import { usableAccel } from '../../src/drivers/qemu/accel.js';
import { archSpec, arm64Firmware, cpuModel } from '../../src/drivers/qemu/arch.js';
import { machineArgs } from '../../src/drivers/qemu/driver.js';
import { configFromFlags } from '../../src/drivers/qemu/index.js';
import { parseGrubCfg } from '../../src/iso/iso9660.js';
import { baseDriverConfig } from '../../src/store/config.js';
import { createRequest } from '../../src/tasks/create-request.js';

/**
 * The machine architecture on each host: which one runs natively, which accelerator QEMU gets for
 * it, the virtual hardware, the firmware, and how the arm64 ISO's boot entry is read.
 */
/** exec answering macOS's "sysctl -n sysctl.proc_translated" (1: this process runs under Rosetta). */
const sysctl =
  (translated: boolean): System['exec'] =>
  async (file) =>
    file === 'sysctl'
      ? { stdout: translated ? '1\n' : '0\n', stderr: '', exitCode: 0 }
      : { stdout: '', stderr: '', exitCode: 127, spawnError: 'ENOENT' };

describe('machine architectures', () => {
  it('names architectures as Debian does; old machines are amd64; a host without an ISO of its own gets amd64', () => {
    expect([debianArch('x64'), debianArch('arm64'), debianArch('ia32')]).toEqual(['amd64', 'arm64', 'ia32']);
    expect([hostArch('x64'), hostArch('arm64'), hostArch('riscv64')]).toEqual(['amd64', 'arm64', 'amd64']);
    expect([machineArch({ Arch: 'arm64' }), machineArch({}), machineArch({ Arch: 'sparc' }), machineArch(undefined)]).toEqual([
      'arm64',
      'amd64',
      'amd64',
      'amd64',
    ]);
    expect([unameArch('amd64'), unameArch('arm64')]).toEqual(['x86_64', 'aarch64']);
  });

  // (platform, Node arch, machine arch) -> accelerator. Linux's native case needs /dev/kvm (tested by the e2e probe).
  it.each([
    ['darwin', 'arm64', 'arm64', 'hvf', undefined],
    ['darwin', 'x64', 'amd64', 'hvf', undefined],
    ['darwin', 'arm64', 'amd64', 'tcg', 'an amd64 machine on this arm64 computer is emulated (no hypervisor runs another architecture)'],
    ['darwin', 'x64', 'arm64', 'tcg', 'an arm64 machine on this amd64 computer is emulated (no hypervisor runs another architecture)'],
    ['linux', 'x64', 'arm64', 'tcg', 'an arm64 machine on this amd64 computer is emulated (no hypervisor runs another architecture)'],
    ['linux', 'arm64', 'amd64', 'tcg', 'an amd64 machine on this arm64 computer is emulated (no hypervisor runs another architecture)'],
    ['win32', 'x64', 'amd64', 'tcg', 'no hypervisor for QEMU on win32'],
    ['win32', 'arm64', 'arm64', 'tcg', 'no hypervisor for QEMU on win32'],
    ['win32', 'arm64', 'amd64', 'tcg', 'an amd64 machine on this arm64 computer is emulated (no hypervisor runs another architecture)'],
  ] as const)('%s on %s, an %s machine: %s', async (platform, nodeArch, arch, accel, reason) => {
    const got = await usableAccel(arch, { platform, arch: nodeArch, exec: sysctl(false) });
    if (reason) expect(got).toEqual({ accel, reason, fallback: false });
    else expect(got).toBe(accel);
  });

  it('an x64 Node under Rosetta is on Apple Silicon: arm64 machines get HVF, amd64 ones are emulated', async () => {
    const host = { platform: 'darwin' as const, arch: 'x64', exec: sysctl(true) };
    expect(await usableAccel('arm64', host)).toBe('hvf');
    expect(await usableAccel('amd64', host)).toMatchObject({
      accel: 'tcg',
      reason: expect.stringMatching(/^an amd64 machine on this arm64 computer/),
    });
  });

  it('an arm64 machine is a virt machine with the CD on virtio-scsi; under TCG its CPU has cheap pointer authentication', () => {
    expect(machineArgs('tcg', 2, 1024, 'arm64').slice(0, 6)).toEqual(['-machine', 'virt', '-accel', 'tcg', '-cpu', 'max,pauth-impdef=on']);
    expect(machineArgs('kvm', 2, 1024, 'arm64').slice(0, 6)).toEqual(['-machine', 'virt,gic-version=max', '-accel', 'kvm', '-cpu', 'host']);
    expect(machineArgs('hvf', 2, 1024, 'arm64').slice(0, 6)).toEqual(['-machine', 'virt', '-accel', 'hvf', '-cpu', 'host']);
    expect(machineArgs('tcg', 1, 512).slice(0, 6)).toEqual(['-machine', 'pc', '-accel', 'tcg', '-cpu', 'max']);
    expect(archSpec('arm64')).toMatchObject({ binary: 'qemu-system-aarch64', console: 'ttyAMA0' });
    expect(archSpec('arm64').cdrom).toEqual(['-device', 'virtio-scsi-pci,id=scsi0', '-device', 'scsi-cd,drive=cd0,bus=scsi0.0']);
    expect(archSpec('amd64')).toMatchObject({ binary: 'qemu-system-x86_64', console: 'ttyS0', cdrom: ['-device', 'ide-cd,drive=cd0'] });
    expect([cpuModel('amd64', false), cpuModel('arm64', false)]).toEqual(['host', 'host']);
  });

  it("finds UEFI firmware where each OS's QEMU puts it", () => {
    expect(arm64Firmware('/opt/homebrew/bin/qemu-system-aarch64', 'darwin')).toEqual([
      '/opt/homebrew/share/qemu/edk2-aarch64-code.fd',
      '/opt/homebrew/share/qemu/edk2-aarch64-code.fd',
      '/usr/local/share/qemu/edk2-aarch64-code.fd',
      '/opt/local/share/qemu/edk2-aarch64-code.fd',
    ]);
    expect(arm64Firmware(undefined, 'linux')).toContain('/usr/share/qemu-efi-aarch64/QEMU_EFI.fd');
    expect(arm64Firmware('/usr/bin/qemu-system-aarch64', 'linux')[0]).toBe('/usr/share/qemu/edk2-aarch64-code.fd');
  });

  it("--qemu-arch: the host's by default, arm64 or amd64 on request, nothing else", async () => {
    const base = baseDriverConfig('a', '/tmp/store', '/tmp/store/machines/a/id_ed25519');
    const flags = { 'qemu-no-share': true };
    expect((await configFromFlags(flags, base)).Arch).toBe(hostArch());
    expect((await configFromFlags({ ...flags, 'qemu-arch': 'arm64' }, base)).Arch).toBe('arm64');
    await expect(configFromFlags({ ...flags, 'qemu-arch': 'riscv64' }, base)).rejects.toThrow(
      '--qemu-arch riscv64 is not an architecture machine has an ISO for',
    );
  });

  it('--no-binfmt reaches the engine options (and so the profile); by default they say nothing', () => {
    expect(createRequest('a', { driver: 'qemu', binfmt: false }, {}).engine.Binfmt).toBe(false);
    expect(createRequest('a', { driver: 'qemu', binfmt: true }, {}).engine).not.toHaveProperty('Binfmt');
  });

  it("reads the arm64 ISO's boot entry from its grub.cfg (it has no isolinux)", () => {
    const cfg =
      'set timeout=0\nset default=0\nmenuentry "boot2docker" {\n\tlinux /boot/vmlinuz loglevel=3 console=ttyAMA0,115200n8\n\tinitrd /boot/initrd.img\n}\n';
    expect(parseGrubCfg(cfg)).toEqual({ kernel: 'boot/vmlinuz', initrd: 'boot/initrd.img', append: 'loglevel=3 console=ttyAMA0,115200n8' });
    expect(parseGrubCfg('menuentry "x" {\n\tchainloader /efi\n}\nmenuentry "y" {\n linux /k a=b\n initrd /i\n}\n')).toEqual({
      kernel: 'k',
      initrd: 'i',
      append: 'a=b',
    });
    expect(parseGrubCfg('set timeout=0\n')).toBeUndefined();
  });

  it('doctor says which machines run natively here, seeing through Rosetta', async () => {
    const on = async (arch: string, platform: NodeJS.Platform = 'linux', translated = false) =>
      (await hostArchCheck({ arch, platform, exec: sysctl(translated) } as unknown as DoctorSystem)).message;
    expect(await on('arm64')).toBe(
      "this computer is arm64: arm64 machines run natively, amd64 machines (--qemu-arch amd64) are emulated; each runs the other's images through binfmt",
    );
    expect(await on('x64', 'darwin', true)).toBe(
      "this computer is arm64 (this Node is amd64, translated by Rosetta): arm64 machines run natively, amd64 machines (--qemu-arch amd64) are emulated; each runs the other's images through binfmt",
    );
    expect(await on('x64', 'darwin')).toMatch(/^this computer is amd64: amd64 machines run natively/);
    expect(await on('riscv64')).toBe('this computer is riscv64, for which there is no ISO: machines are amd64, emulated');
  });
});
