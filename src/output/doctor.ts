import type { CheckResult, Verdict } from '../core/check.js';
import type { DoctorReport } from '../doctor/types.js';

const LABEL: Record<Verdict, string> = { ok: 'ok', warn: 'warn', fail: 'FAIL', info: 'info' };
const COLOR: Record<Verdict, string> = { ok: '\x1b[32m', warn: '\x1b[33m', fail: '\x1b[1;31m', info: '\x1b[2m' };

/** One line per check: verdict, name (and machine), what was found, and the fix. */
export function renderDoctor(report: DoctorReport, opts: { color?: boolean } = {}): string {
  const name = (c: CheckResult) => (c.machine ? `${c.title} (${c.machine})` : c.title);
  const width = Math.max(...report.checks.map((c) => name(c).length));
  const lines = report.checks.map((c) => {
    const label = LABEL[c.status].padEnd(5);
    const verdict = opts.color ? `${COLOR[c.status]}${label}\x1b[0m` : label;
    return `${verdict}${name(c).padEnd(width)}  ${c.message}${c.fix ? `; fix: ${c.fix}` : ''}`;
  });
  const s = report.summary;
  lines.push('', `${s.ok} ok, ${s.warn} warning${s.warn === 1 ? '' : 's'}, ${s.fail} failed, ${s.info} info`);
  return `${lines.join('\n')}\n`;
}
