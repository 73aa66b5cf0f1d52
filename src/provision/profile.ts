import { shQuote, shQuoteBody } from '../core/quote.js';
import type { EngineOptions } from '../store/config.js';

/** Remote paths docker-machine uses on boot2docker (provision/boot2docker.go). */
export const B2D_DIR = '/var/lib/boot2docker';
export const REMOTE = {
  profile: `${B2D_DIR}/profile`,
  caCert: `${B2D_DIR}/ca.pem`,
  serverCert: `${B2D_DIR}/server.pem`,
  serverKey: `${B2D_DIR}/server-key.pem`,
  hostname: `${B2D_DIR}/etc/hostname`,
  hostCa: `${B2D_DIR}/certs/machine-host-ca.pem`,
};

/**
 * /var/lib/boot2docker/profile, byte for byte as docker-machine's template writes it
 * (GenerateDockerOptions), with one fix: every value is quoted for the root shell that sources the
 * file, so a "$", a backtick, a ";" or a quote in an engine option, env value or storage driver
 * stays literal (src/provision/validate.ts keeps out what quoting cannot fix). Values without such
 * characters give docker-machine's exact bytes.
 */
export function renderProfile(engine: EngineOptions, driverName: string, env: string[] = engine.Env, dockerPort = 2376): string {
  // docker-machine may have written null for an empty list.
  const labels = [...(engine.Labels ?? []), `provider=${driverName}`];
  const storage = engine.StorageDriver || 'overlay2';
  let extra = '';
  for (const l of labels) extra += `--label ${l}\n`;
  for (const r of engine.InsecureRegistry ?? []) extra += `--insecure-registry ${r}\n`;
  for (const m of engine.RegistryMirror ?? []) extra += `--registry-mirror ${m}\n`;
  for (const f of engine.ArbitraryFlags ?? []) extra += `--${f}\n`;
  let exports = '';
  for (const e of env) exports += `export ${doubleQuote(e)}\n`;
  return (
    `\nEXTRA_ARGS='\n${shQuoteBody(extra)}\n'\n` +
    `CACERT=${REMOTE.caCert}\n` +
    `DOCKER_HOST='-H tcp://0.0.0.0:${dockerPort}'\n` +
    `DOCKER_STORAGE=${word(storage)}\n` +
    `DOCKER_TLS=auto\n` +
    `SERVERKEY=${REMOTE.serverKey}\n` +
    `SERVERCERT=${REMOTE.serverCert}\n\n` +
    `${exports}\n` +
    // read by our ISO's rcS (binfmt_misc registration); absent, docker-machine's bytes
    (engine.Binfmt === false ? 'BINFMT=no\n' : '')
  );
}

/** A value as a shell word: bare when it is plain (docker-machine's bytes), else single-quoted. */
function word(s: string): string {
  return /^[\w.:/-]+$/.test(s) ? s : shQuote(s);
}

/** Go's %q for printable ASCII, plus escaping what sh would expand inside double quotes. */
function doubleQuote(s: string): string {
  return `"${s
    .replace(/[\\"$`]/g, (c) => `\\${c}`)
    .replace(/\n/g, '\\n')
    .replace(/\t/g, '\\t')}"`;
}
