import { DEFAULT_LS_FORMAT, type LsOptions, type LsRow } from '../commands/ls.js';
import { tabwrite } from './tabwriter.js';
import { renderTemplate } from './template.js';

const HEADERS: Record<string, string> = {
  Name: 'NAME',
  Active: 'ACTIVE',
  ActiveHost: 'ACTIVE_HOST',
  ActiveSwarm: 'ACTIVE_SWARM',
  DriverName: 'DRIVER',
  State: 'STATE',
  URL: 'URL',
  Swarm: 'SWARM',
  DockerVersion: 'DOCKER',
  Error: 'ERRORS',
  ResponseTime: 'RESPONSE',
  SwarmOptions: 'SWARM_OPTIONS',
  EngineOptions: 'ENGINE_OPTIONS',
  DiskUsage: 'DISK',
  DiskUsageBytes: 'DISK_BYTES',
  Arch: 'ARCH',
};

export function renderLs(rows: LsRow[], opts: LsOptions): string {
  if (opts.quiet) return rows.map((r) => `${r.Name}\n`).join('');
  const format = opts.format ?? DEFAULT_LS_FORMAT;
  if (format === 'json') return `${JSON.stringify(rows, null, 2)}\n`;
  if (!format.startsWith('table')) return rows.map((r) => `${renderTemplate(format, r)}\n`).join('');
  const body = format.replace(/^table\s*/, '');
  const header = body.replace(/\{\{-?\s*\.(\w+)\s*-?\}\}/g, (_, f: string) => HEADERS[f] ?? f.toUpperCase());
  const lines = [header, ...rows.map((r) => renderTemplate(body, r))].flatMap((l) => l.replace(/\\t/g, '\t').split('\n'));
  return tabwrite(lines);
}
