import type { CheckResult, Verdict } from '../core/check.js';

export interface DoctorReport {
  platform: NodeJS.Platform;
  arch: string;
  storagePath: string;
  checks: CheckResult[];
  summary: Record<Verdict, number>;
}
