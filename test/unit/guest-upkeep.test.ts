import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatBytes } from '../../src/core/units.js';
import {
  bestEstimate,
  CLOCK_THRESHOLD_S,
  clockVerdict,
  estimateSkew,
  GuestClock,
  parseGuestTime,
  READ_CLOCK,
  SET_CLOCK,
  setPlan,
  type SkewEstimate,
} from '../../src/forward/clock.js';
import { parseTrimmed, TRIM } from '../../src/forward/trim.js';
import { clockLine, freesSpace, hostGap, TICK_MS, trimDelay } from '../../src/forward/upkeep.js';
import { SshSession } from '../../src/ssh/client.js';
import { generateKeyPair } from '../../src/ssh/keys.js';
import { startBusyboxShell } from '../helpers/sftp.js';

const run = promisify(execFile);

/** What the guest's shell prints for a command after its ready line, as a user's shell would run it. */
async function inShell(shell: string[], command: string, env?: NodeJS.ProcessEnv): Promise<string> {
  const child = execFile(shell[0]!, [...shell.slice(1), command], { env });
  child.stdin!.end('\n');
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise((resolve) => child.on('close', resolve));
  return out.slice(out.indexOf('\n') + 1);
}

describe('reading the guest clock', () => {
  it('parses what each reader prints: ash $EPOCHREALTIME, busybox adjtimex (µs, or ns with STA_NANO), whole seconds', () => {
    expect(parseGuestTime('1796185727.984564\n')).toEqual({ seconds: 1796185727.984564, resolution: 1e-6 });
    const adjtimex = [
      '    mode:         0',
      '-o  offset:       0 us',
      '    status:       64 (UNSYNC)',
      '-t  tick:         10000 us',
      '    time.tv_sec:  1796185752',
      '    time.tv_usec: 277892',
      '    return value: 5 (clock not synchronized)',
    ].join('\n');
    expect(parseGuestTime(adjtimex)).toEqual({ seconds: 1796185752.277892, resolution: 1e-6 });
    const nano = adjtimex.replace('64 (UNSYNC)', '8193 (PLL | NANO)').replace('277892', '277892123');
    expect(parseGuestTime(nano)!.seconds).toBeCloseTo(1796185752.277892123, 6);
    expect(parseGuestTime('1796185752\n')).toEqual({ seconds: 1796185752, resolution: 1 });
    for (const junk of ['', 'sh: date: not found', '17961857.52.1', '1796185752.%N']) expect(parseGuestTime(junk)).toBeUndefined();
  });

  it('READ_CLOCK in busybox sh reads $EPOCHREALTIME; in a shell without it (dash), whatever date gives', async () => {
    const before = Date.now() / 1000;
    const ash = parseGuestTime(await inShell(['busybox', 'sh', '-c'], READ_CLOCK))!;
    expect(ash.resolution).toBe(1e-6);
    expect(Math.abs(ash.seconds - before)).toBeLessThan(2);
    const dash = parseGuestTime(await inShell(['dash', '-c'], READ_CLOCK))!;
    expect(dash.resolution).toBe(1); // GNU date +%s
    expect(Math.abs(dash.seconds - before)).toBeLessThan(3);
    // An older busybox (boot2docker's): no $EPOCHREALTIME, but the adjtimex applet.
    const bin = await fs.mkdtemp(path.join(os.tmpdir(), 'adjtimex-'));
    await fs.symlink('/usr/bin/busybox', path.join(bin, 'adjtimex'));
    const adj = parseGuestTime(await inShell(['dash', '-c'], READ_CLOCK, { PATH: `${bin}:/usr/bin:/bin` }))!;
    await fs.rm(bin, { recursive: true });
    expect(adj.resolution).toBeLessThanOrEqual(1e-6);
    expect(Math.abs(adj.seconds - Date.now() / 1000)).toBeLessThan(2);
  });

  it('takes the host time in the middle of the round trip, and a whole-second reading in the middle of its second', () => {
    const e = estimateSkew({ sentAt: 1_000_000, rttMs: 20, guest: { seconds: 970.01, resolution: 1e-6 } });
    expect(e.skew).toBeCloseTo(-30, 5);
    expect(e.uncertainty).toBeCloseTo(0.01, 5);
    const coarse = estimateSkew({ sentAt: 1_000_000, rttMs: 10, guest: { seconds: 1000, resolution: 1 } });
    expect(coarse.skew).toBeCloseTo(0.495, 5);
    expect(coarse.uncertainty).toBeCloseTo(0.505, 5);
    expect(bestEstimate([e, coarse, { ...e, uncertainty: 0.002 }]).uncertainty).toBe(0.002);
  });
});

