import { messageOf } from './errors.js';

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
