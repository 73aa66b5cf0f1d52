import { dockerTarget } from '../context/machine.js';
import type { Store } from '../store/store.js';
import { hostChecks } from './host-checks.js';
import { machineChecks, type MachineFacts } from './machine-checks.js';
import { check, type CheckResult, type Verdict } from '../core/check.js';
import { type DoctorSystem, realDoctorSystem } from '../core/check.js';
import type { DoctorReport } from './types.js';

export type { CheckResult, Verdict } from '../core/check.js';
export type { DoctorReport } from './types.js';

/** Which daemon the docker CLI of this shell talks to, and whether that still is where the machine is. */
export async function targetCheck(store: Store, host: DoctorSystem, machines: MachineFacts[]): Promise<CheckResult> {
  const t = await dockerTarget(store, host.env);
  const title = 'docker target';
  const byUrl = (url?: string) => machines.find((m) => m.url && m.url === url);
  if (t.source === 'DOCKER_HOST') {
    const m = byUrl(t.host);
    if (m) return check('target', title, 'ok', `DOCKER_HOST points at machine "${m.name}" (${t.host})`);
    const named = host.env.DOCKER_MACHINE_NAME ? machines.find((x) => x.name === host.env.DOCKER_MACHINE_NAME) : undefined;
    if (named) {
      return check(
        'target',
        title,
        'fail',
        `DOCKER_HOST=${t.host} is stale: machine "${named.name}" is ${named.url ? `at ${named.url}` : named.state || 'not running'}`,
        {
          fix: named.url ? `eval $(machine env ${named.name})` : `machine start ${named.name}, then eval $(machine env ${named.name})`,
        },
      );
    }
    return check('target', title, 'info', `DOCKER_HOST=${t.host}: not one of this store's running machines`);
  }
  if (t.context && t.machine) {
    const m = machines.find((x) => x.name === t.machine);
    if (!m) {
      return check(
        'target',
        title,
        'fail',
        `the current docker context "${t.context}" is for machine "${t.machine}", which no longer exists`,
        {
          fix: 'machine use --unset',
        },
      );
    }
    if (!m.url) {
      return check(
        'target',
        title,
        'warn',
        `the current docker context "${t.context}" is for machine "${m.name}", which is ${m.state || 'not running'}`,
        {
          fix: `machine start ${m.name}`,
        },
      );
    }
    if (m.url !== t.host) {
      return check(
        'target',
        title,
        'fail',
        `the docker context "${t.context}" points at ${t.host}, but machine "${m.name}" now listens at ${m.url}`,
        {
          fix: `machine use ${m.name}`,
        },
      );
    }
    return check(
      'target',
      title,
      'ok',
      `the current docker context "${t.context}" (${t.source === 'DOCKER_CONTEXT' ? 'DOCKER_CONTEXT' : 'machine use'}) is machine "${m.name}" at ${m.url}`,
    );
  }
  if (t.context) {
    return check(
      'target',
      title,
      'info',
      `the docker CLI uses context "${t.context}"${t.host ? ` (${t.host})` : ''}, not a machine of this store`,
    );
  }
  const running = machines.filter((m) => m.url);
  return check(
    'target',
    title,
    'info',
    `the docker CLI uses its default context${running.length ? `: "machine use ${running[0]!.name}" or "eval $(machine env ${running[0]!.name})" points it at a machine` : ''}`,
  );
}

/** `machine doctor`: the host checks, then each machine's, then where the docker CLI points. */
export async function runDoctor(store: Store, names: string[] = [], host: DoctorSystem = realDoctorSystem()): Promise<DoctorReport> {
  const all = await store.names();
  const wanted = names.length ? names : all;
  for (const n of names) if (!all.includes(n)) throw store.notFound(n);
  const configs = await Promise.all(wanted.map((n) => store.load(n).catch(() => undefined)));
  const { results: hostResults, facts } = await hostChecks(
    host,
    configs.filter((c) => c !== undefined),
  );
  const perMachine = await Promise.all(wanted.map((n) => machineChecks(host, store, n, facts)));
  const checks = [...hostResults, ...perMachine.flatMap((p) => p.results)];
  checks.push(
    await targetCheck(
      store,
      host,
      perMachine.map((p) => p.machine),
    ),
  );
  const summary: Record<Verdict, number> = { ok: 0, warn: 0, fail: 0, info: 0 };
  for (const c of checks) summary[c.status]++;
  return { platform: host.platform, arch: host.arch, storagePath: store.root, checks, summary };
}