describe('deciding to set the guest clock', () => {
  const est = (skew: number, uncertainty: number): SkewEstimate => ({ skew, uncertainty, rttMs: uncertainty * 2000 });

  it('sets a clock surely off by more than half a second, either way, and leaves one surely within it', () => {
    expect(CLOCK_THRESHOLD_S).toBe(0.5);
    expect(clockVerdict(est(-30.02, 0.005))).toBe('correct'); // paused 30 s
    expect(clockVerdict(est(3600, 0.005))).toBe('correct'); // ahead (the host's clock was set back)
    expect(clockVerdict(est(0.012, 0.005))).toBe('ok');
    expect(clockVerdict(est(-0.49, 0.005))).toBe('ok');
    expect(clockVerdict(est(-0.51, 0.005))).toBe('correct');
  });

  it('reads again rather than act on an imprecise reading near the threshold; whole seconds only when surely off', () => {
    expect(clockVerdict(est(0.6, 0.3))).toBe('unsure'); // a guest that answered slowly
    expect(clockVerdict(est(5, 0.3))).toBe('correct');
    expect(clockVerdict(est(0.1, 0.3))).toBe('ok');
    expect(clockVerdict(est(0.495, 0.505))).toBe('unsure'); // date +%s within its second
    expect(clockVerdict(est(30.495, 0.505))).toBe('correct');
  });

  it('sends the next whole second a line can still reach, its way there early', () => {
    expect(setPlan(10_000, 5)).toEqual({ seconds: 11, sendAt: 10_995 });
    expect(setPlan(10_990, 5)).toEqual({ seconds: 12, sendAt: 11_995 });
    expect(setPlan(10_500, 100)).toEqual({ seconds: 11, sendAt: 10_900 });
  });

  it('says what it found and did in the log', () => {
    const before = est(-30.024, 0.005);
    expect(clockLine({ verdict: 'correct', before, after: est(-0.005, 0.004) }, 'the VM resumed')).toBe(
      "clock (the VM resumed): the guest's clock was 30.024 s behind (±0.005 s): set to the host's, now 0.005 s behind (±0.004 s)",
    );
    expect(clockLine({ verdict: 'ok', before: est(0.012, 0.003) }, 'start')).toBe(
      "clock (start): the guest's clock is right: 0.012 s ahead (±0.003 s)",
    );
  });
});

describe('GuestClock over a real SSH session to a busybox shell', () => {
  let server: Awaited<ReturnType<typeof startBusyboxShell>>;
  let dir: string;
  let session: SshSession;

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'clock-'));
    const bin = path.join(dir, 'bin');
    await fs.mkdir(bin);
    // Stand-ins for what needs root: sudo runs the command as us; date -s records when it ran and what it was given.
    await fs.writeFile(path.join(bin, 'sudo'), '#!/bin/sh\nexec "$@"\n', { mode: 0o755 });
    await fs.writeFile(path.join(bin, 'date'), `#!/usr/bin/busybox sh\necho "$EPOCHREALTIME $*" >> ${dir}/date.log\n`, { mode: 0o755 });
    const key = generateKeyPair();
    server = await startBusyboxShell(key.privateKey, { PATH: `${bin}:/usr/bin:/bin` });
    session = await SshSession.connect({
      host: '127.0.0.1',
      port: server.port,
      user: 'docker',
      privateKey: key.privateKey,
      knownHostsFile: path.join(dir, 'known_hosts'),
      name: 'unit',
    });
  });
  afterAll(async () => {
    session?.close();
    await server?.stop();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('measures a guest on the same clock as within a few milliseconds, good to the round trip', async () => {
    const clock = new GuestClock(async () => session);
    const { estimate, verdict } = await clock.measure();
    console.log(`skew ${estimate.skew.toFixed(4)} s, ±${estimate.uncertainty.toFixed(4)} s, round trip ${estimate.rttMs.toFixed(1)} ms`);
    expect(verdict).toBe('ok');
    expect(estimate.uncertainty).toBeLessThan(0.05);
    expect(Math.abs(estimate.skew)).toBeLessThan(estimate.uncertainty + 0.005);
  });

  it('sets the clock with the whole second sent so that date runs at that second', async () => {
    await new GuestClock(async () => session).set(2);
    const [ranAt, args] = (await fs.readFile(path.join(dir, 'date.log'), 'utf8')).trim().split(/ (.*)/s) as [string, string];
    const seconds = Number(/^-s @(\d+)$/.exec(args)?.[1]);
    console.log(`date ${args} ran at ${ranAt}`);
    // Tens of milliseconds late here (a shell script starting on a busy host); a wrong plan is a second off.
    expect(Math.abs(Number(ranAt) - seconds)).toBeLessThan(0.25);
  });

  it('the guest refuses anything but digits before date sees it', async () => {
    await fs.rm(path.join(dir, 'date.log'), { force: true });
    for (const hostile of ['1; touch pwned', '$(touch pwned)', '', '12 34']) {
      const res = await session.exchange(SET_CLOCK, () => hostile);
      expect(res.code, hostile).toBe(2);
    }
    await expect(fs.access(path.join(dir, 'date.log'))).rejects.toThrow();
    await expect(fs.access('pwned')).rejects.toThrow();
  });

  it('a command that fails before it is ready is an error that says what the guest said', async () => {
    const clock = new GuestClock(async () => session);
    await fs.writeFile(path.join(dir, 'bin', 'sudo'), '#!/bin/sh\necho "sudo: a password is required" >&2; exit 1\n', { mode: 0o755 });
    await expect(clock.set(2)).rejects.toThrow(/cannot set the clock of machine "unit": sudo: a password is required/);
  });
});

