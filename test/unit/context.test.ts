import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createCertificate, generateRsaKey } from '../../src/certs/x509.js';
import { contextId, DockerContexts } from '../../src/context/docker-contexts.js';
import { contextNameFor, dockerTarget, type MachineContextMeta, removeMachineContext, unuseMachine } from '../../src/context/machine.js';
import { Store } from '../../src/store/store.js';
import { machine } from '../helpers/cli.js';
import { onPath } from '../helpers/shells.js';

/**
 * Docker contexts written in the docker CLI's own format, without the docker CLI; proven with the
 * docker CLI (28.x here) where it is installed: it reads what we write, we write what it writes.
 * Every run uses a temporary DOCKER_CONFIG, never ~/.docker.
 */

const docker = onPath('docker');
const TLS = { ca: 'CA PEM\n', cert: 'CERT PEM\n', key: 'KEY PEM\n' };
let tmp: string;
let config: string;
let store: Store;

beforeEach(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'ctx-'));
  config = path.join(tmp, 'docker-config');
  store = new Store(path.join(tmp, 'store'));
});
afterEach(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

const dockerRun = (args: string[], env: Record<string, string> = {}) =>
  execa(docker!, args, { env: { DOCKER_CONFIG: config, DOCKER_HOST: '', DOCKER_CONTEXT: '', ...env }, reject: false, stdin: 'ignore' });

const meta = (name: string, machineName = 'default', storePath = store.root): MachineContextMeta => ({
  Name: name,
  Metadata: { Description: `machine "${machineName}"`, MachineName: machineName, MachineStoragePath: storePath },
  Endpoints: { docker: { Host: 'tcp://127.0.0.1:50123', SkipTLSVerify: false } },
});

async function modes(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (dir: string) => {
    for (const e of await fs.readdir(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      out[path.relative(root, p).replace(/[0-9a-f]{64}/, '<id>')] = ((await fs.stat(p)).mode & 0o777).toString(8);
      if (e.isDirectory()) await walk(p);
    }
  };
  await walk(root);
  return out;
}

describe('the docker CLI context store format', () => {
  it('names folders by the SHA-256 of the context name', () => {
    expect(contextId('machine-default')).toBe('cdba45d265c2b9ac29c0c6b93a2d45e2f8bca2b19c68a5696e782776beb550c5');
    expect(contextNameFor('default')).toBe('machine-default');
  });

  it('writes what the docker CLI writes (layout, modes, meta.json), with nothing but files', async () => {
    const ours = new DockerContexts(config);
    await ours.write(meta('machine-default'), TLS);
    expect(JSON.parse(await fs.readFile(path.join(ours.metaDir('machine-default'), 'meta.json'), 'utf8'))).toEqual(meta('machine-default'));
    expect(await fs.readFile(path.join(ours.tlsDir('machine-default'), 'docker', 'key.pem'), 'utf8')).toBe(TLS.key);
    const oursModes = await modes(path.join(config, 'contexts'));
    expect(oursModes).toEqual({
      meta: '755',
      'meta/<id>': '755',
      'meta/<id>/meta.json': '644',
      tls: '700',
      'tls/<id>': '700',
      'tls/<id>/docker': '700',
      'tls/<id>/docker/ca.pem': '600',
      'tls/<id>/docker/cert.pem': '600',
      'tls/<id>/docker/key.pem': '600',
    });
    if (!docker) return;
    // The docker CLI's own context of the same name, in another config folder: same layout and modes.
    const theirs = path.join(tmp, 'theirs');
    const pem = path.join(tmp, 'pem');
    await fs.mkdir(pem);
    // The docker CLI checks the PEMs it copies: real ones.
    const key = await generateRsaKey();
    const cert = createCertificate({ kind: 'ca', org: 'test', keyPem: key });
    for (const [f, v] of Object.entries({ ca: cert, cert, key })) await fs.writeFile(path.join(pem, `${f}.pem`), v);
    const res = await execa(
      docker,
      [
        'context',
        'create',
        'machine-default',
        '--description',
        'x',
        '--docker',
        `host=tcp://127.0.0.1:50123,ca=${pem}/ca.pem,cert=${pem}/cert.pem,key=${pem}/key.pem`,
      ],
      { env: { DOCKER_CONFIG: theirs }, reject: false },
    );
    expect(res.exitCode, res.stderr).toBe(0);
    expect(await modes(path.join(theirs, 'contexts'))).toEqual(oursModes);
    const theirMeta = JSON.parse(await fs.readFile(path.join(new DockerContexts(theirs).metaDir('machine-default'), 'meta.json'), 'utf8'));
    expect(Object.keys(theirMeta)).toEqual(['Name', 'Metadata', 'Endpoints']);
    expect(theirMeta.Endpoints).toEqual(meta('machine-default').Endpoints);
  });

  it.skipIf(!docker)('the docker CLI lists, inspects, uses and leaves our context', async () => {
    const ours = new DockerContexts(config);
    await ours.write(meta('machine-default'), TLS);
    await ours.setCurrent('machine-default');
    const ls = await dockerRun(['context', 'ls', '--format', '{{.Name}} {{.Current}} {{.DockerEndpoint}} {{.Description}}']);
    expect(ls.stdout).toContain('machine-default true tcp://127.0.0.1:50123 machine "default"');
    const inspect = JSON.parse((await dockerRun(['context', 'inspect', 'machine-default'])).stdout)[0];
    expect(inspect.TLSMaterial).toEqual({ docker: ['ca.pem', 'cert.pem', 'key.pem'] });
    expect(inspect.Metadata).toMatchObject({ MachineName: 'default', MachineStoragePath: store.root });
    expect((await dockerRun(['context', 'show'])).stdout.trim()).toBe('machine-default');
    // And the other way: the docker CLI's "use default" is seen by us.
    expect((await dockerRun(['context', 'use', 'default'])).exitCode).toBe(0);
    expect(await ours.current()).toBeUndefined();
  });
});

describe('config.json: currentContext only', () => {
  it('keeps every other setting, the file mode, and writes through a symlink (dotfiles)', async () => {
    await fs.mkdir(config, { recursive: true });
    const real = path.join(tmp, 'dotfiles-config.json');
    await fs.writeFile(
      real,
      JSON.stringify({ auths: { 'registry.example': { auth: 'eA==' } }, credsStore: 'desktop', currentContext: 'colima' }),
      { mode: 0o640 },
    );
    await fs.chmod(real, 0o640);
    await fs.symlink(real, path.join(config, 'config.json'));
    const c = new DockerContexts(config);
    expect(await c.current()).toBe('colima');
    await c.setCurrent('machine-dev');
    expect((await fs.lstat(path.join(config, 'config.json'))).isSymbolicLink()).toBe(true);
    expect(JSON.parse(await fs.readFile(real, 'utf8'))).toEqual({
      auths: { 'registry.example': { auth: 'eA==' } },
      credsStore: 'desktop',
      currentContext: 'machine-dev',
    });
    expect((await fs.stat(real)).mode & 0o777).toBe(0o640);
    await c.setCurrent(undefined);
    expect(JSON.parse(await fs.readFile(real, 'utf8'))).toEqual({ auths: { 'registry.example': { auth: 'eA==' } }, credsStore: 'desktop' });
  });

  it('refuses to rewrite a config.json it cannot parse', async () => {
    await fs.mkdir(config, { recursive: true });
    await fs.writeFile(path.join(config, 'config.json'), '{ broken');
    await expect(new DockerContexts(config).setCurrent('machine-x')).rejects.toThrow(/is not valid JSON/);
    expect(await fs.readFile(path.join(config, 'config.json'), 'utf8')).toBe('{ broken');
  });
});

describe('machine contexts', () => {
  const env = () => ({ DOCKER_CONFIG: config }) as NodeJS.ProcessEnv;

  it('rm removes only the context this store made, and stops it being current', async () => {
    const c = new DockerContexts(config);
    await c.write(meta('machine-default'), TLS);
    await c.write(meta('machine-other', 'other', '/another/store'), TLS);
    await c.setCurrent('machine-default');
    expect(await removeMachineContext(store, 'default', env())).toBe('machine-default');
    expect(await c.read('machine-default')).toBeUndefined();
    expect(await fs.stat(c.tlsDir('machine-default')).catch(() => 'gone')).toBe('gone');
    expect(await c.current()).toBeUndefined();
    expect(await removeMachineContext(store, 'other', env())).toBeUndefined();
    expect(await c.read('machine-other')).toBeDefined();
  });

  it('use --unset goes back to "default" from a machine context, and leaves other contexts alone', async () => {
    const c = new DockerContexts(config);
    await c.write(meta('machine-default'), TLS);
    await c.setCurrent('machine-default');
    expect(await unuseMachine(env())).toEqual({ previous: 'machine-default', warnings: [] });
    expect(await c.current()).toBeUndefined();
    await c.write({ Name: 'colima', Metadata: {}, Endpoints: { docker: { Host: 'unix:///x.sock', SkipTLSVerify: false } } });
    await c.setCurrent('colima');
    expect(await unuseMachine(env())).toEqual({ foreign: 'colima', warnings: [] });
    expect(await c.current()).toBe('colima');
  });

  it("knows what the docker CLI talks to, by the docker CLI's precedence", async () => {
    const c = new DockerContexts(config);
    await c.write(meta('machine-default'), TLS);
    await c.setCurrent('machine-default');
    expect(await dockerTarget(store, env())).toEqual({
      source: 'currentContext',
      context: 'machine-default',
      host: 'tcp://127.0.0.1:50123',
      machine: 'default',
    });
    expect(await dockerTarget(store, { ...env(), DOCKER_CONTEXT: 'default' })).toEqual({ source: 'default' });
    expect(await dockerTarget(store, { ...env(), DOCKER_HOST: 'tcp://1.2.3.4:2376' })).toEqual({
      source: 'DOCKER_HOST',
      host: 'tcp://1.2.3.4:2376',
    });
    expect((await dockerTarget(new Store('/another/store'), env())).machine).toBeUndefined();
  });

  it('the CLI: use needs an existing, running machine; --unset takes no name', async () => {
    const root = store.root;
    const none = await machine(root, ['use', 'nosuch'], { env: env() as Record<string, string> });
    expect([none.exitCode, String(none.stderr)]).toEqual([1, expect.stringMatching(/^Docker machine "nosuch" does not exist/)]);
    const noDefault = await machine(root, ['use'], { env: env() as Record<string, string> });
    expect(String(noDefault.stderr)).toBe('Error: No machine name(s) specified and no "default" machine exists');
    const both = await machine(root, ['use', '--unset', 'x'], { env: env() as Record<string, string> });
    expect(String(both.stderr)).toBe('Error: Expected no machine name when --unset is present');
    const help = await machine(root, ['use', '--help']);
    expect(String(help.stdout)).toContain('Machine NAME gets the docker context "machine-NAME"');
  });
});
