import { validSan } from '../certs/x509.js';
import { MachineError } from '../core/errors.js';
import type { EngineOptions } from '../store/config.js';

/**
 * The rules for every engine setting that ends up in the VM's profile, a file a root shell sources at
 * each dockerd start. The profile quotes every value, so no value runs as code; these rules keep
 * out what quoting cannot make mean what the user meant: boot2docker word-splits EXTRA_ARGS, so a
 * space or a control character there would smuggle extra dockerd flags in. Checked at create and
 * again before each provisioning (a config.json written by docker-machine or by hand is not trusted).
 */

export class InvalidSetting extends MachineError {}

/** Spaces, tabs, newlines, NUL and other control characters. */
const SPACE_OR_CONTROL = /[\s\x00-\x1f\x7f]/;
const CONTROL = /[\x00-\x1f\x7f]/;

function fail(flag: string, value: string, problem: string, fix: string): never {
  throw new InvalidSetting(`${flag} ${JSON.stringify(value)} ${problem}`, { fix });
}

export function checkLabel(label: string): void {
  const eq = label.indexOf('=');
  if (eq <= 0) fail('--engine-label', label, 'is not key=value', 'give one label per flag, e.g. --engine-label team=web');
  if (SPACE_OR_CONTROL.test(label))
    fail('--engine-label', label, 'contains a space or a control character', 'give one key=value per --engine-label, without spaces');
}

export function checkStorageDriver(driver: string): void {
  if (driver && !/^[a-z0-9][a-z0-9_.-]*$/.test(driver))
    fail('--engine-storage-driver', driver, 'is not a storage driver name', 'use a name such as overlay2, vfs, btrfs or zfs');
}

export function checkEngineOpt(opt: string): void {
  const eq = opt.indexOf('=');
  const flag = eq < 0 ? opt : opt.slice(0, eq);
  if (!/^[a-zA-Z0-9][\w-]*$/.test(flag))
    fail('--engine-opt', opt, 'is not a daemon flag', 'use the form flag=value, e.g. --engine-opt log-level=debug');
  if (SPACE_OR_CONTROL.test(opt))
    fail('--engine-opt', opt, 'contains a space or a control character', 'give one flag=value per --engine-opt');
}

export function checkEnv(entry: string, flag = '--engine-env'): void {
  if (!/^[A-Za-z_][A-Za-z0-9_]*=/.test(entry)) fail(flag, entry, 'is not NAME=value', 'e.g. --engine-env HTTP_PROXY=http://proxy:3128');
  if (CONTROL.test(entry)) fail(flag, entry, 'contains a newline or a control character', 'give the value on one line');
}

export function checkRegistry(registry: string): void {
  if (!registry || SPACE_OR_CONTROL.test(registry))
    fail('--engine-insecure-registry', registry, 'is not a registry', 'give host:port or a CIDR, e.g. myregistry:5000 or 10.0.0.0/8');
}

export function checkMirror(mirror: string): void {
  let ok = false;
  try {
    ok = /^https?:$/.test(new URL(mirror).protocol) && !SPACE_OR_CONTROL.test(mirror);
  } catch {
    ok = false;
  }
  if (!ok) fail('--engine-registry-mirror', mirror, 'is not an http(s) URL', 'e.g. --engine-registry-mirror https://mirror.example.com');
}

export function checkSan(san: string): void {
  if (!validSan(san))
    fail('--tls-san', san, 'is not a DNS name or an IP address', 'give one name or address per --tls-san, e.g. --tls-san docker.local');
}

/** Every engine setting, and the proxy entries taken from the host, by the rules above. */
export function checkEngineOptions(engine: EngineOptions, hostProxy: string[] = []): void {
  engine.Labels?.forEach(checkLabel);
  checkStorageDriver(engine.StorageDriver ?? '');
  engine.ArbitraryFlags?.forEach(checkEngineOpt);
  engine.Env?.forEach((e) => checkEnv(e));
  engine.InsecureRegistry?.forEach(checkRegistry);
  engine.RegistryMirror?.forEach(checkMirror);
  hostProxy.forEach((e) => checkEnv(e, 'The proxy setting'));
}
