import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IsoImage, bootEntry } from '../../src/iso/iso9660.js';
import { MACHINE, machine, tempStore } from '../helpers/cli.js';
import { hangingQemu } from '../helpers/hanging-qemu.js';
import { processesMentioning } from '../helpers/processes.js';
import { testIso } from '../helpers/vm.js';

/**
 * Faults during bring-up, on real VMs (QEMU, TCG): creates interrupted at random moments by
 * SIGINT, SIGTERM and SIGKILL; a disk that fills while the VM boots; a hypervisor that hangs every
 * guest. None may hang, report success, leave a process behind, or lose a config.
 */

const base = ['create', '-d', 'qemu', '--qemu-no-share'];
const env = { CI: '1', QEMU_NETWORK: 'restricted', QEMU_ACCEL: 'tcg' };

/** A small seeded random generator, so a failing trial can be replayed (the seed is printed). */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32;
}

describe('creates interrupted at random moments', () => {
  let store: string;
  beforeAll(async () => {
    store = await tempStore('faults-');
  });
  afterAll(async () => {
    for (const pid of await processesMentioning(store)) process.kill(pid, 'SIGKILL');
    await fs.rm(store, { recursive: true, force: true });
  });

  it('SIGINT/SIGTERM: exit 130 (or the signal itself during start-up) within 2 s, nothing left; SIGKILL: what is left is named by ls and removed by rm -f', async () => {
    const seed = Number(process.env.FAULT_SEED ?? Date.now() % 100_000);
    const rand = random(seed);
    const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGKILL', 'SIGINT', 'SIGTERM', 'SIGKILL', 'SIGINT', 'SIGTERM'];
    const iso = await testIso();
    const report: string[] = [];
    for (const [i, sig] of signals.entries()) {
      const name = `f${i}`;
      const delay = Math.round(rand() * 35_000);
      const child = execa(MACHINE, [...base, '--boot2docker-url', iso, name], {
        reject: false,
        all: true,
        env: { ...env, MACHINE_STORAGE_PATH: store },
      });
      let output = '';
      child.all!.on('data', (d: Buffer) => (output += d.toString()));
      await new Promise((r) => setTimeout(r, delay));
      const step = [...output.matchAll(/❯ ([^\n]+)/g)].pop()?.[1];
      const t0 = Date.now();
      child.kill(sig);
      const res = await child;
      const ms = Date.now() - t0;
      const what = `trial ${i} (seed ${seed}): ${sig} after ${delay} ms`;
      report.push(`${what}, during "${step ?? 'start-up'}": exit ${res.exitCode ?? res.signal} in ${ms} ms`);
      const dir = path.join(store, 'machines', name);
      if (res.exitCode === 0) {
        // Signalled after it had finished (any signal, SIGKILL too): then it really is complete.
        expect(String(res.all), what).toContain('Docker is up and running!');
        expect((await machine(store, ['rm', '-f', name])).exitCode).toBe(0);
      } else if (sig === 'SIGKILL') {
        if (existsSync(dir)) {
          const cfg = path.join(dir, 'config.json');
          if (existsSync(cfg)) JSON.parse(await fs.readFile(cfg, 'utf8')); // never half written
          const ls = String((await machine(store, ['ls', '--format', '{{.Name}}: {{.Error}}'])).stdout);
          if (!ls.includes(`${name}: Machine "${name}" was not completely created`)) {
            // Killed after the create had finished its work (the store entry is complete; what was
            // left is the forwarder and the last lines): a working machine, with no error.
            expect(ls, what).toMatch(new RegExp(`^${name}: $`, 'm'));
            expect(existsSync(cfg), what).toBe(true);
            expect(String((await machine(store, ['status', name])).stdout).trim(), what).toBe('Running');
          }
          const rm = await machine(store, ['rm', '-f', name]);
          expect(rm.exitCode, `${what}: ${rm.all}`).toBe(0);
        }
      } else {
        // Before it has printed anything, Node may still be loading the code: no handler listens
        // yet, so the signal ends it as it ends any process (a shell shows 128+n), at once and
        // with nothing made. From its first line on, an interrupted create exits 130.
        if (res.signal === sig) expect(output, `${what}: died by the signal after it had started`).toBe('');
        else expect(res.exitCode, `${what}: ${res.all}`).toBe(130);
        expect(ms, what).toBeLessThan(2000);
        expect(String(res.all), what).not.toContain('Docker is up and running!');
        expect(existsSync(dir), what).toBe(false);
      }
      expect(await processesMentioning(store), what).toEqual([]);
    }
    expect(await fs.readdir(path.join(store, 'machines'))).toEqual([]);
    console.log(`Interrupted creates:\n${report.join('\n')}`);
  }, 900_000);
});

