import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MachineError } from '../core/errors.js';
import { writeFileAtomic } from '../core/files.js';
import type { ClientTls } from '../docker/api.js';

/**
 * The docker CLI's context store, read and written directly in its own on-disk format (docker/cli
 * context/store), so it works before the docker CLI is even installed:
 *
 *   $DOCKER_CONFIG/config.json                                   "currentContext": "<name>"
 *   $DOCKER_CONFIG/contexts/meta/<sha256(name)>/meta.json        {"Name","Metadata","Endpoints"}
 *   $DOCKER_CONFIG/contexts/tls/<sha256(name)>/docker/{ca,cert,key}.pem
 *
 * Modes as the docker CLI makes them: meta 0755/0644, tls 0700/0600; config.json 0600.
 */

/** The docker CLI's configuration folder: $DOCKER_CONFIG, else ~/.docker. */
export function dockerConfigDir(env: NodeJS.ProcessEnv = process.env, home = os.homedir()): string {
  return env.DOCKER_CONFIG || path.join(home, '.docker');
}

export interface DockerEndpointMeta {
  Host: string;
  SkipTLSVerify: boolean;
}

export interface ContextMeta {
  Name: string;
  /** Docker's own key is Description; other keys are kept by the docker CLI as they are. */
  Metadata: { Description?: string; [key: string]: unknown };
  Endpoints: { docker?: DockerEndpointMeta; [endpoint: string]: unknown };
}

/** Docker reserves "default" (the DOCKER_HOST-based context); names follow docker's rule. */
export const CONTEXT_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.+-]+$/;

/** The folder name of a context: the hex SHA-256 of its name (digest.FromString(name).Encoded()). */
export function contextId(name: string): string {
  return createHash('sha256').update(name).digest('hex');
}

export class DockerContexts {
  constructor(readonly configDir: string = dockerConfigDir()) {}

  get configFile(): string {
    return path.join(this.configDir, 'config.json');
  }
  metaDir(name: string): string {
    return path.join(this.configDir, 'contexts', 'meta', contextId(name));
  }
  tlsDir(name: string): string {
    return path.join(this.configDir, 'contexts', 'tls', contextId(name));
  }

  async read(name: string): Promise<ContextMeta | undefined> {
    let text: string;
    try {
      text = await fs.readFile(path.join(this.metaDir(name), 'meta.json'), 'utf8');
    } catch {
      return undefined;
    }
    try {
      const meta = JSON.parse(text) as ContextMeta;
      return meta && typeof meta === 'object' && meta.Name === name ? meta : undefined;
    } catch {
      return undefined;
    }
  }

  /** Write (or replace) a context with a docker endpoint and its TLS files. */
  async write(meta: ContextMeta, tls?: ClientTls): Promise<void> {
    if (!CONTEXT_NAME.test(meta.Name) || meta.Name === 'default') {
      throw new MachineError(`"${meta.Name}" is not a valid docker context name`);
    }
    const metaDir = this.metaDir(meta.Name);
    await fs.mkdir(metaDir, { recursive: true, mode: 0o755 });
    const tlsRoot = this.tlsDir(meta.Name);
    if (tls) {
      const dir = path.join(tlsRoot, 'docker');
      await fs.mkdir(path.join(this.configDir, 'contexts', 'tls'), { recursive: true, mode: 0o700 });
      await fs.mkdir(dir, { recursive: true, mode: 0o700 });
      await Promise.all([
        writeFileAtomic(path.join(dir, 'ca.pem'), tls.ca, 0o600),
        writeFileAtomic(path.join(dir, 'cert.pem'), tls.cert, 0o600),
        writeFileAtomic(path.join(dir, 'key.pem'), tls.key, 0o600),
      ]);
    } else {
      await fs.rm(tlsRoot, { recursive: true, force: true });
    }
    await writeFileAtomic(path.join(metaDir, 'meta.json'), JSON.stringify(meta), 0o644);
  }

  async remove(name: string): Promise<void> {
    await fs.rm(this.metaDir(name), { recursive: true, force: true });
    await fs.rm(this.tlsDir(name), { recursive: true, force: true });
  }

  /** config.json as an object ({} when it is missing or empty). */
  private async readConfig(): Promise<Record<string, unknown>> {
    let text: string;
    try {
      text = await fs.readFile(this.configFile, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw err;
    }
    if (!text.trim()) return {};
    try {
      const json = JSON.parse(text) as unknown;
      if (json && typeof json === 'object' && !Array.isArray(json)) return json as Record<string, unknown>;
    } catch {
      // fall through
    }
    throw new MachineError(`The docker CLI's ${this.configFile} is not valid JSON`, {
      fix: 'fix it by hand (the docker CLI cannot read it either), then try again',
    });
  }

  /** config.json's currentContext; undefined when unset or "default". */
  async current(): Promise<string | undefined> {
    const json = await this.readConfig().catch(() => ({}) as Record<string, unknown>);
    const name = json.currentContext;
    return typeof name === 'string' && name && name !== 'default' ? name : undefined;
  }

  /**
   * Set (or, with undefined, clear) config.json's currentContext, keeping every other setting as it
   * was. Written the way the docker CLI writes it (tab indent, 0600), atomically, through a symlink.
   */
  async setCurrent(name: string | undefined): Promise<void> {
    const json = await this.readConfig();
    if (name === undefined || name === 'default') {
      if (!('currentContext' in json)) return;
      delete json.currentContext;
    } else {
      if (json.currentContext === name) return;
      json.currentContext = name;
    }
    await fs.mkdir(this.configDir, { recursive: true, mode: 0o700 });
    const target = await fs.realpath(this.configFile).catch(() => this.configFile);
    const mode = await fs
      .stat(target)
      .then((s) => s.mode & 0o777)
      .catch(() => 0o600);
    await writeFileAtomic(target, `${JSON.stringify(json, null, '\t')}\n`, mode);
  }
}
