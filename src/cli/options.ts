import { InvalidArgumentError, Option } from 'commander';
import * as units from '../core/units.js';
import type { FlagSpec } from '../drivers/driver.js';

/** Repeatable flag: --engine-label a --engine-label b → ['a', 'b']. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** A parser of core/units for commander, whose errors name the option. */
function forCommander<T>(parse: (value: string) => T): (value: string) => T {
  return (value) => {
    try {
      return parse(value);
    } catch (err) {
      throw new InvalidArgumentError((err as Error).message);
    }
  };
}

export const parseSeconds = forCommander(units.parseSeconds);
const parseInteger = forCommander(units.parseInteger);
const parseSizeMB = forCommander(units.parseSizeMB);

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
