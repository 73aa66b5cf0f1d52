import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { inspect } from 'node:util';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { exists } from '../../src/core/files.js';
import { freePort } from '../../src/core/ports.js';
import { processAlive } from '../../src/core/process.js';
import { poll } from '../../src/core/wait.js';
import { VirtualBoxDriver } from '../../src/drivers/virtualbox/driver.js';
import { configFromFlags } from '../../src/drivers/virtualbox/index.js';
import { closeSoapConnections, rawCall, SoapConnection } from '../../src/drivers/virtualbox/soap/transport.js';
import { VBoxManage } from '../../src/drivers/virtualbox/vboxmanage.js';
import { ownLogin, passwordHash, SECRET_FILE, webUser } from '../../src/drivers/virtualbox/weblogin.js';
import { avoidOwnWebService, ownWebService, startOwnWebService, stopOwnWebService } from '../../src/drivers/virtualbox/websrv.js';
import { baseDriverConfig } from '../../src/store/config.js';
import { Store } from '../../src/store/store.js';
import { machine, ROOT } from '../helpers/cli.js';
import { makeIso, taggedProcesses } from '../helpers/vboxChroot.js';
import { vboxChrootSuite } from '../helpers/vboxSuite.js';

/**
 * The web service the driver starts for itself, against the REAL vboxwebsrv 7.2 on 127.0.0.1: only
 * a client with the store's secret gets in, it ends with the process that started it (also on
 * SIGKILL), and no password or secret reaches config.json, stdout or stderr.
 */

const vb = vboxChrootSuite('VirtualBox web service e2e', async () => {
  avoidOwnWebService(false);
  await closeSoapConnections();
  await stopOwnWebService();
});

async function soapDriver(storeName: string, flags: Record<string, unknown> = {}) {
  const store = new Store(path.join(vb.c!.work, storeName));
  const name = `ws-${randomBytes(3).toString('hex')}`;
  const machineDir = store.machineDir(name);
  await fs.mkdir(machineDir, { recursive: true });
  const config = await configFromFlags(
    { 'virtualbox-api': 'soap', ...flags } as never,
    baseDriverConfig(name, store.root, path.join(machineDir, 'id_ed25519')),
  );
  return { store, driver: new VirtualBoxDriver(config, { store, machineDir }, { host: vb.c!.host }) };
}

/** IWebsessionManager_logon as any local client can send it: the session id, or the fault. */
async function logon(url: string, username: string, password: string): Promise<string> {
  const [session] = await rawCall(url, 'IWebsessionManager_logon', [
    ['username', username],
    ['password', password],
  ]);
  await rawCall(url, 'IWebsessionManager_logoff', [['refIVirtualBox', session!]]);
  return session!;
}

const mode = async (file: string) => (await fs.stat(file)).mode & 0o777;

