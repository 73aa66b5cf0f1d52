import { spawn } from 'node:child_process';
import { constants, createReadStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { readIfExists, writeFileAtomic } from '../../core/files.js';
import { withFileLock } from '../../core/lock.js';
import { MachineError } from '../../core/errors.js';
import { type GuestArch, hostArch, nativeArch } from '../../core/arch.js';
import { realSystem, type System } from '../../core/system.js';
import { archSpec } from './arch.js';

export type Accel = 'kvm' | 'hvf' | 'tcg';

export interface AccelVerdict {
  accel: Accel;
  reason: string;
  /** True when the hypervisor was wanted but did not work: tried again at the next start. */
  fallback: boolean;
}

/** How long the ISO's own kernel may take to print its banner under a working hypervisor. */
export const PROBE_TIMEOUT_MS = 5000;

/** The hypervisor this platform offers QEMU, if any. */
export function platformAccel(platform = process.platform): Accel | undefined {
  return platform === 'linux' ? 'kvm' : platform === 'darwin' ? 'hvf' : undefined;
}

/**
 * Does the hypervisor accelerator really run Linux? /dev/kvm can exist, run an empty VM and still
 * hang every real guest (nested virtualisation): so boot the machine's own kernel under it and wait
 * for its banner on the serial console. A verdict that the hypervisor works is kept for this QEMU
 * (its version) and this kernel; a fallback to software emulation is probed again next time.
 */
export async function chooseAccel(
  qemu: { binary: string; version: string },
  kernel: string | undefined,
  cacheDir: string,
  opts: { signal?: AbortSignal; arch?: GuestArch } = {},
): Promise<AccelVerdict> {
  const { signal, arch = 'amd64' } = opts;
  const wanted = await usableAccel(arch);
  if (typeof wanted !== 'string') return wanted;
  if (!kernel) return { accel: wanted, reason: `${wanted} (not probed: no kernel to boot; the first boot is watched)`, fallback: false };
  const key = await verdictKey(qemu, kernel);
  const cacheFile = path.join(cacheDir, 'qemu-accel.json');
  // One probe at a time per store: parallel creates share the verdict instead of each booting one.
  return withFileLock(
    path.join(cacheDir, '.qemu-accel.lock'),
    { waitMs: PROBE_TIMEOUT_MS * 4, busy: () => new MachineError('Another machine command is probing the accelerator') },
    async () => {
      const cache = await readCache(cacheFile);
      const hit = cache[key];
      if (hit && !hit.fallback) return { ...hit, reason: `${hit.reason}; checked before for this QEMU and kernel` };
      const verdict = await probe(qemu.binary, wanted, kernel, arch, signal);
      await recordVerdict(cacheDir, key, verdict);
      return verdict;
    },
  );
}

/** The probe alone, without the cache (doctor: today's verdict). */
export async function probeAccel(qemu: string, kernel: string, arch: GuestArch = hostArch()): Promise<AccelVerdict> {
  const wanted = await usableAccel(arch);
  return typeof wanted === 'string' ? probe(qemu, wanted, kernel, arch) : wanted;
}

/**
 * The platform's hypervisor if its device is there and the machine is of the host's own
 * architecture, else the verdict that it is emulated.
 */
export async function usableAccel(
  arch: GuestArch,
  host: Pick<System, 'platform' | 'arch' | 'exec'> = realSystem(),
): Promise<Accel | AccelVerdict> {
  const native = await nativeArch(host);
  if (arch !== native) {
    return {
      accel: 'tcg',
      reason: `an ${arch} machine on this ${native} computer is emulated (no hypervisor runs another architecture)`,
      fallback: false,
    };
  }
  const wanted = platformAccel(host.platform);
  if (!wanted) return { accel: 'tcg', reason: `no hypervisor for QEMU on ${host.platform}`, fallback: false };
  if (wanted === 'kvm') {
    try {
      await fs.access('/dev/kvm', constants.R_OK | constants.W_OK);
    } catch {
      return { accel: 'tcg', reason: '/dev/kvm is missing or not accessible', fallback: false };
    }
  }
  return wanted;
}

/** Remember that the accelerator hung after all (the first boot printed nothing). */
export async function recordHang(qemu: { binary: string; version: string }, kernel: string | undefined, cacheDir: string, reason: string) {
  if (!kernel) return;
  await recordVerdict(cacheDir, await verdictKey(qemu, kernel), { accel: 'tcg', reason, fallback: true });
}

/** Verdicts are per QEMU (binary and version) and per kernel. */
async function verdictKey(qemu: { binary: string; version: string }, kernel: string): Promise<string> {
  const kernelHash = await fileHash(kernel);
  return createHash('sha256').update(`${qemu.binary}\n${qemu.version}\n${kernelHash}`).digest('hex').slice(0, 24);
}

type Cache = Record<string, AccelVerdict & { at: string }>;

async function readCache(file: string): Promise<Cache> {
  try {
    return JSON.parse((await readIfExists(file)) ?? '{}') as Cache;
  } catch {
    return {};
  }
}

async function recordVerdict(cacheDir: string, key: string, verdict: AccelVerdict): Promise<void> {
  const file = path.join(cacheDir, 'qemu-accel.json');
  const cache = await readCache(file);
  cache[key] = { ...verdict, at: new Date().toISOString() };
  await fs.mkdir(cacheDir, { recursive: true, mode: 0o700 });
  await writeFileAtomic(file, `${JSON.stringify(cache, null, 2)}\n`, 0o600).catch(() => undefined);
}

function fileHash(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(file)
      .on('data', (d) => hash.update(d))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}

/** Boot the kernel alone (no initrd: it panics right after its banner) and wait for "Linux version". */
function probe(qemu: string, accel: Accel, kernel: string, arch: GuestArch, signal?: AbortSignal): Promise<AccelVerdict> {
  const started = Date.now();
  const spec = archSpec(arch);
  return new Promise((resolve, reject) => {
    const args = ['-accel', accel, '-M', spec.machine, '-cpu', 'host', '-m', '256', '-nodefaults', '-no-user-config', '-display', 'none'];
    // earlycon: arm64's kernel prints through the device tree's console before its driver loads
    const early = arch === 'arm64' ? 'earlycon' : 'earlyprintk=serial,ttyS0,115200';
    args.push('-serial', 'stdio', '-no-reboot', '-kernel', kernel, '-append', `console=${spec.console} ${early} loglevel=4 panic=-1`);
    const child = spawn(qemu, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const onAbort = () => {
      finish();
      reject(signal!.reason);
    };
    const finish = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      child.stdout.removeAllListeners('data');
      child.removeAllListeners('close');
      child.kill('SIGKILL');
    };
    const done = (verdict: AccelVerdict) => {
      finish();
      resolve(verdict);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(
      () =>
        done({
          accel: 'tcg',
          reason: `${accel} printed nothing within ${PROBE_TIMEOUT_MS / 1000} s of booting the machine's kernel (a hung hypervisor, as under nested virtualisation): using software emulation`,
          fallback: true,
        }),
      PROBE_TIMEOUT_MS,
    );
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString('latin1');
      if (/Linux version/.test(out))
        done({ accel, reason: `${accel} booted the machine's kernel in ${Date.now() - started} ms`, fallback: false });
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.once('error', (e) => done({ accel: 'tcg', reason: `${accel} could not be tried: ${e.message}`, fallback: true }));
    child.once('close', (code) => {
      const last = err.trim().split('\n').filter(Boolean).pop() ?? `QEMU exited with code ${code}`;
      done({ accel: 'tcg', reason: `${accel} failed (${last}): using software emulation`, fallback: true });
    });
  });
}
