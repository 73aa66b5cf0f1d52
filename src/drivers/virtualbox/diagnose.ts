import path from 'node:path';
import { MachineError } from '../../core/errors.js';
import type { System } from '../../core/system.js';
import { errorLines, hardeningProblem, hyperVProblemInLog, lastLogError, parseFrontendError, vtxProblemInLog } from './parse.js';

/**
 * Why a VM did not start, in one line with its fix. VBoxManage and the web service only say "has
 * terminated unexpectedly during startup with exit code 1"; the cause is in VBoxHardening.log
 * (Windows), VBox.log, or, when the VM process died before writing any log (no kernel driver), in
 * what a hardened frontend prints when it starts: running `VBoxHeadless --help` is harmless (it
 * starts no VM) and fails the same way, e.g. "Error -1908 in suplibOsInit! Kernel driver not installed".
 */

export interface StartFailure {
  host: System;
  machine: string;
  /** What VBoxManage startvm / IProgress said. */
  message: string;
  /** The VM's log folder (showvminfo LogFldr / IMachine.logFolder). */
  logFolder?: string;
  /** VBoxHeadless next to VBoxManage, if found. */
  frontend?: string;
}

export const VTX_ERROR = "This computer doesn't have VT-X/AMD-v enabled. Enabling it in the BIOS is mandatory";

export function vtxFix(platform: NodeJS.Platform): string {
  return platform === 'win32'
    ? 'turn on Intel VT-x / AMD-V in the BIOS/UEFI setup; if Hyper-V, WSL2 or Memory Integrity is on, VirtualBox must run through it (VirtualBox 6+) or they must be turned off ("bcdedit /set hypervisorlaunchtype off")'
    : 'turn on Intel VT-x / AMD-V in the BIOS/UEFI setup; in a virtual machine, enable nested virtualization on its host';
}

function driverFix(platform: NodeJS.Platform, rc: number): string {
  if (platform === 'darwin')
    return 'allow the "Oracle America" system extension in System Settings > Privacy & Security, then restart the Mac (or reinstall VirtualBox)';
  if (platform === 'win32')
    return 'repair VirtualBox (run its installer and choose Repair) and restart Windows; "sc query vboxsup" must say RUNNING';
  switch (rc) {
    case -1909:
      return 'add your user to the vboxusers group ("sudo usermod -aG vboxusers $USER") and log in again';
    case -1910:
    case -1911:
      return 'the vboxdrv module does not load: rebuild it ("sudo /sbin/vboxconfig", or reinstall virtualbox-dkms) and look at "dmesg"';
    case -1912:
      return 'the loaded vboxdrv module belongs to another VirtualBox version: rebuild it ("sudo /sbin/vboxconfig", or reinstall virtualbox-dkms), or restart after the upgrade';
    default:
      return 'load the VirtualBox kernel module: "sudo modprobe vboxdrv" (install virtualbox-dkms and your kernel\'s headers first, or run "sudo /sbin/vboxconfig" with Oracle\'s package; with Secure Boot the module must be signed)';
  }
}

export async function explainStartFailure(f: StartFailure): Promise<MachineError> {
  const subject = `VirtualBox could not start machine "${f.machine}"`;
  const base = errorLines(f.message)[0] ?? f.message.trim().split('\n')[0] ?? 'unknown error';
  // A store moved between computers: an ARM VM on an x86 host, or the other way (VBOX_E_PLATFORM_ARCH_NOT_SUPPORTED).
  const arch = /platform architecture (\S+) is not supported on (\S+)/.exec(f.message);
  if (arch) {
    return new MachineError(`${subject}: it is an ${arch[1]} VM, and VirtualBox here runs ${arch[2]} VMs only`, {
      fix: `create a new machine on this computer ("machine rm ${f.machine}", then "machine create")`,
    });
  }
  const read = (name: string) => (f.logFolder ? f.host.readFile(path.join(f.logFolder, name)) : Promise.resolve(undefined));

  const hardening = (await read('VBoxHardening.log')) ?? (await read('VBoxStartup.log'));
  const fromHardening = hardening ? parseFrontendError(hardening) : undefined;
  if (fromHardening) return driverError(subject, fromHardening.text, fromHardening.code, fromHardening.rc, f.host.platform);

  const log = await read('VBox.log');
  if (log) {
    const vtx = vtxProblemInLog(log);
    if (vtx) return new MachineError(`${subject}: ${VTX_ERROR} (${vtx})`, { fix: vtxFix(f.host.platform) });
    const hyperv = hyperVProblemInLog(log);
    if (hyperv) {
      return new MachineError(`${subject}: Hyper-V holds the virtualization extensions (${hyperv})`, {
        fix: 'use VirtualBox 6.1 or later, which runs on Hyper-V through the Windows Hypervisor Platform, or turn Hyper-V off ("bcdedit /set hypervisorlaunchtype off") and restart',
      });
    }
  }
  const hardened = hardening ? hardeningProblem(hardening) : undefined;
  if (hardened) return new MachineError(`${subject}: ${hardened}`, { fix: driverFix(f.host.platform, -1908) });

  if (f.frontend && /terminated unexpectedly during startup|VERR_SUP|suplib|Kernel driver/i.test(f.message)) {
    const probe = await f.host.exec(f.frontend, ['--help'], { timeoutMs: 15_000 });
    const fe = parseFrontendError(`${probe.stderr}\n${probe.stdout}`);
    if (fe) return driverError(subject, fe.text, fe.code, fe.rc, f.host.platform);
  }
  const direct = parseFrontendError(f.message);
  if (direct) return driverError(subject, direct.text, direct.code, direct.rc, f.host.platform);

  const last = log ? lastLogError(log) : undefined;
  return new MachineError(`${subject}: ${base}${last ? ` (VBox.log: ${last})` : ''}`, {
    fix: f.logFolder ? `look at ${path.join(f.logFolder, 'VBox.log')}` : undefined,
  });
}

function driverError(subject: string, text: string, code: string | undefined, rc: number, platform: NodeJS.Platform): MachineError {
  return new MachineError(`${subject}: ${text} (${code ? `${code}, ` : ''}rc=${rc})`, { fix: driverFix(platform, rc) });
}
