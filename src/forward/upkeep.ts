import { messageOf } from '../core/errors.js';
import { sleep } from '../core/wait.js';
import { followEvents, type DockerEvent } from '../docker/events.js';
import type { MachineState } from '../drivers/driver.js';
import type { Machine } from '../machine/machine.js';
import { SshSession } from '../ssh/client.js';
import { type ClockCheck, describeSkew, GuestClock } from './clock.js';
import { describeTrim, trimGuest, TrimUnsupported } from './trim.js';

/**
 * What the forwarder does for the guest besides ports, over one SSH session it keeps: the guest's
 * clock (checked at start, when the VM resumes, after the host slept, and every few minutes) and
 * its data disk (trimmed after images or volumes are removed, and every ten minutes). One job at a
 * time, never while the VM is paused. Measured under software emulation (TCG): a clock reading
 * costs the VM about 60 ms of CPU, setting the clock or a trim about 0.5 s (sudo), an SSH
 * connection 150 ms; the periods below keep that well under 0.1% of a CPU.
 */

/** The backstop for a clock that drifts, or a pause too short for the watchdog to see. */
export const CLOCK_PERIOD_MS = 5 * 60_000;
/** What events do not announce (files deleted in containers and volumes, build cache). */
export const TRIM_PERIOD_MS = 10 * 60_000;
/** The first trim after start (what was freed while we were not running), once bring-up is over. */
export const TRIM_FIRST_MS = 60_000;
/** The tick that notices a host that slept: a tick later than this beyond its interval. */
export const TICK_MS = 5_000;
export const GAP_MS = 3_000;
/** After an image or volume is removed: trim once this long passes without another... */
export const TRIM_QUIET_MS = 10_000;
/** ...but no later than this after the first, and not sooner than this after the last trim. */
export const TRIM_MAX_WAIT_MS = 60_000;
export const TRIM_SPACING_MS = 60_000;

/**
 * Did the host sleep (or its clock jump) between two ticks `intervalMs` apart? Timers count a
 * clock that stops while the host sleeps; the wall clock does not stop, so it moved by far more.
 */
export function hostGap(prevWall: number, nowWall: number, intervalMs: number, gapMs = GAP_MS): boolean {
  const elapsed = nowWall - prevWall;
  return elapsed > intervalMs + gapMs || elapsed < intervalMs - gapMs;
}

/** How long to wait before trimming, space having been freed first at firstFreedAt (all ms). */
export function trimDelay(now: number, firstFreedAt: number, lastTrimAt: number): number {
  const quiet = Math.min(TRIM_QUIET_MS, Math.max(0, firstFreedAt + TRIM_MAX_WAIT_MS - now));
  return Math.max(quiet, lastTrimAt + TRIM_SPACING_MS - now, 0);
}

/** Docker events that free space on the data disk. */
export function freesSpace(e: Pick<DockerEvent, 'Type' | 'Action'>): boolean {
  return e.Action === 'prune' || (e.Type === 'image' && e.Action === 'delete') || (e.Type === 'volume' && e.Action === 'destroy');
}

type Job = 'clock' | 'trim';

export class GuestUpkeep {
  private ssh?: Promise<SshSession>;
  private readonly clock = new GuestClock(() => this.session());
  private queue: Promise<void> = Promise.resolve();
  private readonly queued = new Set<Job>();
  private readonly timers: NodeJS.Timeout[] = [];
  private state: MachineState = 'Running';
  private checkedOnce = false;
  private trimTimer?: NodeJS.Timeout;
  private firstFreedAt?: number;
  private lastTrimAt = 0;
  private trimOff = false;
  private events?: Promise<void>;

  constructor(
    private readonly machine: Machine,
    private readonly log: (line: string) => void,
    private readonly does: { clock: boolean; trim: boolean },
  ) {}

  start(signal: AbortSignal): void {
    if (this.does.clock) {
      this.request('clock', 'start');
      this.timers.push(setInterval(() => this.request('clock', 'periodic'), CLOCK_PERIOD_MS));
      let last = Date.now();
      this.timers.push(
        setInterval(() => {
          const now = Date.now();
          if (hostGap(last, now, TICK_MS))
            this.request('clock', `the host's clock moved ${((now - last) / 1000).toFixed(0)} s in ${TICK_MS / 1000} s`);
          last = now;
        }, TICK_MS),
      );
    }
    if (this.does.trim) {
      this.timers.push(setTimeout(() => this.request('trim', 'start'), TRIM_FIRST_MS));
      this.timers.push(setInterval(() => this.request('trim', 'periodic'), TRIM_PERIOD_MS));
      this.events = this.followDocker(signal);
    }
    for (const t of this.timers) t.unref();
  }

