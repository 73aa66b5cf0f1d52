import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa, type Result } from 'execa';
import { makeTar, type TarFile } from '../../src/iso/userdata.js';

/** The host's static busybox (Debian busybox-static), the one binary of our offline test image. */
export const BUSYBOX = process.env.TEST_BUSYBOX ?? '/bin/busybox';

/**
 * A tiny root filesystem for `docker import`: busybox and the applets the tests use. No registry
 * is reachable from the test VMs, so every image is made this way.
 */
export async function busyboxRootfs(busybox: Buffer = readFileSync(BUSYBOX)): Promise<Buffer> {
  const files: TarFile[] = [
    { path: 'bin', mode: 0o755, dir: true },
    { path: 'bin/busybox', content: busybox, mode: 0o755 },
    { path: 'tmp', mode: 0o1777, dir: true },
    { path: 'www', mode: 0o755, dir: true },
    { path: 'www/index.html', content: 'hello from busybox httpd\n', mode: 0o644 },
  ];
  const applets = [
    'sh',
    'echo',
    'cat',
    'ls',
    'httpd',
    'sleep',
    'wc',
    'id',
    'hostname',
    'uname',
    'nc',
    'wget',
    'head',
    'dd',
    'sync',
    'rm',
    'mkdir',
    'touch',
    'env',
  ];
  return makeTar([...files, ...applets.map((a) => ({ path: `bin/${a}`, symlink: 'busybox', mode: 0o777 }))]);
}

/**
 * DOCKER_CONFIG for the tests (never the user's ~/.docker): a folder that does not exist, which the
 * docker CLI reads as an empty config and, for what the tests run, never creates.
 */
const EMPTY_DOCKER_CONFIG = path.join(os.tmpdir(), `machine-tests-no-docker-config-${process.pid}`);

/** The docker CLI pointed at a daemon, with an empty config of its own. */
export class DockerCli {
  constructor(private readonly env: Record<string, string>) {}

  static forEnv(env: Record<string, string>): DockerCli {
    return new DockerCli(env);
  }

  async run(args: string[], opts: { input?: Buffer | string; timeoutMs?: number } = {}): Promise<Result> {
    return execa('docker', args, {
      reject: false,
      input: opts.input,
      timeout: opts.timeoutMs ?? 120_000,
      env: { DOCKER_CONFIG: EMPTY_DOCKER_CONFIG, DOCKER_CONTEXT: '', ...this.env },
      extendEnv: true,
    }) as unknown as Promise<Result>;
  }

  /** Run and require success; stdout. */
  async ok(args: string[], opts: { input?: Buffer | string; timeoutMs?: number } = {}): Promise<string> {
    const res = await this.run(args, opts);
    if (res.exitCode !== 0) throw new Error(`docker ${args.join(' ')} failed (${res.exitCode}): ${String(res.stderr)}`);
    return String(res.stdout);
  }

  /** An offline image; for another architecture than the host's, give its platform and busybox. */
  async importBusybox(tag = 'test/busybox:1', other?: { platform: string; busybox: Buffer }): Promise<string> {
    const platform = other ? ['--platform', other.platform] : [];
    await this.ok(['import', ...platform, '-', tag], { input: await busyboxRootfs(other?.busybox) });
    return tag;
  }
}

/**
 * Debian's static busybox for arm64, from the .deb the arm64 ISO build downloaded (the build's
 * apt cache, keyed like iso/build.sh does): an arm64 image without a registry.
 */
export function arm64Busybox(): Buffer {
  const cache = process.env.MACHINE_CACHE_DIR ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'machine');
  const debs = path.join(cache, 'apt', 'arm64', 'debs');
  const deb = readdirSync(debs).find((f) => /^busybox-static_.*_arm64\.deb$/.test(f));
  if (!deb) throw new Error(`no arm64 busybox-static .deb in ${debs}: build the arm64 ISO first (bash iso/build.sh --arch arm64)`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'busybox-arm64-'));
  try {
    execFileSync('dpkg-deb', ['-x', path.join(debs, deb), dir]);
    return readFileSync(path.join(dir, 'usr', 'bin', 'busybox'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Environment for the docker CLI from `machine env` style variables. */
export function tlsEnv(host: string, certPath: string): Record<string, string> {
  return { DOCKER_HOST: host, DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: certPath };
}
