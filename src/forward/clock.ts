import { MachineError } from '../core/errors.js';
import { shQuote } from '../core/quote.js';
import { sleep } from '../core/wait.js';
import { lastLine, type SshSession } from '../ssh/client.js';

/**
 * The guest's clock kept to the host's. A VM's clock stops while the VM is paused (QEMU `stop`,
 * VirtualBox pause, a saved state restored) and, under some hypervisors, while the host sleeps; the
 * guest has no way to know. We read its clock over SSH, measuring the round trip, and set it when
 * it is off by more than half a second. Only busybox is assumed (our ISO, boot2docker's).
 */

/** Off by more than this (seconds), the guest's clock is set. */
export const CLOCK_THRESHOLD_S = 0.5;
/** A reading less certain than this (seconds: half its round trip) is no ground for setting a clock; it is taken again. */
export const MAX_UNCERTAINTY_S = 0.1;

/**
 * Read the guest's clock the moment our line arrives: the shell is started before we send it, so
 * the round trip covers the line there and the answer back, not sshd and the shell starting.
 * `$EPOCHREALTIME` is ash's (busybox 1.34 and later: no process started); older busyboxes have
 * adjtimex (microseconds); whole seconds from date are the last resort.
 */
export const READ_CLOCK = `echo r; read -r x; t=$EPOCHREALTIME; if [ -n "$t" ]; then echo "$t"; else adjtimex 2>/dev/null || date +%s; fi`;

/**
 * Set the guest's clock to the whole second we send (busybox date sets whole seconds only): sudo and
 * the shell are started before we send it, and we send it when the host's clock is that second less
 * the line's way there. What arrives is checked again in the guest before date sees it.
 */
export const SET_CLOCK = `sudo sh -c ${shQuote('echo r; read -r t; case $t in ""|*[!0-9]*) exit 2;; esac; exec date -s "@$t" >/dev/null')}`;

/** The guest's clock as read: seconds since the epoch, and how finely it was read (seconds). */
export interface GuestTime {
  seconds: number;
  resolution: number;
}

/** The guest's clock against the host's: guest minus host (seconds), give or take `uncertainty`. */
export interface SkewEstimate {
  skew: number;
  uncertainty: number;
  /** The round trip of the reading (ms): half of it is how long a line takes to get there. */
  rttMs: number;
}

/** One reading: the host's clock (ms) when our line left, the round trip (ms), what the guest read. */
export interface ClockSample {
  sentAt: number;
  rttMs: number;
  guest: GuestTime;
}

export type ClockVerdict = 'ok' | 'correct' | 'unsure';

/** What READ_CLOCK printed (after its ready line), whichever reader the guest had. */
export function parseGuestTime(output: string): GuestTime | undefined {
  const text = output.trim();
  const real = /^(\d+)\.(\d{1,9})$/.exec(text);
  if (real) return { seconds: Number(real[1]) + Number(`0.${real[2]}`), resolution: 10 ** -real[2]!.length };
  const sec = /time\.tv_sec:\s*(\d+)/.exec(text);
  const frac = /time\.tv_usec:\s*(\d+)/.exec(text);
  if (sec && frac) {
    // STA_NANO (0x2000): the kernel reports nanoseconds in the microseconds field.
    const nano = (Number(/status:\s*(\d+)/.exec(text)?.[1] ?? 0) & 0x2000) !== 0;
    const unit = nano ? 1e-9 : 1e-6;
    return { seconds: Number(sec[1]) + Number(frac[1]) * unit, resolution: unit };
  }
  if (/^\d+$/.test(text)) return { seconds: Number(text), resolution: 1 };
  return undefined;
}

/**
 * The skew from one reading: the guest read its clock somewhere within the round trip, so the
 * host's time is taken at its middle, give or take half of it; a reading is truncated to its
 * resolution, so the guest's time is taken in the middle of that too.
 */
export function estimateSkew(s: ClockSample): SkewEstimate {
  const host = (s.sentAt + s.rttMs / 2) / 1000;
  const guest = s.guest.seconds + s.guest.resolution / 2;
  return { skew: guest - host, uncertainty: s.rttMs / 2000 + s.guest.resolution / 2, rttMs: s.rttMs };
}

/** The most certain of several readings (the shortest round trip, as NTP takes). */
export function bestEstimate(estimates: SkewEstimate[]): SkewEstimate {
  if (!estimates.length) throw new Error('no clock readings');
  return estimates.reduce((a, b) => (b.uncertainty < a.uncertainty ? b : a));
}