describe('a disk that fills while the VM boots', () => {
  let mount: string | undefined;
  afterAll(async () => {
    if (!mount) return;
    for (const pid of await processesMentioning(mount)) process.kill(pid, 'SIGKILL');
    await execa('umount', ['-l', mount], { reject: false });
    await fs.rm(mount, { recursive: true, force: true });
  });

  it.runIf(process.getuid?.() === 0)(
    'fails within a minute naming the disk and the free space, not after a 300 s SSH wait',
    async () => {
      const iso = await testIso();
      // Room for the ISO and the kernel and initrd taken out of it, and a megabyte: the guest's first writes fill it.
      const scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'bootfiles-'));
      const image = await IsoImage.open(iso);
      const entry = (await bootEntry(image))!;
      await image.extract(entry.kernel, path.join(scratch, 'k'));
      await image.extract(entry.initrd, path.join(scratch, 'i'));
      await image.close();
      const used =
        (await fs.stat(iso)).size + (await fs.stat(path.join(scratch, 'k'))).size + (await fs.stat(path.join(scratch, 'i'))).size;
      await fs.rm(scratch, { recursive: true });
      mount = await fs.mkdtemp(path.join(os.tmpdir(), 'full-'));
      await execa('mount', ['-t', 'tmpfs', '-o', `size=${Math.ceil(used / 1048576) + 2}m,mode=0700`, 'tmpfs', mount]);
      const t0 = Date.now();
      const res = await machine(mount, [...base, '--boot2docker-url', iso, 'full']);
      const ms = Date.now() - t0;
      expect(res.exitCode, String(res.all)).toBe(1);
      const last = String(res.stderr).trim().split('\n').pop()!;
      expect(last).toMatch(
        /^Error creating machine "full" at step "(Waiting for SSH and provisioning Docker|Starting the VM)": (Machine "full" stopped: writing its disk \(.*\) failed, and \d+ MB are free there|No space left on the disk holding .*)/,
      );
      expect(last).toMatch(/free (some )?space/);
      expect(ms).toBeLessThan(120_000);
      expect(await processesMentioning(mount)).toEqual([]);
      expect(await fs.readdir(path.join(mount, 'machines'))).toEqual([]);
    },
    300_000,
  );
});

describe('a hypervisor that hangs every guest (nested virtualisation)', () => {
  let store: string;
  let qemu: string;
  beforeAll(async () => {
    store = await tempStore('hang-');
    qemu = await hangingQemu(path.join(store, 'bin'));
  });
  afterAll(async () => {
    for (const pid of await processesMentioning(store)) process.kill(pid, 'SIGKILL');
    await fs.rm(store, { recursive: true, force: true });
  });

  // The probe's own verdict (a hang there is caught in 5 s) is tested in test/unit/waits.test.ts.
  it.runIf(existsSync('/dev/kvm'))(
    'a first boot that stays silent under KVM is restarted under TCG within 20 s, and the create succeeds',
    async () => {
      const res = await machine(store, [...base, '--boot2docker-url', await testIso(), '--format', 'json', 'watched'], {
        env: { QEMU_ACCEL: 'auto', QEMU_BINARY: qemu, HANG_WHEN: 'daemonize' },
      });
      expect(res.exitCode, String(res.all)).toBe(0);
      const progress = String(res.stderr);
      const startMs = JSON.parse(String(res.stdout)).timings.find((t: { step: string }) => t.step === 'Starting the VM').ms;
      expect(progress).toMatch(/Accelerator: kvm \(kvm booted the machine's kernel in \d+ ms\)/);
      expect(progress).toMatch(
        /Accelerator: tcg \(kvm printed nothing on the console within 10 s \(a hung hypervisor\): using software emulation\)/,
      );
      expect(startMs).toBeLessThan(20_000);
      expect(String((await machine(store, ['ssh', 'watched', '--', 'echo', 'up'])).stdout).trim()).toBe('up');
      // The cache now holds the fallback, so the next start probes again instead of trusting KVM.
      const cache = JSON.parse(await fs.readFile(path.join(store, 'cache', 'qemu-accel.json'), 'utf8'));
      expect(Object.values(cache)).toEqual([expect.objectContaining({ accel: 'tcg', fallback: true })]);
      expect((await machine(store, ['rm', '-f', 'watched'])).exitCode).toBe(0);
    },
    600_000,
  );
});
