import { constants, promises as fs } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { readIfExists, writeFileAtomic } from '../../core/files.js';

export type Accel = 'kvm' | 'hvf' | 'tcg';

const PROBE_TIMEOUT_MS = 2500;
const CACHE_TTL_MS = 24 * 3600_000;

/**
 * Does the hypervisor accelerator really work? /dev/kvm can exist and still hang (nested
 * virtualisation on some clouds), so boot an empty VM that reboots at once and must exit well within
 * the timeout. The verdict is cached for a day in the store's cache.
 */
export async function probeAccel(qemu: string, cacheDir: string): Promise<{ accel: Accel; reason: string }> {
  const wanted: Accel | undefined = process.platform === 'linux' ? 'kvm' : process.platform === 'darwin' ? 'hvf' : undefined;
  if (!wanted) return { accel: 'tcg', reason: `no accelerator supported on ${process.platform}` };
  if (wanted === 'kvm') {
    try {
      await fs.access('/dev/kvm', constants.R_OK | constants.W_OK);
    } catch {
      return { accel: 'tcg', reason: '/dev/kvm is missing or not accessible' };
    }
  }
  const cacheFile = path.join(cacheDir, 'qemu-accel.json');
  const cached = await readIfExists(cacheFile)
    .then((t) => (t ? (JSON.parse(t) as { qemu: string; accel: Accel; reason: string; at: number }) : undefined))
    .catch(() => undefined);
  if (cached && cached.qemu === qemu && Date.now() - cached.at < CACHE_TTL_MS) return cached;

  const verdict = await runProbe(qemu, wanted);
  await fs.mkdir(cacheDir, { recursive: true, mode: 0o700 });
  await writeFileAtomic(cacheFile, JSON.stringify({ qemu, ...verdict, at: Date.now() }), 0o600).catch(() => undefined);
  return verdict;
}

async function runProbe(qemu: string, accel: Accel): Promise<{ accel: Accel; reason: string }> {
  const started = Date.now();
  const res = await execa(
    qemu,
    ['-accel', accel, '-M', 'pc', '-nodefaults', '-display', 'none', '-no-reboot', '-boot', 'strict=on,reboot-timeout=0'],
    { reject: false, timeout: PROBE_TIMEOUT_MS, killSignal: 'SIGKILL', stdin: 'ignore' },
  );
  const ms = Date.now() - started;
  if (res.timedOut) return { accel: 'tcg', reason: `${accel} did not run an empty VM within ${PROBE_TIMEOUT_MS} ms` };
  if (res.exitCode !== 0)
    return { accel: 'tcg', reason: `${accel} failed: ${res.stderr.trim().split('\n').pop() ?? 'exit ' + res.exitCode}` };
  return { accel, reason: `${accel} ran an empty VM in ${ms} ms` };
}
