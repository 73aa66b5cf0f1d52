import path from 'node:path';
import type { ClientCertPaths } from '../certs/bootstrap.js';
import { MachineError } from '../core/errors.js';
import { pathDirs } from '../core/system.js';
import { Store } from '../store/store.js';

export interface CommandContext {
  store: Store;
  /** The command line as the user typed it, for env's usage hints. */
  commandLine: string;
  debug: boolean;
  /** docker-machine's global --tls-* flags: where create keeps (or finds) the CA and client pair. */
  tls: TlsPaths;
}

export type TlsPaths = Partial<ClientCertPaths>;

/**
 * The program name the way the user typed it: the bare name when bin/ is on PATH, else the path.
 * (docker-machine used os.Args[0]; node only gives us the resolved script path.)
 */
export function programName(argv1 = process.argv[1] ?? 'machine'): string {
  const dir = path.dirname(argv1);
  const onPath = pathDirs().some((p) => path.resolve(p) === dir);
  const name = onPath ? path.basename(argv1) : argv1;
  return /[\s\\]/.test(name) ? `"${name}"` : name;
}

/**
 * The store folder the user chose. An empty value (MACHINE_STORAGE_PATH= from a script's empty
 * variable) would make the current folder the store: refused, as are the kernel's pseudo
 * filesystems, which can hang or lie.
 */
export function storagePath(value: string): string {
  if (!value.trim()) {
    throw new MachineError('The storage path is empty (MACHINE_STORAGE_PATH or --storage-path)', {
      fix: 'unset MACHINE_STORAGE_PATH to use ~/.docker/machine, or give a folder',
    });
  }
  const resolved = path.resolve(value);
  if (process.platform !== 'win32' && /^\/(proc|sys|dev)(\/|$)/.test(resolved)) {
    throw new MachineError(`The storage path ${resolved} is inside a kernel pseudo filesystem`, {
      fix: 'give a folder on a real disk (the default is ~/.docker/machine)',
    });
  }
  return resolved;
}

/** MACHINE_DEBUG / -D: a yes or no; anything else is a mistake worth saying. */
export function debugSetting(flag: boolean | undefined, env = process.env.MACHINE_DEBUG): boolean {
  if (flag) return true;
  if (env === undefined || env === '') return false;
  if (/^(1|true|yes|on)$/i.test(env)) return true;
  if (/^(0|false|no|off)$/i.test(env)) return false;
  throw new MachineError(`MACHINE_DEBUG="${env}" is not a debug setting`, { fix: 'set it to 1 to turn debugging on, or unset it' });
}

/** The global options as commander names them. */
export interface GlobalOptions {
  storagePath: string;
  debug?: boolean;
  tlsCaCert?: string;
  tlsCaKey?: string;
  tlsClientCert?: string;
  tlsClientKey?: string;
}

export function makeContext(globals: GlobalOptions, args: string[]): CommandContext {
  const given = { caCert: globals.tlsCaCert, caKey: globals.tlsCaKey, clientCert: globals.tlsClientCert, clientKey: globals.tlsClientKey };
  const tls = Object.fromEntries(
    Object.entries(given)
      .filter(([, v]) => v)
      .map(([k, v]) => [k, path.resolve(v!)]),
  ) as TlsPaths;
  return {
    store: new Store(storagePath(globals.storagePath)),
    commandLine: [programName(), ...args].join(' '),
    debug: debugSetting(globals.debug),
    tls,
  };
}
