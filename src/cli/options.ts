import { InvalidArgumentError, Option } from 'commander';
import type { FlagSpec } from '../drivers/driver.js';

/** Repeatable flag: --engine-label a --engine-label b → ['a', 'b']. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** A size in MB: "2048", "2048M", "2G", "1.5g", "512MB". */
export function parseSizeMB(value: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*$/i.exec(value);
  if (!m) throw new InvalidArgumentError(`"${value}" is not a size: use MB (2048) or a unit (2G, 512M)`);
  const n = Number(m[1]);
  const unit = (m[2] || 'm').toLowerCase();
  const mb = unit === 'k' ? n / 1024 : unit === 'g' ? n * 1024 : unit === 't' ? n * 1024 * 1024 : n;
  if (mb < 1 || !Number.isFinite(mb)) throw new InvalidArgumentError(`"${value}" is too small`);
  return Math.round(mb);
}

/** A timeout: a whole number of seconds, at least 1. */
export function parseSeconds(value: string): number {
  const n = parseInteger(value);
  if (n < 1) throw new InvalidArgumentError(`"${value}" is not a timeout: give a number of seconds, at least 1`);
  return n;
}

export function parseInteger(value: string): number {
  if (!/^-?\d+$/.test(value.trim())) throw new InvalidArgumentError(`"${value}" is not a whole number`);
  return Number(value);
}

/** A commander option from a driver's flag spec, with its environment variable. */
export function optionFromSpec(spec: FlagSpec): Option {
  const arg = spec.type === 'bool' ? '' : ` ${spec.arg ?? '<value>'}`;
  const opt = new Option(`--${spec.name}${arg}`, spec.description);
  if (spec.env) opt.env(spec.env);
  if (spec.choices) opt.choices(spec.choices);
  if (spec.type === 'int') opt.argParser(parseInteger);
  if (spec.type === 'size') opt.argParser(parseSizeMB);
  if (spec.type === 'list') opt.argParser(collect);
  if (spec.default !== undefined && spec.type !== 'bool') opt.default(spec.default);
  return opt;
}