describe('our own vboxwebsrv (real vboxwebsrv 7.2 on 127.0.0.1)', () => {
  it("refuses a logon without the store's secret, with a wrong one and with its hash, and accepts the driver's", async (ctx) => {
    if (!vb.c) return ctx.skip(vb.skipReason);
    const c = vb.c;
    const authLibrary = async () => /^Webservice auth\. library:.*$/m.exec((await vb.c!.vbm('list', 'systemproperties')).stdout)?.[0];
    const before = await authLibrary();
    const { store, driver } = await soapDriver('store-auth');
    const be = await driver.backend();
    expect(be.kind).toBe('soap');
    expect((await be.version()).api).toBe('7_2'); // logged on
    const service = ownWebService()!;
    expect(service.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const argv = (await fs.readFile(`/proc/${service.pid}/cmdline`, 'utf8')).split('\0');
    expect(argv[0]).toBe('/usr/lib/virtualbox/vboxwebsrv');
    expect(argv.join(' ')).toContain('--host 127.0.0.1 ');
    expect(argv.join(' ')).toContain('--authentication VBoxAuthSimple');

    const secretFile = path.join(store.root, SECRET_FILE);
    expect(await mode(secretFile)).toBe(0o600);
    const secret = await fs.readFile(secretFile, 'utf8');
    expect(secret).toMatch(/^[\w-]{43}$/);
    const user = webUser(store.root);
    const refused = /SOAP-ENV:Client/;
    await expect(logon(service.url, user, '')).rejects.toThrow(refused);
    await expect(logon(service.url, user, `${secret.slice(0, -1)}x`)).rejects.toThrow(refused);
    // The hash shows in the process list while VBoxManage sets it: it must not be a password.
    await expect(logon(service.url, user, passwordHash(secret))).rejects.toThrow(refused);
    await expect(logon(service.url, '', '')).rejects.toThrow(refused);
    await expect(logon(service.url, 'root', '')).rejects.toThrow(refused);
    expect(await logon(service.url, user, secret)).toMatch(/^[0-9a-f]{16}-[0-9a-f]{16}$/);
    // Through the driver's own client, a wrong secret is one clear line that does not repeat it.
    const wrong = `wrong-${randomBytes(8).toString('hex')}`;
    const err = await SoapConnection.open({ endpoint: service.url, username: user, password: wrong }).catch((e: Error) => e);
    expect((err as { line?: string }).line).toBe(
      `The VirtualBox web service at ${service.url} refused the logon of user "${user}": check the user and password (--virtualbox-soap-url http://user:password@host:18083/)`,
    );
    expect(inspect(err, { depth: 10 })).not.toContain(wrong);

    const log = await fs.readFile(service.logFile, 'utf8');
    expect(log).toContain("External authentication library is 'VBoxAuthSimple'");
    expect(log).toContain(`Access for user '${user}' denied`);
    expect(log).toContain(`Access for user '${user}' granted`);
    expect(log).not.toContain(secret);
    // VirtualBox holds the hash VBoxManage itself computes; the global auth library is untouched.
    expect((await c.vbm('getextradata', 'global', `VBoxAuthSimple/users/${user}`)).stdout.trim()).toBe(`Value: ${passwordHash(secret)}`);
    const sample = `s p@ce-${randomBytes(4).toString('hex')}`;
    expect((await c.vbm('internalcommands', 'passwordhash', sample)).stdout.trim()).toBe(`Password hash: ${passwordHash(sample)}`);
    expect(await authLibrary()).toBe(before);
    expect(before).toBeDefined();
  });

  it('sets the hash in VirtualBox only when it differs, and a store gets its own user', async (ctx) => {
    if (!vb.c) return ctx.skip(vb.skipReason);
    const c = vb.c;
    const calls: string[] = [];
    const vbm = new VBoxManage(c.vboxManage, c.host.exec, { trace: (args) => calls.push(args.slice(0, 2).join(' ')) });
    const root = path.join(c.work, 'store-hash');
    const first = await ownLogin(vbm, root);
    expect(calls).toEqual(['getextradata global', 'setextradata global']);
    calls.length = 0;
    expect(await ownLogin(vbm, root)).toEqual(first);
    expect(calls).toEqual(['getextradata global']);
    // Someone changed it: set again.
    await c.vbm('setextradata', 'global', `VBoxAuthSimple/users/${first.username}`, passwordHash('other'));
    calls.length = 0;
    await ownLogin(vbm, root);
    expect(calls).toEqual(['getextradata global', 'setextradata global']);
    const other = await ownLogin(vbm, path.join(c.work, 'store-hash-2'));
    expect(other.username).not.toBe(first.username);
    expect(other.password).not.toBe(first.password);
  });

  // A parent that starts the web service through the driver, prints its pid and port, then waits
  // (or exits at once).
  const PARENT = `
    const { VirtualBoxDriver } = await import(${JSON.stringify(path.join(ROOT, 'dist/src/drivers/virtualbox/driver.js'))});
    const { ownWebService } = await import(${JSON.stringify(path.join(ROOT, 'dist/src/drivers/virtualbox/websrv.js'))});
    const { Store } = await import(${JSON.stringify(path.join(ROOT, 'dist/src/store/store.js'))});
    const [storeRoot, how] = process.argv.slice(1);
    const store = new Store(storeRoot);
    const d = new VirtualBoxDriver({ MachineName: 'parent', API: 'soap' }, { store, machineDir: store.machineDir('parent') });
    await (await d.backend()).version();
    const { pid, url, logFile } = ownWebService();
    console.log(JSON.stringify({ pid, url, logFile }));
    if (how === 'exit') process.exit(0);
    setInterval(() => {}, 1000);
  `;

  /** Start the parent; resolves with what it printed, and the parent process. */
  async function startParent(how: string) {
    const parent = execa('node', ['--input-type=module', '-e', PARENT, path.join(vb.c!.work, 'store-parent'), how], {
      env: { VBOX_MANAGE: vb.c!.vboxManage, VBOX_WEBSRV: vb.c!.websrv },
      reject: false,
      all: true,
    });
    const first = await new Promise<string>((resolve, reject) => {
      parent.stdout!.once('data', (b: Buffer) => resolve(b.toString()));
      void parent.then((r) => reject(new Error(`the parent exited: ${r.all}`)));
    });
    return { parent, ...(JSON.parse(first) as { pid: number; url: string; logFile: string }) };
  }

  it.each(['SIGKILL', 'SIGTERM', 'exit'] as const)('ends within seconds when the process that started it ends (%s)', async (how, ctx) => {
    if (!vb.c) return ctx.skip(vb.skipReason);
    const { parent, pid, url, logFile } = await startParent(how);
    if (how !== 'exit') {
      expect(processAlive(pid)).toBe(true);
      expect((await fetch(url)).status).toBe(405); // vboxwebsrv answers GET with 405
      parent.kill(how);
    }
    await parent;
    const t0 = Date.now();
    await poll(async () => (processAlive(pid) ? undefined : true), { timeoutMs: 8000, intervalMs: 50, what: `vboxwebsrv ${pid} to end` });
    console.log(`[${how}] vboxwebsrv gone ${Date.now() - t0} ms after its parent`);
    await expect(fetch(url)).rejects.toThrow();
    // Its log goes at exit; a killed parent's log goes when the next command starts a web service.
    if (how !== 'exit') {
      expect(await exists(logFile)).toBe(true);
      await (
        await startParent('exit')
      ).parent;
    }
    expect(await exists(logFile)).toBe(false);
  });

  it('a long-lived process that calls avoidOwnWebService() works through VBoxManage and starts none', async (ctx) => {
    if (!vb.c) return ctx.skip(vb.skipReason);
    const c = vb.c;
    await stopOwnWebService();
    avoidOwnWebService();
    try {
      const { driver } = await soapDriver('store-avoid');
      const be = await driver.backend();
      expect(be.kind).toBe('vboxmanage');
      expect(Array.isArray(await be.listVms())).toBe(true); // VirtualBox answers, through VBoxManage
      expect(ownWebService()).toBeUndefined();
      await expect(startOwnWebService(c.websrv, new VBoxManage(c.vboxManage, c.host.exec))).rejects.toThrow(/avoidOwnWebService/);
      // A web service the user gave is still used.
      const { driver: given } = await soapDriver('store-avoid', { 'virtualbox-soap-url': 'http://127.0.0.1:9/' });
      expect((await given.backend()).kind).toBe('soap');
    } finally {
      avoidOwnWebService(false);
    }
  });

  it('never takes whoever answers on its port for itself: a port taken first gets no request, vboxwebsrv moves on', async (ctx) => {
    if (!vb.c) return ctx.skip(vb.skipReason);
    const c = vb.c;
    await stopOwnWebService();
    // A local user's server on the port we are about to use, answering like vboxwebsrv (GET: 405).
    const seen: string[] = [];
    const impostor = http.createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      res.writeHead(405).end();
    });
    const port = await freePort();
    await new Promise<void>((resolve) => impostor.listen(port, '127.0.0.1', resolve));
    try {
      const service = await startOwnWebService(c.websrv, new VBoxManage(c.vboxManage, c.host.exec), { port });
      expect(service.url).not.toBe(`http://127.0.0.1:${port}/`);
      const { driver } = await soapDriver('store-impostor');
      expect((await (await driver.backend()).version()).api).toBe('7_2');
      expect(ownWebService()).toBe(service);
      expect(seen).toEqual([]);
    } finally {
      impostor.close();
    }
  });
});