/**
 * Whether to set the guest's clock: surely off by more than the threshold, set it; surely within
 * it, leave it; in between, decide only on a reading good to MAX_UNCERTAINTY_S, else read again
 * (a guest busy under emulation answers late). A guest read to whole seconds is left alone unless
 * it is surely off.
 */
export function clockVerdict(e: SkewEstimate, threshold = CLOCK_THRESHOLD_S, maxUncertainty = MAX_UNCERTAINTY_S): ClockVerdict {
  const off = Math.abs(e.skew);
  if (off - e.uncertainty > threshold) return 'correct';
  if (off + e.uncertainty <= threshold) return 'ok';
  if (e.uncertainty > maxUncertainty) return 'unsure';
  return off > threshold ? 'correct' : 'ok';
}

/** When to send the second to set: the next whole second that the line can still reach in time (with `leadMs` to spare). */
export function setPlan(nowMs: number, latencyMs: number, leadMs = 20): { seconds: number; sendAt: number } {
  const seconds = Math.ceil((nowMs + latencyMs + leadMs) / 1000);
  return { seconds, sendAt: seconds * 1000 - latencyMs };
}

/** "31.204 s behind (±0.004 s)", "0.012 s ahead (±0.005 s)". */
export function describeSkew(e: SkewEstimate): string {
  const side = e.skew < 0 ? 'behind' : 'ahead';
  return `${Math.abs(e.skew).toFixed(3)} s ${side} (±${e.uncertainty.toFixed(3)} s)`;
}

/** What a check found and, when it set the clock, what the clock was after. */
export interface ClockCheck {
  verdict: ClockVerdict;
  before: SkewEstimate;
  after?: SkewEstimate;
}

/** The guest's clock over an SSH session (given on each use: the caller reconnects a broken one). */
export class GuestClock {
  constructor(
    private readonly session: () => Promise<SshSession>,
    private readonly timeoutMs = 15_000,
  ) {}

  /** One reading of the guest's clock against the host's. */
  async sample(): Promise<ClockSample> {
    const ssh = await this.session();
    let wall = 0;
    let mono = 0;
    const res = await ssh.exchange(
      READ_CLOCK,
      () => {
        wall = Date.now();
        mono = performance.now();
        return '';
      },
      this.timeoutMs,
    );
    const guest = res.code === 0 && res.answeredAt ? parseGuestTime(res.stdout) : undefined;
    if (!guest) throw new MachineError(`cannot read the clock of machine "${ssh.target.name}": ${lastLine(res)}`);
    return { sentAt: wall + (res.sentAt - mono), rttMs: res.answeredAt - res.sentAt, guest };
  }

  /** The skew, read once, and twice more when that one reading cannot decide (the best of the three). */
  async measure(): Promise<{ estimate: SkewEstimate; verdict: ClockVerdict }> {
    const first = estimateSkew(await this.sample());
    let verdict = clockVerdict(first);
    if (verdict === 'ok') return { estimate: first, verdict };
    const estimate = bestEstimate([first, estimateSkew(await this.sample()), estimateSkew(await this.sample())]);
    verdict = clockVerdict(estimate);
    return { estimate, verdict };
  }

  /** Set the guest's clock to the host's, a line's way (latencyMs) ahead of when the line arrives. */
  async set(latencyMs: number): Promise<void> {
    const ssh = await this.session();
    const res = await ssh.exchange(
      SET_CLOCK,
      async () => {
        const plan = setPlan(Date.now(), latencyMs);
        await sleep(Math.max(0, plan.sendAt - Date.now()));
        return String(plan.seconds);
      },
      this.timeoutMs,
    );
    if (res.code !== 0) throw new MachineError(`cannot set the clock of machine "${ssh.target.name}": ${lastLine(res)}`);
  }

  /** Read the clock; when it is off, set it and read it again. */
  async check(): Promise<ClockCheck> {
    const { estimate: before, verdict } = await this.measure();
    if (verdict !== 'correct') return { verdict, before };
    await this.set(before.rttMs / 2);
    let after = (await this.measure()).estimate;
    // Once more when the first try missed (a guest that stalled as the line arrived).
    if (clockVerdict(after) === 'correct') {
      await this.set(after.rttMs / 2);
      after = (await this.measure()).estimate;
    }
    return { verdict, before, after };
  }
}
