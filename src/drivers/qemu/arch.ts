import path from 'node:path';
import type { GuestArch } from '../../core/arch.js';

/** What differs between an amd64 and an arm64 QEMU machine. */
export interface ArchSpec {
  /** The QEMU system emulator (found on PATH unless --qemu-binary says otherwise). */
  binary: string;
  machine: string;
  /** The guest's serial console, as its kernel names it. */
  console: string;
  /** -device lines that attach the CD (drive id cd0): arm64's virt machine has no IDE. */
  cdrom: string[];
  /** The Debian package with the emulator, for the fix when it is missing. */
  debianPackage: string;
}

export function archSpec(arch: GuestArch): ArchSpec {
  return arch === 'arm64'
    ? {
        binary: 'qemu-system-aarch64',
        machine: 'virt',
        console: 'ttyAMA0',
        cdrom: ['-device', 'virtio-scsi-pci,id=scsi0', '-device', 'scsi-cd,drive=cd0,bus=scsi0.0'],
        debianPackage: 'qemu-system-arm',
      }
    : {
        binary: 'qemu-system-x86_64',
        machine: 'pc',
        console: 'ttyS0',
        cdrom: ['-device', 'ide-cd,drive=cd0'],
        debianPackage: 'qemu-system-x86',
      };
}

/**
 * The CPU model. Under TCG: everything QEMU can emulate ("max"), with arm64's pointer
 * authentication done by QEMU's own cheap algorithm instead of the architected QARMA (measured
 * as a large share of an emulated arm64 boot). Under a hypervisor: the host's CPU.
 */
export function cpuModel(arch: GuestArch, tcg: boolean): string {
  if (!tcg) return 'host';
  return arch === 'arm64' ? 'max,pauth-impdef=on' : 'max';
}

/**
 * UEFI firmware for an arm64 machine booted through the ISO's boot loader (a kernel booted
 * directly needs none): Homebrew's and MacPorts' edk2 build, Debian's qemu-efi-aarch64 (also
 * AAVMF), and the one QEMU for Windows ships beside its binary.
 */
export function arm64Firmware(binaryPath: string | undefined, platform: NodeJS.Platform = process.platform): string[] {
  const beside = binaryPath ? [path.join(path.dirname(binaryPath), '..', 'share', 'qemu', 'edk2-aarch64-code.fd')] : [];
  const windows = binaryPath ? [path.join(path.dirname(binaryPath), 'share', 'edk2-aarch64-code.fd')] : [];
  const byPlatform: Partial<Record<NodeJS.Platform, string[]>> = {
    darwin: [
      '/opt/homebrew/share/qemu/edk2-aarch64-code.fd',
      '/usr/local/share/qemu/edk2-aarch64-code.fd',
      '/opt/local/share/qemu/edk2-aarch64-code.fd',
    ],
    linux: [
      '/usr/share/qemu-efi-aarch64/QEMU_EFI.fd',
      '/usr/share/AAVMF/AAVMF_CODE.fd',
      '/usr/share/qemu/edk2-aarch64-code.fd',
      '/usr/share/edk2/aarch64/QEMU_EFI.fd',
    ],
    win32: windows,
  };
  return [...beside, ...(byPlatform[platform] ?? [])];
}
