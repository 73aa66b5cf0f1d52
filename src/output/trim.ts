import type { TrimResult } from '../commands/trim.js';
import { formatBytes } from '../core/units.js';

/** One line: what fstrim discarded, and what the disk image takes on the host now (and before). */
export function renderTrim(r: TrimResult): string {
  const host = r.after
    ? `; its disk takes ${formatBytes(r.after.allocated)} on the host${r.before ? ` (was ${formatBytes(r.before.allocated)})` : ''}`
    : '';
  return `Machine "${r.name}": fstrim discarded ${formatBytes(r.trimmed)} in the VM${host}`;
}
