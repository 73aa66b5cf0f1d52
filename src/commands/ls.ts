import { MachineError, messageOf } from '../core/errors.js';
import { formatBytes } from '../core/units.js';
import { withTimeout } from '../core/wait.js';
import type { MachineState } from '../drivers/driver.js';
import { Machine } from '../machine/machine.js';
import type { EngineOptions, SwarmOptions } from '../store/config.js';
import type { Store } from '../store/store.js';

/** One row of `machine ls`, with docker-machine's field names (they are the --format names). */
export interface LsRow {
  Name: string;
  Active: string;
  ActiveHost: boolean;
  ActiveSwarm: boolean;
  DriverName: string;
  State: MachineState;
  URL: string;
  Swarm: string;
  DockerVersion: string;
  Error: string;
  ResponseTime: string;
  SwarmOptions: SwarmOptions | null;
  EngineOptions: EngineOptions | null;
  /** Ours: what the VM's disk image takes on this host ("1.21 GiB"; '' when the driver has none here). */
  DiskUsage: string;
  DiskUsageBytes: number | null;
  /** Ours: the machine's architecture (amd64, arm64); for a generic host, what its daemon says ('' until it answers). */
  Arch: string;
}

export interface LsOptions {
  quiet?: boolean;
  filter?: string[];
  timeout?: number;
  format?: string;
}

export const DEFAULT_LS_FORMAT =
  'table {{ .Name }}\t{{ .Active }}\t{{ .DriverName}}\t{{ .State }}\t{{ .URL }}\t{{ .Swarm }}\t{{ .DockerVersion }}\t{{ .Error}}';

interface Filters {
  driver: string[];
  state: string[];
  name: RegExp[];
  swarm: string[];
  label: string[];
}

function parseFilters(specs: string[]): Filters {
  const f: Filters = { driver: [], state: [], name: [], swarm: [], label: [] };
  for (const spec of specs) {
    const eq = spec.indexOf('=');
    if (eq < 0) throw new MachineError('Unsupported filter syntax.', { fix: 'use --filter key=value' });
    const key = spec.slice(0, eq).toLowerCase();
    const value = spec.slice(eq + 1);
    if (key === 'name') {
      try {
        f.name.push(new RegExp(value));
      } catch (err) {
        throw new MachineError(`Invalid name filter "${value}": ${(err as Error).message}`);
      }
    } else if (key === 'driver' || key === 'state' || key === 'swarm' || key === 'label') f[key].push(value);
    else throw new MachineError(`Unsupported filter key '${key}'`, { fix: 'use driver, state, name, swarm or label' });
  }
  return f;
}

function matches(row: LsRow, f: Filters): boolean {
  const any = <T>(list: T[], test: (v: T) => boolean) => list.length === 0 || list.some(test);
  const labels = row.EngineOptions?.Labels ?? [];
  return (
    any(f.driver, (d) => d.toLowerCase() === row.DriverName.toLowerCase()) &&
    any(f.state, (s) => s.toLowerCase() === row.State.toLowerCase()) &&
    any(f.name, (re) => re.test(row.Name)) &&
    any(f.swarm, (s) => s === row.Swarm.replace(/ \(master\)$/, '')) &&
    any(f.label, (l) => {
      const [k, v = ''] = l.split(/=(.*)/s);
      return labels.some((have) => {
        const [hk, hv = ''] = have.split(/=(.*)/s);
        return hk === k && hv.toLowerCase() === v.toLowerCase();
      });
    })
  );
}

