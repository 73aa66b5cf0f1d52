import { afterAll, beforeAll } from 'vitest';
import { setupVBoxChroot, type VBoxChroot } from './vboxChroot.js';

/**
 * The VirtualBox chroot for one test file: set up before its tests (or the reason they skip, said
 * once on stderr), and after them `teardown` (the file's own) and then the chroot's cleanup. Tests
 * start with `if (!vb.c) return ctx.skip(vb.skipReason)`.
 */
export function vboxChrootSuite(
  what: string,
  teardown: () => Promise<void> = async () => undefined,
  teardownMs?: number,
): { c?: VBoxChroot; skipReason: string } {
  const vb: { c?: VBoxChroot; skipReason: string } = { skipReason: '' };
  beforeAll(async () => {
    const r = await setupVBoxChroot();
    if ('skip' in r) {
      vb.skipReason = r.skip;
      console.warn(`SKIPPED ${what}: ${r.skip}`);
    } else vb.c = r;
  }, 900_000);
  afterAll(async () => {
    await teardown();
    await vb.c?.cleanup();
  }, teardownMs);
  return vb;
}
