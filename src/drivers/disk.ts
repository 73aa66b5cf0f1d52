import { promises as fs } from 'node:fs';
import type { DiskUsage } from './driver.js';

/**
 * A disk image file as the host stores it: its allocated blocks (a sparse raw file or a growing VDI
 * takes less than its size, and gives space back when the guest trims), else its length where the
 * platform counts no blocks (Windows). Undefined when the file is not here.
 */
export async function imageUsage(file: string, size?: number): Promise<DiskUsage | undefined> {
  const st = await fs.stat(file).catch(() => undefined);
  if (!st) return undefined;
  const allocated = Number.isFinite(st.blocks) ? st.blocks * 512 : st.size;
  return { path: file, allocated, size: size ?? st.size };
}