/** Go's time.Duration formatting for response times: "342ms", "1.204s". */
function duration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)}ms` : `${(ms / 1000).toFixed(3).replace(/\.?0+$/, '')}s`;
}

/** The machine the docker CLI uses: by DOCKER_HOST's URL, else by the current docker context (`machine use`). */
interface ActiveRule {
  url?: string;
  context?: { machine: string; host?: string };
}

async function activeRule(store: Store): Promise<ActiveRule> {
  if (process.env.DOCKER_HOST) return { url: process.env.DOCKER_HOST };
  const { dockerTarget } = await import('../context/machine.js');
  const target = await dockerTarget(store).catch(() => undefined);
  return target?.machine ? { context: { machine: target.machine, host: target.host } } : {};
}

function isActive(rule: ActiveRule, name: string, url: string): boolean {
  if (rule.url !== undefined) return url === rule.url;
  return rule.context?.machine === name && rule.context.host === url;
}

/** A row with nothing known yet but the name. */
function blankRow(name: string, fields: Partial<LsRow>): LsRow {
  return {
    Name: name,
    Active: '-',
    ActiveHost: false,
    ActiveSwarm: false,
    DriverName: '',
    State: 'Error',
    URL: '',
    Swarm: '',
    DockerVersion: 'Unknown',
    Error: '',
    ResponseTime: '',
    SwarmOptions: null,
    EngineOptions: null,
    DiskUsage: '',
    DiskUsageBytes: null,
    Arch: '',
    ...fields,
  };
}

/** One machine's row; never throws (what went wrong is in its Error column). */
async function evaluate(store: Store, name: string, needVersion: boolean, rule: ActiveRule = {}): Promise<LsRow> {
  const started = Date.now();
  const row = blankRow(name, { DriverName: 'not found' });
  try {
    // A machine whose create was interrupted: say so rather than what its half-booted VM answers.
    const halfCreated = await store.isHalfCreated(name);
    if (halfCreated) row.Error = store.halfCreated(name).line;
    const machine = await Machine.load(store, name);
    row.DriverName = machine.config.DriverName;
    row.SwarmOptions = machine.config.HostOptions.SwarmOptions;
    row.EngineOptions = machine.config.HostOptions.EngineOptions;
    row.Arch = machine.arch;
    Object.assign(row, await diskUsageFields(machine));
    row.State = await machine.driver.state();
    if (row.State === 'Running') {
      row.URL = await machine.url();
      row.ActiveHost = isActive(rule, name, row.URL);
      row.Active = row.ActiveHost ? '*' : '-';
      if (needVersion && !halfCreated) {
        try {
          // Well within the row's own timeout, so an unresponsive daemon is reported as such.
          const { dockerVersion } = await import('../docker/api.js'); // https: only for running machines
          const version = await dockerVersion(await machine.dockerEndpoint(), 5_000);
          row.DockerVersion = `v${version.Version}`;
          row.Arch ||= version.Arch;
        } catch (err) {
          row.Error = `Unable to query docker version: ${messageOf(err)}`;
        }
      }
    }
  } catch (err) {
    row.Error ||= messageOf(err);
  }
  row.ResponseTime = duration(Date.now() - started);
  return row;
}

/** DiskUsage and DiskUsageBytes (ls and inspect): the allocated size of the machine's disk image on this host. */
export async function diskUsageFields(machine: Machine): Promise<Pick<LsRow, 'DiskUsage' | 'DiskUsageBytes'>> {
  const disk = await machine.driver.diskUsage?.().catch(() => undefined);
  return disk ? { DiskUsage: formatBytes(disk.allocated), DiskUsageBytes: disk.allocated } : { DiskUsage: '', DiskUsageBytes: null };
}

const collator = new Intl.Collator('en', { numeric: true });

/** `machine ls`: every machine evaluated in parallel, each within the timeout. */
export async function listMachines(store: Store, opts: LsOptions): Promise<LsRow[]> {
  const names = await store.names();
  const filters = parseFilters(opts.filter ?? []);
  const format = opts.format ?? DEFAULT_LS_FORMAT;
  const needVersion = !opts.quiet && (format === 'json' || /DockerVersion|Error/.test(format));
  const rule = await activeRule(store);
  const rows = await Promise.all(
    names.map((n) =>
      withTimeout(evaluate(store, n, needVersion, rule), (opts.timeout ?? 10) * 1000, n).catch(() =>
        blankRow(n, { State: 'Timeout', ResponseTime: 'timeout' }),
      ),
    ),
  );
  const kept = rows.filter((r) => matches(r, filters));
  if (opts.quiet) return kept; // directory order, like docker-machine
  return kept.sort((a, b) => collator.compare(a.Name.toLowerCase(), b.Name.toLowerCase()));
}

/** Fast path for -q without filters: names only, no state queries at all. */
export async function listNames(store: Store): Promise<string[]> {
  return store.names();
}
