import path from 'node:path';
import { Store } from '../store/store.js';

export interface CommandContext {
  store: Store;
  /** The command line as the user typed it, for env's usage hints. */
  commandLine: string;
  debug: boolean;
}

/**
 * The program name the way the user typed it: the bare name when bin/ is on PATH, else the path.
 * (docker-machine used os.Args[0]; node only gives us the resolved script path.)
 */
export function programName(argv1 = process.argv[1] ?? 'machine'): string {
  const dir = path.dirname(argv1);
  const onPath = (process.env.PATH ?? '').split(path.delimiter).some((p) => p && path.resolve(p) === dir);
  const name = onPath ? path.basename(argv1) : argv1;
  return /[\s\\]/.test(name) ? `"${name}"` : name;
}

export function makeContext(storagePath: string, debug: boolean, args: string[]): CommandContext {
  return { store: new Store(storagePath), commandLine: [programName(), ...args].join(' '), debug };
}
