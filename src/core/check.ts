import { constants, promises as fs } from 'node:fs';
import { messageOf } from './errors.js';
import { portIsFree } from './ports.js';
import { realSystem, type System } from './system.js';

/** One finding of `machine doctor` (its own checks and the drivers'): a verdict, what was seen, the fix. */

/**
 * ok: works as it should. warn: works, but slower, riskier or about to break. fail: something
 * machines need does not work (doctor exits 1). info: nothing to judge here (not installed and not
 * needed, not running), said so the report is complete.
 */
export type Verdict = 'ok' | 'warn' | 'fail' | 'info';

export interface CheckResult {
  /** Stable id for scripts: "qemu", "kvm", "certs", ... */
  id: string;
  /** Short name shown in the first column. */
  title: string;
  /** The machine a per-machine check is about. */
  machine?: string;
  status: Verdict;
  message: string;
  fix?: string;
  /** Facts behind the verdict (versions, paths, seconds), for --format json. */
  details?: Record<string, unknown>;
}

export function check(
  id: string,
  title: string,
  status: Verdict,
  message: string,
  extra: { fix?: string; machine?: string; details?: Record<string, unknown> } = {},
): CheckResult {
  return {
    id,
    title,
    ...(extra.machine ? { machine: extra.machine } : {}),
    status,
    message,
    ...(extra.fix ? { fix: extra.fix } : {}),
    ...(extra.details ? { details: extra.details } : {}),
  };
}

/** A check that throws is a failed check, not a failed doctor. */
export function guarded(id: string, title: string, p: Promise<CheckResult>): Promise<CheckResult> {
  return p.catch((err) => check(id, title, 'fail', `the check itself failed: ${messageOf(err)}`));
}

/**
 * Everything doctor and the drivers' doctor checks ask of the computer, injectable: the drivers'
 * System (platform, environment, programs, files, interfaces) plus what only doctor needs.
 */
export interface DoctorSystem extends System {
  /** A path exists (devices and folders included). */
  exists(file: string): Promise<boolean>;
  /** Can the OS give us 127.0.0.1:port right now? */
  portFree(port: number): Promise<boolean>;
  /** Does QEMU's accelerator really boot the machines' kernel? Tests give the answer; else the QEMU driver tries. */
  probeAccel?(qemu: string, isos: string[]): Promise<{ accel: string; reason: string }>;
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