describe('when the forwarder looks again', () => {
  it('a tick whose wall-clock interval is far from the timer interval: the host slept or its clock was stepped', () => {
    const t = 1_000_000;
    expect(hostGap(t, t + TICK_MS, TICK_MS)).toBe(false);
    expect(hostGap(t, t + TICK_MS + 500, TICK_MS)).toBe(false); // a busy event loop
    expect(hostGap(t, t + TICK_MS + 30_000, TICK_MS)).toBe(true); // 30 s asleep
    expect(hostGap(t, t - 60_000, TICK_MS)).toBe(true); // set back a minute
  });

  it('trims 10 s after the last image or volume went, within a minute of the first, at most once a minute', () => {
    const t = 10_000_000;
    expect(trimDelay(t, t, 0)).toBe(10_000);
    expect(trimDelay(t + 55_000, t, 0)).toBe(5_000); // deletions for 55 s: 5 s left of the minute
    expect(trimDelay(t + 70_000, t, 0)).toBe(0);
    expect(trimDelay(t, t, t - 20_000)).toBe(40_000); // trimmed 20 s ago
    expect(freesSpace({ Type: 'image', Action: 'delete' })).toBe(true);
    expect(freesSpace({ Type: 'volume', Action: 'destroy' })).toBe(true);
    expect(freesSpace({ Type: 'container', Action: 'prune' })).toBe(true);
    expect(freesSpace({ Type: 'container', Action: 'destroy' })).toBe(false); // docker run --rm, all day long
    expect(freesSpace({ Type: 'image', Action: 'untag' })).toBe(false);
  });
});

describe('trim', () => {
  it('reads what busybox and util-linux fstrim -v print', () => {
    expect(parseTrimmed('/var/lib/docker/: 3063926784 bytes trimmed\n')).toBe(3063926784);
    expect(parseTrimmed('/var/lib/docker/: 0 bytes trimmed\n')).toBe(0);
    expect(parseTrimmed('/mnt/sda1: 2.9 GiB (3063926784 bytes) trimmed\n')).toBe(3063926784);
    expect(parseTrimmed('fstrim: FITRIM: Operation not supported')).toBeUndefined();
  });

  it('is one sudo sh -c of a fixed script, at the lowest priorities, valid for sh', async () => {
    expect(TRIM).toMatch(/^sudo sh -c '/);
    expect(TRIM).toContain('exec fstrim -v /var/lib/docker/');
    await run('busybox', ['sh', '-n', '-c', TRIM]);
    await run('busybox', ['sh', '-n', '-c', SET_CLOCK]);
  });

  it('sizes for people', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(5177344)).toBe('4.94 MiB');
    expect(formatBytes(268435456)).toBe('256 MiB');
    expect(formatBytes(1299227648)).toBe('1.21 GiB');
    expect(formatBytes(20 * 1024 ** 3)).toBe('20.0 GiB');
  });
});