describe('the real CLI with the soap backend (real VirtualBox 7.2)', () => {
  it('keeps a --virtualbox-soap-url password out of config.json, inspect and every message, and keeps it working', async (ctx) => {
    if (!vb.c) return ctx.skip(vb.skipReason);
    const c = vb.c;
    // A web service of the user's, with a user and password of theirs (URL-special characters included).
    const service = await startOwnWebService(c.websrv, new VBoxManage(c.vboxManage, c.host.exec));
    const user = `alice-${randomBytes(3).toString('hex')}`;
    const password = `p@ss:w/rd?${randomBytes(6).toString('hex')}`;
    await c.vbm('setextradata', 'global', `VBoxAuthSimple/users/${user}`, passwordHash(password));
    const endpoint = `http://127.0.0.1:${new URL(service.url).port}/`;
    const url = `http://${user}:${encodeURIComponent(password)}@127.0.0.1:${new URL(service.url).port}/`;
    const store = path.join(c.work, 'store-url');
    const iso = path.join(c.work, 'test-url.iso');
    await makeIso(c, iso);
    const name = `url-${randomBytes(3).toString('hex')}`;
    const env = { VBOX_MANAGE: c.vboxManage, VBOX_WEBSRV: c.websrv };
    const outputs: string[] = [];
    const cli = async (args: string[]) => {
      const res = await machine(store, args, { env });
      outputs.push(String(res.all));
      return res;
    };
    const flags = ['-d', 'virtualbox', '--virtualbox-api', 'soap', '--virtualbox-no-hostonly', '--virtualbox-no-vtx-check'];
    try {
      // Kept on failure (no kernel driver here): a machine to inspect.
      const created = await cli(['create', ...flags, '--virtualbox-soap-url', url, '--boot2docker-url', iso, '--keep-on-failure', name]);
      expect(created.exitCode).not.toBe(0);
      expect(String(created.stderr)).toContain('Kernel driver not installed');
      const inspect = await cli(['inspect', name]);
      expect(inspect.exitCode).toBe(0);
      const config = JSON.parse(String(inspect.stdout)) as { Driver: { SoapURL: string; SoapUser: string } };
      expect(config.Driver.SoapURL).toBe(endpoint);
      expect(config.Driver.SoapUser).toBe(user);
      const configJson = await fs.readFile(path.join(store, 'machines', name, 'config.json'), 'utf8');
      for (const text of [configJson, String(inspect.stdout)]) {
        expect(text).not.toContain(encodeURIComponent(password));
        expect(text).not.toContain(password);
      }
      const passwordFile = path.join(store, 'machines', name, 'soap-password');
      expect(await mode(passwordFile)).toBe(0o600);
      expect(await fs.readFile(passwordFile, 'utf8')).toBe(password);
      // The stored password logs on: status asks the web service.
      const status = await cli(['status', name]);
      expect(String(status.stdout).trim(), String(status.all)).toBe('Stopped');
      // A wrong password: one line naming the endpoint, not the password.
      const wrong = `wrong-${randomBytes(6).toString('hex')}`;
      const bad = await cli([
        'create',
        ...flags,
        '--virtualbox-soap-url',
        `http://${user}:${wrong}@127.0.0.1:${new URL(service.url).port}/`,
        '--boot2docker-url',
        iso,
        `${name}-2`,
      ]);
      expect(bad.exitCode).not.toBe(0);
      expect(String(bad.stderr).trim()).toBe(
        `Error creating machine "${name}-2" at step "Running pre-create checks": The VirtualBox web service at ${endpoint} refused the logon of user "${user}": check the user and password (--virtualbox-soap-url http://user:password@host:18083/)`,
      );
      expect(String(bad.all)).not.toContain(wrong);
      // An unparseable URL is not echoed with its password either.
      const broken = await cli(['create', ...flags, '--virtualbox-soap-url', `http://${user}:${wrong}@127.0.0.1:99999/`, `${name}-3`]);
      expect(broken.exitCode).not.toBe(0);
      expect(String(broken.stderr)).toContain('--virtualbox-soap-url http://***@127.0.0.1:99999/ is not a URL');
      expect(String(broken.all)).not.toContain(wrong);
    } finally {
      const rm = await cli(['rm', '-f', name]);
      expect(rm.exitCode, String(rm.all)).toBe(0);
      await c.vbm('setextradata', 'global', `VBoxAuthSimple/users/${user}`);
    }
    for (const out of outputs) {
      expect(out).not.toContain(password);
      expect(out).not.toContain(encodeURIComponent(password));
    }
  });

  it('through its own web service: the store secret is 0600, never printed, and nothing outlives the command', async (ctx) => {
    if (!vb.c) return ctx.skip(vb.skipReason);
    const c = vb.c;
    const store = path.join(c.work, 'store-own');
    const iso = path.join(c.work, 'test-own.iso');
    await makeIso(c, iso);
    const name = `own-${randomBytes(3).toString('hex')}`;
    const tag = randomBytes(6).toString('hex');
    const env = { VBOX_MANAGE: c.vboxManage, VBOX_WEBSRV: c.websrv, MACHINE_TEST_TAG: tag };
    const outputs: string[] = [];
    for (const args of [
      [
        '--debug',
        'create',
        '-d',
        'virtualbox',
        '--virtualbox-api',
        'soap',
        '--virtualbox-no-hostonly',
        '--virtualbox-no-vtx-check',
        '--boot2docker-url',
        iso,
        '--keep-on-failure',
        name,
      ],
      ['--debug', 'ls'],
      ['inspect', name],
      ['--debug', 'status', name],
      ['rm', '-f', name],
    ]) {
      const res = await machine(store, args, { env });
      outputs.push(String(res.all));
    }
    expect(outputs[0]).toContain('Kernel driver not installed');
    expect(outputs[3]!.trim()).toBe('Stopped');
    const secretFile = path.join(store, SECRET_FILE);
    expect(await mode(secretFile)).toBe(0o600);
    const secret = await fs.readFile(secretFile, 'utf8');
    expect(secret).toHaveLength(43);
    for (const out of outputs) expect(out).not.toContain(secret);
    // Every process the commands started (the watchdogs carry the tag; each ends after its vboxwebsrv) is gone.
    await poll(async () => ((await taggedProcesses(tag)).length === 0 ? true : undefined), {
      timeoutMs: 10_000,
      what: 'the web services of the commands to end',
    });
  });
});
