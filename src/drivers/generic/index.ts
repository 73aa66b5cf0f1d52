import os from 'node:os';
import path from 'node:path';
import { MachineError } from '../../core/errors.js';
import type { BaseDriverConfig } from '../../store/config.js';
import type { DriverEnv, FlagValues } from '../driver.js';
import { type GenericConfig, GenericDriver } from './driver.js';

export async function configFromFlags(flags: FlagValues, base: BaseDriverConfig): Promise<GenericConfig> {
  const ip = String(flags['generic-ip-address'] ?? '');
  if (!ip) throw new MachineError('The generic driver requires --generic-ip-address', { fix: 'give the address of the host to provision' });
  const key = flags['generic-ssh-key'] ? path.resolve(String(flags['generic-ssh-key'])) : path.join(os.homedir(), '.ssh', 'id_rsa');
  return {
    ...base,
    IPAddress: ip,
    SSHUser: String(flags['generic-ssh-user'] ?? 'root'),
    SSHPort: Number(flags['generic-ssh-port'] ?? 22),
    SSHKeyPath: key,
    SSHKey: key,
    EnginePort: Number(flags['generic-engine-port'] ?? 2376),
  };
}

export function load(config: BaseDriverConfig, env: DriverEnv): GenericDriver {
  return new GenericDriver(config as GenericConfig, env);
}
