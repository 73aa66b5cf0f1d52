import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The rooms of src/ and the direction of imports (docs/architecture.md): a room may import its own
 * modules and rooms below it, never one above (types included), and no module may reach itself
 * through the imports that run (type-only ones vanish at run time).
 */
const RANK: Record<string, number> = {
  cli: 8,
  output: 7,
  commands: 6,
  tasks: 5,
  doctor: 5,
  context: 4,
  forward: 4,
  machine: 3,
  drivers: 2,
  provision: 2,
  certs: 2,
  ssh: 2,
  docker: 2,
  iso: 2,
  env: 2,
  store: 1,
  core: 0,
};

const SRC = path.resolve(__dirname, '../../src');

function sources(dir = SRC): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : [],
  );
}

/** Imports of a module (static and dynamic; with types or only those that run), as source paths. */
function importsOf(file: string, withTypes: boolean): string[] {
  const text = readFileSync(file, 'utf8');
  const statement = withTypes
    ? /^\s*(?:import|export)\s[^;]*?\sfrom\s+'(\.[^']+)'/gms
    : /^\s*(?:import|export)\s+(?!type\s)[^;]*?\sfrom\s+'(\.[^']+)'/gms;
  const specs = [
    ...[...text.matchAll(statement)].map((m) => m[1]!),
    ...[...text.matchAll(/^\s*import\s+'(\.[^']+)'/gm)].map((m) => m[1]!),
    ...[...text.matchAll(/import\('(\.[^']+)'\)/g)].map((m) => m[1]!),
  ];
  return specs.map((s) => path.resolve(path.dirname(file), s).replace(/\.js$/, '.ts'));
}

const room = (file: string) => path.relative(SRC, file).split(path.sep)[0]!;
const graph = new Map(sources().map((f) => [f, importsOf(f, false)]));
const typed = new Map(sources().map((f) => [f, importsOf(f, true)]));

describe('the rooms of src/', () => {
  it('every folder of src/ has a rank', () => {
    expect([...new Set([...graph.keys()].map(room))].filter((r) => !(r in RANK))).toEqual([]);
  });

  it('no module imports a room above its own', () => {
    const upward: string[] = [];
    for (const [file, deps] of typed) {
      for (const dep of deps) {
        if (RANK[room(dep)]! > RANK[room(file)]!) upward.push(`${path.relative(SRC, file)} -> ${path.relative(SRC, dep)}`);
      }
    }
    expect(upward).toEqual([]);
  });

  it('no import cycle', () => {
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const visit = (file: string, trail: string[]) => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'open') {
        cycles.push([...trail.slice(trail.indexOf(file)), file].map((f) => path.relative(SRC, f)).join(' -> '));
        return;
      }
      state.set(file, 'open');
      for (const dep of graph.get(file) ?? []) visit(dep, [...trail, file]);
      state.set(file, 'done');
    };
    for (const file of graph.keys()) visit(file, []);
    expect(cycles).toEqual([]);
  });

  it('the check sees imports: the CLI reaches the operations', () => {
    const cli = graph.get(path.join(SRC, 'cli/commands.ts'))!;
    expect(cli).toContain(path.join(SRC, 'tasks/lifecycle.ts'));
    expect(cli).toContain(path.join(SRC, 'output/listr.ts'));
  });
});
