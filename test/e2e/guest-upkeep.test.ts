import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QemuDriver } from '../../src/drivers/qemu/driver.js';
import { qmp } from '../../src/drivers/qemu/qmp.js';
import { describeSkew, GuestClock, type SkewEstimate } from '../../src/forward/clock.js';
import { Machine } from '../../src/machine/machine.js';
import { SshSession } from '../../src/ssh/client.js';
import { Store } from '../../src/store/store.js';
import { machine, tempStore } from '../helpers/cli.js';
import { processesMentioning } from '../helpers/processes.js';
import { testIso } from '../helpers/vm.js';

/**
 * The forwarder keeps the guest of a real VM (QEMU, software emulation, restricted network): its
 * clock is set again after the VM was paused for 30 s over QMP (and by `machine start` of a paused
 * VM), and a 256 MiB image removed in the VM comes back to the host once it is trimmed. One
 * machine for all of it.
 */
describe('the guest clock and disk space of a real VM', () => {
  const NAME = 'keep';
  const MiB = 1024 * 1024;
  let store: string;
  let vm: Machine;
  let ssh: SshSession;
  let clock: GuestClock;

  const log = () => fs.readFile(path.join(store, 'machines', NAME, 'forwarder.log'), 'utf8');
  const cli = async (args: string[]) => {
    const res = await machine(store, args);
    expect(res.exitCode, `machine ${args.join(' ')}: ${String(res.all)}`).toBe(0);
    return String(res.stdout).trim();
  };
  const allocated = async () => Number(await cli(['inspect', '-f', '{{.DiskUsageBytes}}', NAME]));
  const inVm = async (command: string) => ssh.check(command);
  const skew = async (): Promise<SkewEstimate> => (await clock.measure()).estimate;
  const pause = async (command: 'stop' | 'cont') => qmp(await (vm.driver as QemuDriver).qmpSocket(), [{ execute: command }]);
  /** Poll until done() says so; how long it took (ms). */
  const until = async (done: () => Promise<boolean>, timeoutMs: number, what: string): Promise<number> => {
    const t0 = Date.now();
    while (!(await done())) {
      if (Date.now() - t0 > timeoutMs) throw new Error(`${what}: not within ${timeoutMs / 1000} s`);
      await new Promise((r) => setTimeout(r, 500));
    }
    return Date.now() - t0;
  };

  beforeAll(async () => {
    store = await tempStore('e2e-upkeep-');
    const t0 = Date.now();
    const res = await machine(store, [
      'create',
      '-d',
      'qemu',
      '--qemu-boot2docker-url',
      await testIso(),
      '--qemu-no-share',
      '--qemu-disk-size',
      '4096',
      NAME,
    ]);
    expect(res.exitCode, String(res.all)).toBe(0);
    console.log(`create: ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    vm = await Machine.load(new Store(store), NAME);
    ssh = await SshSession.connect(await vm.sshTarget());
    // Our own reading, independent of the forwarder's session.
    clock = new GuestClock(async () => ssh);
  }, 900_000);

  afterAll(async () => {
    ssh?.close();
    await machine(store, ['rm', '-f', NAME]);
    for (const pid of await processesMentioning(store)) process.kill(pid, 'SIGKILL');
    await fs.rm(store, { recursive: true, force: true });
  });

  it('the forwarder sets the clock within seconds of the VM resuming from a 30 s pause', async () => {
    await until(async () => (await log()).includes('clock (start)'), 60_000, "the forwarder's first clock check");
    const before = await skew();
    console.log(`before the pause: ${describeSkew(before)}`);
    expect(Math.abs(before.skew)).toBeLessThan(0.5);

    await pause('stop');
    await new Promise((r) => setTimeout(r, 30_000));
    await pause('cont');
    const resumed = Date.now();
    const stale = await skew();
    console.log(`just resumed: ${describeSkew(stale)}`);
    let now = stale;
    const took = await until(
      async () => {
        now = await skew();
        return Math.abs(now.skew) < 0.5;
      },
      30_000,
      'the guest clock set again',
    );
    console.log(`set again ${((Date.now() - resumed) / 1000).toFixed(1)} s after cont (polled ${took} ms): ${describeSkew(now)}`);
    expect(stale.skew).toBeLessThan(-25); // the guest clock stood still while paused
    expect(Date.now() - resumed).toBeLessThan(15_000);
    expect(Math.abs(now.skew)).toBeLessThan(0.1);
    // The forwarder logs once it has read the clock again after setting it: a moment after we see it right.
    await until(async () => (await log()).includes('clock (the VM resumed)'), 15_000, "the forwarder's line on the resume").catch(() => 0);
    expect(await log()).toMatch(
      /clock \(the VM resumed\): the guest's clock was 3\d\.\d{3} s behind .*: set to the host's, now 0\.\d{3} s/,
    );
  }, 180_000);

  it('machine start of a paused VM resumes it, and the clock is right when it returns', async () => {
    await pause('stop');
    await new Promise((r) => setTimeout(r, 10_000));
    expect(await cli(['status', NAME])).toBe('Paused');
    const logged = (await log()).length;
    const res = await machine(store, ['start', NAME]);
    expect(res.exitCode, String(res.all)).toBe(0);
    console.log(String(res.all));
    expect(String(res.stdout)).toContain(`Machine "${NAME}" was started.`);
    const after = await skew();
    console.log(`after machine start: ${describeSkew(after)}`);
    expect(Math.abs(after.skew)).toBeLessThan(0.1);
    // Bring-up set it (the forwarder, seeing the VM resume, may have been as quick).
    const setBy = [String(res.stderr), (await log()).slice(logged)].join('\n');
    expect(setBy).toMatch(/clock (of the VM|\(the VM resumed\): the guest's clock) was 1\d\.\d{3} s behind .*: set to the host's/);
  }, 180_000);

  it('a 256 MiB image removed in the VM goes back to the host when the forwarder trims after the removal', async () => {
    // Random data made in the VM (tmpfs, so only the image's layer reaches the disk), imported there.
    await inVm('sync');
    const empty = await allocated();
    const t0 = Date.now();
    await inVm(
      'sudo dd if=/dev/urandom of=/dev/shm/random.bin bs=1M count=256 2>/dev/null && tar -C /dev/shm -c random.bin | docker import - upkeep/random:1 >/dev/null && sudo rm /dev/shm/random.bin && sync',
    );
    const full = await allocated();
    console.log(
      `allocated on the host: ${(empty / MiB).toFixed(1)} MiB, with the image ${(full / MiB).toFixed(1)} MiB (made in ${((Date.now() - t0) / 1000).toFixed(0)} s)`,
    );
    expect(full - empty).toBeGreaterThan(240 * MiB);

    await inVm('docker rmi upkeep/random:1 >/dev/null');
    const removed = Date.now();
    let now = full;
    await until(
      async () => {
        now = await allocated();
        return full - now > 200 * MiB;
      },
      150_000,
      'the disk image to shrink',
    );
    console.log(`after docker rmi: ${(now / MiB).toFixed(1)} MiB, ${((Date.now() - removed) / 1000).toFixed(1)} s later`);
    expect(await log()).toMatch(/trim \(images or volumes were removed\): fstrim discarded \S+ \w+ in the VM; its disk takes/);
    expect(full - now).toBeGreaterThan(0.8 * 256 * MiB);

    // On demand: nothing left to give back, and it says what the disk takes.
    expect(await cli(['trim', NAME])).toMatch(
      new RegExp(`^Machine "${NAME}": fstrim discarded .* in the VM; its disk takes .* on the host \\(was .*\\)$`),
    );
    expect(await cli(['ls', '--format', '{{.Name}} {{.DiskUsage}}'])).toMatch(new RegExp(`^${NAME} \\d+(\\.\\d+)? MiB$`));
  }, 600_000);
});
