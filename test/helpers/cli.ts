import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa, type Options, type Result } from 'execa';
import { PROJECT_ROOT } from '../../src/iso/recipe.js';

export const ROOT = PROJECT_ROOT;
export const MACHINE = path.join(ROOT, 'bin', 'machine');

/** A fresh, empty store in a temporary directory. */
export async function tempStore(prefix = 'mstore-'): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), prefix));
}

/**
 * Run the real CLI (bin/machine → dist/) against a store. VMs get QEMU's restricted user-mode
 * network: the guest reaches nothing; only the 127.0.0.1 port forwards reach it.
 */
export function machine(store: string, args: string[], opts: Options = {}): Promise<Result> {
  return execa(MACHINE, args, {
    reject: false,
    all: true,
    stdin: 'ignore',
    ...opts,
    env: { CI: '1', QEMU_NETWORK: 'restricted', QEMU_ACCEL: 'tcg', ...opts.env, MACHINE_STORAGE_PATH: store },
  }) as unknown as Promise<Result>;
}
