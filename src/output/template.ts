import { MachineError } from '../core/errors.js';

/**
 * The part of Go's text/template that docker-machine users put in --format: field paths
 * ({{.Name}}, {{ .Driver.IPAddress }}, {{.}}), the json and prettyjson functions, and literal text
 * with \t and \n escapes. Anything else is refused with a clear message rather than misrendered.
 */
export function renderTemplate(template: string, data: unknown, opts: { sortKeys?: boolean } = {}): string {
  const json = (v: unknown, indent?: number) => JSON.stringify(opts.sortKeys ? sorted(v ?? null) : (v ?? null), null, indent);
  const unclosed = template.replace(/\{\{.*?\}\}/gs, '');
  if (unclosed.includes('{{') || unclosed.includes('}}')) {
    throw new MachineError(`Template error: "${template}" has an unclosed or unopened action`, {
      fix: 'write every field as {{.Field}}',
    });
  }
  return unescape(template).replace(/\{\{-?\s*(.*?)\s*-?\}\}/g, (_, expr: string) => {
    const m = /^(?:(json|prettyjson)\s+)?(\.[\w.]*)$/.exec(expr);
    if (!m)
      throw new MachineError(`Template error: unsupported expression "{{${expr}}}"`, {
        fix: 'use field paths like {{.Name}}, or {{json .Field}}',
      });
    const value = lookup(data, m[2]!);
    if (m[1] === 'json') return json(value);
    if (m[1] === 'prettyjson') return json(value, 4);
    return format(value);
  });
}

/** Go encodes a map (what `inspect` templates run on) with its keys sorted. */
function sorted(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sorted);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((k) => [k, sorted((value as Record<string, unknown>)[k])]),
  );
}

function lookup(data: unknown, path: string): unknown {
  let value = data;
  for (const key of path.split('.').filter(Boolean)) {
    if (value === null || typeof value !== 'object' || !(key in (value as object))) {
      throw new MachineError(`Template error: can't evaluate field ${key}`, { fix: 'check the field name (they are case-sensitive)' });
    }
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

/** How Go prints a value with {{.X}}: maps and slices in its own notation, nil as <nil>. */
function format(value: unknown): string {
  if (value === null || value === undefined) return '<nil>';
  if (Array.isArray(value)) return `[${value.map(format).join(' ')}]`;
  if (typeof value === 'object')
    return `map[${Object.entries(value)
      .map(([k, v]) => `${k}:${format(v)}`)
      .join(' ')}]`;
  return String(value);
}

function unescape(s: string): string {
  return s.replace(/\\t/g, '\t').replace(/\\n/g, '\n');
}
