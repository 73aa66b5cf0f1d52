import { promises as fs } from 'node:fs';
import { MachineError } from '../core/errors.js';
import { Machine } from '../machine/machine.js';
import type { Store } from '../store/store.js';

/** `machine logs NAME`: the VM's console (serial port) output of its last boot. */
export async function logs(store: Store, name: string, opts: { milestones?: boolean }): Promise<string> {
  const machine = await Machine.load(store, name);
  const file = machine.driver.consoleLog?.();
  if (!file) throw new MachineError(`The ${machine.config.DriverName} driver keeps no console log`);
  const text = await fs.readFile(file, 'utf8').catch(() => '');
  if (!opts.milestones) return text;
  return [...text.matchAll(/machine-boot: (\w+) ([\d.]+)/g)].map((m) => `${m[1]}\t${m[2]}s\n`).join('');
}
