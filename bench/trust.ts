import { spawn } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { acquire } from '../src/core/lock.js';
import { MachineError } from '../src/core/errors.js';
import { probeAccel } from '../src/drivers/qemu/accel.js';
import { IsoImage, bootEntry } from '../src/iso/iso9660.js';
import { MACHINE, machine, tempStore, writeMachineConfig } from '../test/helpers/cli.js';
import { testIso } from '../test/helpers/vm.js';
import { median, timeAsync, timeCommand } from './lib.js';

const busy = () => new MachineError('busy');

/**
 * What the trust work costs: the store lock (uncontended, and taking over a dead holder's), the
 * state of a stopped QEMU machine (found by command line when qemu.pid is gone), the accelerator
 * probe on this host, and how fast an interrupted create is gone.
 */
export async function benchTrust(): Promise<Record<string, number | string>> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bench-trust-'));
  const results: Record<string, number | string> = {};
  try {
    const file = path.join(dir, '.m.lock');
    const plain: number[] = [];
    for (let i = 0; i < 50; i++) plain.push((await timeAsync(async () => (await acquire(file, { busy }))())).ms);
    results.lock_uncontended_ms = median(plain);
    const takeover: number[] = [];
    for (let i = 0; i < 20; i++) {
      const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
      await fs.writeFile(file, JSON.stringify({ pid: child.pid, command: 'machine dead', at: String(i) }));
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      takeover.push((await timeAsync(async () => (await acquire(file, { waitMs: 0, busy }))())).ms);
    }
    results.lock_takeover_dead_owner_ms = median(takeover);

    // A stopped machine without qemu.pid: its state comes from a look at the process table.
    const store = await tempStore('bench-trust-store-');
    const mdir = await writeMachineConfig(store, 's', 'qemu', { DockerPort: 1, Shares: [] });
    await fs.writeFile(path.join(mdir, 'disk.raw'), '');
    results.node_e_0_ms = await timeCommand(process.execPath, ['-e', '0'], 10);
    results.status_stopped_qemu_ms = await timeCommand(MACHINE, ['status', 's'], 10, { MACHINE_STORAGE_PATH: store });
    await fs.rm(store, { recursive: true, force: true });

    // The accelerator probe: the machine's kernel under KVM, to its banner or the 5 s limit.
    const iso = await testIso();
    if (existsSync('/dev/kvm')) {
      const image = await IsoImage.open(iso);
      const kernel = path.join(dir, 'vmlinuz');
      await image.extract((await bootEntry(image))!.kernel, kernel);
      await image.close();
      const probe = await timeAsync(() => probeAccel('qemu-system-x86_64', kernel));
      results.accel_probe_ms = probe.ms;
      results.accel_probe_verdict = probe.value.accel;
    }

    // Ctrl-C during the SSH wait of a create: from the signal until the command is gone, VM and folder removed.
    const istore = await tempStore('bench-interrupt-');
    const child = execa(MACHINE, ['create', '-d', 'qemu', '--qemu-no-share', '--boot2docker-url', iso, 'i'], {
      reject: false,
      all: true,
      env: { CI: '1', QEMU_NETWORK: 'restricted', QEMU_ACCEL: 'tcg', MACHINE_STORAGE_PATH: istore },
    });
    await new Promise<void>((resolve) => child.all!.on('data', (d: Buffer) => /Waiting for SSH/.test(d.toString()) && resolve()));
    await new Promise((r) => setTimeout(r, 3000));
    const t0 = performance.now();
    child.kill('SIGINT');
    await child;
    results.create_interrupted_exit_ms = performance.now() - t0;
    results.create_interrupted_left_behind = (await fs.readdir(path.join(istore, 'machines'))).length;
    await machine(istore, ['rm', '-f', 'i']);
    await fs.rm(istore, { recursive: true, force: true });
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
  return results;
}
