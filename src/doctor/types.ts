import { constants, promises as fs } from 'node:fs';
import type { CheckResult, Verdict } from '../core/check.js';
import { portIsFree } from '../core/ports.js';
import { type System, realSystem } from '../core/system.js';

export interface DoctorReport {
  platform: NodeJS.Platform;
  arch: string;
  storagePath: string;
  checks: CheckResult[];
  summary: Record<Verdict, number>;
}

/**
 * Everything doctor and the drivers' doctor checks ask of the computer, injectable: the drivers'
 * HostEnv (platform, environment, programs, files, interfaces) plus what only doctor needs.
 */
export interface DoctorSystem extends System {
  /** A path exists (devices and folders included). */
  exists(file: string): Promise<boolean>;
  /** Can the OS give us 127.0.0.1:port right now? */
  portFree(port: number): Promise<boolean>;
  /** Does QEMU's accelerator really boot the machines' kernel? Tests give the answer; else the QEMU driver tries. */
  probeAccel?(qemu: string): Promise<{ accel: string; reason: string }>;
  now(): number;
}

export function realDoctorSystem(): DoctorSystem {
  return {
    ...realSystem(),
    exists: (file) =>
      fs.access(file, constants.F_OK).then(
        () => true,
        () => false,
      ),
    portFree: portIsFree,
    now: () => Date.now(),
  };
}
