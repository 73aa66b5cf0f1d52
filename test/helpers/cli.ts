import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa, type Options, type Result } from 'execa';
import { PROJECT_ROOT } from '../../src/core/paths.js';
import { baseDriverConfig, defaultEngineOptions, defaultSwarmOptions } from '../../src/store/config.js';

export const ROOT = PROJECT_ROOT;
export const MACHINE = path.join(ROOT, 'bin', 'machine');

/** A fresh, empty store in a temporary directory. */
export async function tempStore(prefix = 'mstore-'): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), prefix));
}

/**
 * Run the real CLI (bin/machine → dist/, which vitest's globalSetup builds) against a store. VMs get
 * QEMU's restricted user-mode network: the guest reaches nothing; only the 127.0.0.1 port forwards
 * reach it.
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

/**
 * A machine's config.json as create writes it (docker-machine v3), for tests that need a machine in
 * a store without booting one: `driver` fields are merged over the base driver config.
 */
export async function writeMachineConfig(
  store: string,
  name: string,
  driverName: string,
  driver: Record<string, unknown> = {},
  hostOptions: Record<string, unknown> = {},
): Promise<string> {
  const dir = path.join(store, 'machines', name);
  const certs = path.join(store, 'certs');
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const config = {
    ConfigVersion: 3,
    Driver: { ...baseDriverConfig(name, store, path.join(dir, 'id_ed25519')), ...driver },
    DriverName: driverName,
    HostOptions: {
      Driver: '',
      Memory: 0,
      Disk: 0,
      EngineOptions: defaultEngineOptions(),
      SwarmOptions: defaultSwarmOptions(),
      AuthOptions: {
        CertDir: certs,
        CaCertPath: path.join(certs, 'ca.pem'),
        CaPrivateKeyPath: path.join(certs, 'ca-key.pem'),
        CaCertRemotePath: '',
        ServerCertPath: path.join(dir, 'server.pem'),
        ServerKeyPath: path.join(dir, 'server-key.pem'),
        ClientKeyPath: path.join(certs, 'key.pem'),
        ServerCertRemotePath: '',
        ServerKeyRemotePath: '',
        ClientCertPath: path.join(certs, 'cert.pem'),
        ServerCertSANs: [],
        StorePath: dir,
      },
      ...hostOptions,
    },
    Name: name,
  };
  await fs.writeFile(path.join(dir, 'config.json'), JSON.stringify(config, null, 4), { mode: 0o600 });
  return dir;
}

/** Run fn over items, `size` at a time (each is usually a CLI process: two cores, many runs). */
export async function inBatches<T, R>(items: T[], size: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += size) out.push(...(await Promise.all(items.slice(i, i + size).map((it, j) => fn(it, i + j)))));
  return out;
}
