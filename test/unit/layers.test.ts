import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DRIVERS } from '../../src/drivers/registry.js';

/** Layer rules, checked on the source text: what may know what. */

const SRC = path.resolve(__dirname, '../../src');

function sources(dir = SRC): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const file = path.join(dir, e.name);
    return e.isDirectory() ? sources(file) : e.name.endsWith('.ts') ? [file] : [];
  });
}

/** The code of a file without its comments (which may quote config.json, as in "{{ .Driver.IPAddress }}"). */
function code(text: string): string {
  return text
    .replace(/\/\*[\s\S]*?\*\//g, (c) => c.replace(/[^\n]/g, ''))
    .replace(/^\s*\/\/.*$/gm, '')
    .replace(/\s\/\/\s.*$/gm, '');
}

/** The code lines of `files` matching `pattern`, as "file:line: text". */
function hits(pattern: RegExp, files: string[]): string[] {
  return files.flatMap((file) =>
    code(readFileSync(file, 'utf8'))
      .split('\n')
      .flatMap((line, i) => (pattern.test(line) ? [`${path.relative(SRC, file)}:${i + 1}: ${line.trim()}`] : [])),
  );
}

/** The fields every driver's config has (docker-machine's BaseDriver): reading them is no driver knowledge. */
function baseDriverFields(): string[] {
  const text = readFileSync(path.join(SRC, 'store/config.ts'), 'utf8');
  const body = /export interface BaseDriverConfig \{([\s\S]*?)\n\}/.exec(text)![1]!;
  return [...body.matchAll(/^\s+(\w+)\??:/gm)].map((m) => m[1]!);
}

const outsideDrivers = () => sources().filter((f) => !f.startsWith(path.join(SRC, 'drivers') + path.sep));

/**
 * A driver told by its name: DriverName compared with a literal or switched on (not `typeof x.DriverName`,
 * not a user's filter), or anything compared with a driver's name.
 */
const nameTest = (names: string[]) =>
  new RegExp(
    [
      /(?<!typeof\s+[\w.?!]*)\bDriverName(?:\.\w+\(\))*\s*[!=]==\s*['"`]/.source,
      /['"`]\s*[!=]==\s*[\w.?!]*\bDriverName\b/.source,
      /switch\s*\([\w.?!]*\bDriverName\)/.source,
      `[!=]==\\s*['"\`](?:${names.join('|')})['"\`]`,
      `['"\`](?:${names.join('|')})['"\`]\\s*[!=]==`,
    ].join('|'),
  );
const NAME_TEST = nameTest(DRIVERS.map((d) => d.name));
/** A driver-specific field of config.json's "Driver", read as a property, an index or through a cast. */
const rawDriverRead = (base: string[]) => new RegExp(`\\.Driver(?:\\??\\.(?!(?:${base.join('|')})\\b)\\w|\\??\\.?\\[|\\s+as\\b)`);

/** Where config.json's shape is checked as it is read, before any driver is loaded. */
const SHAPE_CHECK = path.join(SRC, 'store/store.ts');

describe('drivers are known only by their definitions', () => {
  it('the patterns catch what they are meant to, and not more', () => {
    const raw = rawDriverRead(baseDriverFields());
    for (const line of [
      "if (config.DriverName === 'generic')",
      "host.config.DriverName !== 'virtualbox'",
      "'qemu' === c.DriverName",
      'switch (host.config.DriverName) {',
      "const gw = driver === 'qemu' || driver === 'virtualbox' ? '10.0.2.2' : '';",
    ])
      expect(line).toMatch(NAME_TEST);
    for (const line of [
      "typeof host.DriverName !== 'string'",
      'renderProfile(opts, host.config.DriverName, env)',
      'any(f.driver, (d) => d.toLowerCase() === row.DriverName.toLowerCase())',
      "host.platform === 'linux'",
    ])
      expect(line).not.toMatch(NAME_TEST);
    for (const line of [
      'Number(host.config.Driver.EnginePort)',
      'c.Driver?.HostOnlyCIDR',
      "config.Driver['Accel']",
      'const d = machine.config.Driver as { DockerPort?: number };',
    ])
      expect(line).toMatch(raw);
    for (const line of [
      'this.config.Driver.SSHKeyPath',
      'host.config.Driver.SSHUser',
      'shares(config.Driver, platform)',
      'config.DriverName',
    ])
      expect(line).not.toMatch(raw);
  });

  it('no code outside src/drivers/ tests a driver by its name', () => {
    expect(hits(NAME_TEST, outsideDrivers())).toEqual([]);
  });

  it("no code outside src/drivers/ reads a driver's own config fields", () => {
    const files = outsideDrivers().filter((f) => f !== SHAPE_CHECK);
    expect(hits(rawDriverRead(baseDriverFields()), files)).toEqual([]);
  });
});
