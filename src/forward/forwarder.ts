import { promises as fs } from 'node:fs';
import { messageOf } from '../core/errors.js';
import { readIfExists, writeFileAtomic } from '../core/files.js';
import { dockerRequest } from '../docker/api.js';
import { followEvents } from '../docker/events.js';
import { canForward, type Forward, type PortForwarder } from '../drivers/driver.js';
import type { Machine } from '../machine/machine.js';
import { SshSession } from '../ssh/client.js';
import { stateFile } from './process.js';
import { SshTunnels } from './tunnel.js';

/** What the forwarder publishes for `machine ports` (and a restarted forwarder's cleanup). */
export interface ForwarderState {
  pid: number;
  forwards: (Forward & { containers: string[] })[];
  failures: { proto: string; hostPort: number; reason: string }[];
  updatedAt: string;
}

interface ContainerPort {
  IP?: string;
  PrivatePort: number;
  PublicPort?: number;
  Type: 'tcp' | 'udp' | 'sctp';
}

const key = (f: { proto: string; hostPort: number }) => `${f.proto}/${f.hostPort}`;

/**
 * Keeps the host's 127.0.0.1 forwards equal to the ports published by running containers: on every
 * container event it lists the running containers and adds or removes the difference. Reconciling
 * from the daemon's state (not from single events) makes a missed event or a restart harmless.
 */
export class PortForwardService {
  private forwards = new Map<string, Forward & { containers: string[] }>();
  private failures = new Map<string, { proto: string; hostPort: number; reason: string }>();
  private pending: Promise<void> = Promise.resolve();
  private forwarder!: PortForwarder;
  private ssh?: SshSession;

  constructor(
    private readonly machine: Machine,
    private readonly log: (line: string) => void,
  ) {}

  async run(signal: AbortSignal): Promise<void> {
    this.forwarder = canForward(this.machine.driver)
      ? this.machine.driver
      : new SshTunnels((this.ssh = await SshSession.connect(await this.machine.sshTarget())));
    await this.dropStale();
    const ep = await this.machine.dockerEndpoint();
    this.log(
      `forwarding published ports of "${this.machine.name}" (${canForward(this.machine.driver) ? this.machine.driver.name : 'ssh tunnels'})`,
    );
    let timer: NodeJS.Timeout | undefined;
    const schedule = () => {
      clearTimeout(timer);
      timer = setTimeout(() => void this.queueReconcile(), 20);
    };
    const events = followEvents(
      ep,
      { type: ['container'], event: ['start', 'die', 'destroy', 'stop', 'kill', 'pause', 'unpause'] },
      schedule,
      signal,
    );
    await this.queueReconcile();
    await events;
    clearTimeout(timer);
    await this.pending;
    this.ssh?.close();
  }

  /** Forwards a previous (crashed) forwarder left in the VM are removed before we start. */
  private async dropStale(): Promise<void> {
    const text = await readIfExists(stateFile(this.machine));
    if (!text) return;
    const old = JSON.parse(text) as ForwarderState;
    for (const f of old.forwards) await this.forwarder.removeForward(f).catch(() => undefined);
  }

  private queueReconcile(): Promise<void> {
    this.pending = this.pending.then(() => this.reconcile()).catch((err) => this.log(`reconcile failed: ${messageOf(err)}`));
    return this.pending;
  }

  private async reconcile(): Promise<void> {
    const ep = await this.machine.dockerEndpoint();
    const res = await dockerRequest(ep, 'GET', '/containers/json');
    if (res.status !== 200) throw new Error(`GET /containers/json answered ${res.status}`);
    const wanted = new Map<string, Forward & { containers: string[] }>();
    const failures = new Map<string, { proto: string; hostPort: number; reason: string }>();
    for (const c of JSON.parse(res.body) as { Id: string; Ports: ContainerPort[] }[]) {
      for (const p of c.Ports) {
        if (!p.PublicPort || (p.Type !== 'tcp' && p.Type !== 'udp')) continue;
        const f = { proto: p.Type, hostPort: p.PublicPort, guestPort: p.PublicPort };
        if (p.IP && !['0.0.0.0', '::', ''].includes(p.IP)) {
          failures.set(key(f), { ...f, reason: `published on ${p.IP} inside the machine only` });
          continue;
        }
        const entry = wanted.get(key(f)) ?? { ...f, containers: [] };
        if (!entry.containers.includes(c.Id.slice(0, 12))) entry.containers.push(c.Id.slice(0, 12));
        wanted.set(key(f), entry);
      }
    }
    for (const [k, f] of this.forwards) {
      if (wanted.has(k)) continue;
      await this.forwarder.removeForward(f).catch((err) => this.log(`removing ${k}: ${messageOf(err)}`));
      this.forwards.delete(k);
      this.log(`removed 127.0.0.1:${f.hostPort}/${f.proto}`);
    }
    for (const [k, f] of wanted) {
      if (this.forwards.has(k)) {
        this.forwards.set(k, f);
        continue;
      }
      try {
        await this.forwarder.addForward(f);
        this.forwards.set(k, f);
        this.log(`forwarding 127.0.0.1:${f.hostPort}/${f.proto} → machine:${f.guestPort}`);
      } catch (err) {
        failures.set(k, { proto: f.proto, hostPort: f.hostPort, reason: messageOf(err) });
        this.log(`cannot forward 127.0.0.1:${f.hostPort}/${f.proto}: ${messageOf(err)}`);
      }
    }
    this.failures = failures;
    await this.saveState();
  }

  private async saveState(): Promise<void> {
    const state: ForwarderState = {
      pid: process.pid,
      forwards: [...this.forwards.values()],
      failures: [...this.failures.values()],
      updatedAt: new Date().toISOString(),
    };
    await writeFileAtomic(stateFile(this.machine), `${JSON.stringify(state, null, 2)}\n`, 0o600);
  }

  /** On a clean exit the forwards go with us. */
  async shutdown(): Promise<void> {
    for (const f of this.forwards.values()) await this.forwarder.removeForward(f).catch(() => undefined);
    this.forwards.clear();
    await fs.rm(stateFile(this.machine), { force: true });
  }
}
