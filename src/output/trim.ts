import type { TrimResult } from '../commands/trim.js';
import { describeTrim } from '../forward/trim.js';

/** One line: what fstrim discarded, and what the disk image takes on the host now (and before). */
export function renderTrim(r: TrimResult): string {
  return `Machine "${r.name}": ${describeTrim(r.trimmed, r.before, r.after)}`;
}