  /** The VM's state as the watchdog saw it: nothing runs while it is paused; resumed, its clock is checked. */
  vmState(state: MachineState): void {
    const resumed = this.state !== 'Running' && state === 'Running';
    this.state = state;
    if (resumed && this.does.clock) this.request('clock', 'the VM resumed');
  }

  /** The jobs queued so far, done (tests; the forwarder's exit). */
  async idle(): Promise<void> {
    let seen: Promise<void>;
    do {
      seen = this.queue;
      await seen;
    } while (seen !== this.queue);
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    clearTimeout(this.trimTimer);
    this.queued.clear();
    await this.idle();
    await this.events;
    this.dropSession();
  }

  /** Queue a job unless the same one is already waiting (a running one is not: what it read may be old). */
  private request(job: Job, why: string): void {
    if (this.queued.has(job)) return;
    this.queued.add(job);
    this.queue = this.queue.then(async () => {
      this.queued.delete(job);
      // Twice: the session may have broken while the VM was paused or the host slept.
      for (let attempt = 1; this.state === 'Running'; attempt++) {
        try {
          if (job === 'clock') await this.checkClock(why);
          else await this.trim(why);
          return;
        } catch (err) {
          this.dropSession();
          if (err instanceof TrimUnsupported) {
            this.trimOff = true;
            return this.log(`trim: ${messageOf(err)}; not trying again`);
          }
          if (attempt >= 2) return this.log(`${job} (${why}): ${messageOf(err)}`);
        }
      }
    });
  }

  private async checkClock(why: string): Promise<void> {
    const check = await this.clock.check();
    const first = !this.checkedOnce;
    this.checkedOnce = true;
    if (check.after || first) this.log(clockLine(check, why));
  }

  private async trim(why: string): Promise<void> {
    if (this.trimOff) return;
    const before = await this.machine.driver.diskUsage?.();
    const trimmed = await trimGuest(await this.session());
    this.lastTrimAt = Date.now();
    const after = await this.machine.driver.diskUsage?.();
    const given = before && after ? before.allocated - after.allocated : 0;
    if (why !== 'periodic' || given >= 1024 * 1024) this.log(`trim (${why}): ${describeTrim(trimmed, before, after)}`);
  }

  /** After images or volumes go, trim once things are quiet (see trimDelay). */
  private freed(): void {
    if (this.trimOff) return;
    const now = Date.now();
    this.firstFreedAt ??= now;
    clearTimeout(this.trimTimer);
    this.trimTimer = setTimeout(
      () => {
        this.trimTimer = undefined;
        this.firstFreedAt = undefined;
        this.request('trim', 'images or volumes were removed');
      },
      trimDelay(now, this.firstFreedAt, this.lastTrimAt),
    );
    this.trimTimer.unref();
  }

  private async followDocker(signal: AbortSignal): Promise<void> {
    const filters = { type: ['image', 'volume', 'container'], event: ['delete', 'destroy', 'prune'] };
    while (!signal.aborted) {
      try {
        await followEvents(await this.machine.dockerEndpoint(), filters, (e) => freesSpace(e) && this.freed(), signal);
      } catch {
        // the daemon restarting, certificates being replaced: try again
      }
      await sleep(5000, signal).catch(() => undefined);
    }
  }

  /** The SSH session, connected on first use and again after it broke. */
  private session(): Promise<SshSession> {
    if (!this.ssh) {
      const connecting = this.machine.sshTarget().then((t) => SshSession.connect(t));
      this.ssh = connecting;
      connecting.then(
        (s) => s.client.once('close', () => this.ssh === connecting && (this.ssh = undefined)),
        () => this.ssh === connecting && (this.ssh = undefined),
      );
    }
    return this.ssh;
  }

  private dropSession(): void {
    const ssh = this.ssh;
    this.ssh = undefined;
    void ssh?.then(
      (s) => s.close(),
      () => undefined,
    );
  }
}

/** The forwarder's log line for a check. */
export function clockLine(check: ClockCheck, why: string): string {
  if (!check.after) {
    const what = check.verdict === 'unsure' ? 'could not be read precisely enough to decide' : 'is right';
    return `clock (${why}): the guest's clock ${what}: ${describeSkew(check.before)}`;
  }
  return `clock (${why}): the guest's clock was ${describeSkew(check.before)}: set to the host's, now ${describeSkew(check.after)}`;
}
