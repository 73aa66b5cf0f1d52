import { constants, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { portIsFree } from '../core/ports.js';
import { type HostEnv, realHostEnv } from '../core/system.js';

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

export interface DoctorReport {
  platform: NodeJS.Platform;
  arch: string;
  storagePath: string;
  checks: CheckResult[];
  summary: Record<Verdict, number>;
}

/**
 * Everything doctor asks of the computer, injectable: the VirtualBox driver's HostEnv (platform,
 * environment, programs, files, interfaces) plus what only doctor needs.
 */
export interface DoctorHost extends HostEnv {
  /** A path exists (devices and folders included). */
  exists(file: string): Promise<boolean>;
  /** Can the OS give us 127.0.0.1:port right now? */
  portFree(port: number): Promise<boolean>;
  /** Does QEMU's accelerator really boot the machines' kernel? (The QEMU driver's probe, without its cache.) */
  probeAccel(qemu: string): Promise<{ accel: string; reason: string }>;
  now(): number;
}

export function realDoctorHost(): DoctorHost {
  return {
    ...realHostEnv(),
    exists: (file) =>
      fs.access(file, constants.F_OK).then(
        () => true,
        () => false,
      ),
    portFree: portIsFree,
    probeAccel: async (qemu) => {
      const { probeAccel } = await import('../drivers/qemu/accel.js');
      const { builtIsoPath } = await import('../iso/recipe.js');
      const { IsoImage, isolinuxBootEntry } = await import('../iso/iso9660.js');
      // The kernel machines boot, from the built ISO: an empty VM runs even where Linux hangs.
      const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'machine-doctor-'));
      try {
        const iso = await builtIsoPath()
          .then((file) => IsoImage.open(file))
          .catch(() => undefined);
        const entry = iso && (await isolinuxBootEntry(iso));
        const kernel = path.join(dir, 'vmlinuz');
        const extracted = entry && (await iso.extract(entry.kernel, kernel));
        await iso?.close();
        if (!extracted) return { accel: 'unknown', reason: 'not tried yet: no machine ISO to boot its kernel (machine create tries it)' };
        return await probeAccel(qemu, kernel);
      } finally {
        await fs.rm(dir, { recursive: true, force: true });
      }
    },
    now: () => Date.now(),
  };
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
