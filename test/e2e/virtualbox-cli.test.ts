import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { exists } from '../../src/core/files.js';
import { poll } from '../../src/core/wait.js';
import { machine } from '../helpers/cli.js';
import { makeIso, registry, taggedProcesses } from '../helpers/vboxChroot.js';
import { vboxChrootSuite } from '../helpers/vboxSuite.js';

/**
 * The real CLI (bin/machine → dist/) creating a VirtualBox machine against the real VirtualBox 7.2
 * userland: everything up to the start works, the start fails as it does on any host without the
 * kernel driver, and the user gets one line that says so, a non-zero exit, and nothing left behind.
 */

const vb = vboxChrootSuite('VirtualBox CLI e2e');

describe.each(['vboxmanage', 'soap'])('machine create -d virtualbox --virtualbox-api %s (real CLI, real VirtualBox 7.2)', (api) => {
  it('fails at the start step in one clear line, exits non-zero, and leaves no VM, no media and no store entry', async (ctx) => {
    if (!vb.c) return ctx.skip(vb.skipReason);
    const c = vb.c;
    const store = path.join(c.work, `store-${api}`);
    const iso = path.join(c.work, `test-${api}.iso`);
    await makeIso(c, iso);
    const name = `cli-${api}-${randomBytes(3).toString('hex')}`;
    const tag = randomBytes(6).toString('hex');
    const res = await machine(
      store,
      [
        'create',
        '-d',
        'virtualbox',
        '--virtualbox-api',
        api,
        '--virtualbox-no-hostonly',
        '--virtualbox-no-vtx-check',
        '--virtualbox-disk-size',
        '4096',
        '--boot2docker-url',
        iso,
        name,
      ],
      { env: { VBOX_MANAGE: c.vboxManage, VBOX_WEBSRV: c.websrv, MACHINE_TEST_TAG: tag } },
    );
    const stderr = String(res.stderr);
    console.log(`[${api}] exit ${res.exitCode}: ${stderr.trim()}`);
    expect(res.exitCode).not.toBe(0);
    const errorLines = stderr.split('\n').filter((l) => l.trim());
    expect(errorLines).toHaveLength(1);
    expect(errorLines[0]).toContain(`Error creating machine "${name}" at step "Starting the VM": `);
    expect(errorLines[0]).toContain('Kernel driver not installed (VERR_VM_DRIVER_NOT_INSTALLED, rc=-1908)');
    expect(errorLines[0]).toContain('modprobe vboxdrv');
    // Every step before the start ran.
    expect(String(res.stdout)).toContain('Creating the VM');
    // Nothing left: no VM, no disk or ISO in VirtualBox's media registry, no store entry, no web service.
    const reg = await registry(c);
    expect(reg.vms).not.toContain(`"${name}"`);
    expect(reg.hdds).not.toContain(store);
    expect(reg.dvds).not.toContain(store);
    expect(await exists(path.join(store, 'machines', name))).toBe(false);
    const ls = await machine(store, ['ls', '-q']);
    expect(String(ls.stdout).trim()).toBe('');
    // Our vboxwebsrv got SIGTERM when the CLI exited; it takes a second or two to go, and its
    // watchdog (which carries the CLI's environment) with it.
    await poll(async () => ((await taggedProcesses(tag)).length === 0 ? true : undefined), {
      timeoutMs: 10_000,
      what: "the CLI's vboxwebsrv to stop",
    });
  });
});

describe('machine create -d virtualbox with the defaults (host-only network) where /dev/vboxnetctl is missing', () => {
  it('fails at the start step in one line naming vboxnetadp (no host-only adapter can be made here), and leaves nothing', async (ctx) => {
    if (!vb.c) return ctx.skip(vb.skipReason);
    const c = vb.c;
    const store = path.join(c.work, 'store-default');
    const iso = path.join(c.work, 'test-default.iso');
    await makeIso(c, iso);
    const name = `cli-default-${randomBytes(3).toString('hex')}`;
    const res = await machine(store, ['create', '-d', 'virtualbox', '--virtualbox-no-vtx-check', '--boot2docker-url', iso, name], {
      env: { VBOX_MANAGE: c.vboxManage },
    });
    const stderr = String(res.stderr).trim();
    console.log(`[default] exit ${res.exitCode}: ${stderr}`);
    expect(res.exitCode).not.toBe(0);
    expect(stderr.split('\n')).toHaveLength(1);
    expect(stderr).toContain(`Error creating machine "${name}" at step "Starting the VM": Could not create a host-only adapter: `);
    expect(stderr).toContain('failed to open /dev/vboxnetctl');
    expect(stderr).toContain('modprobe vboxnetadp');
    expect(stderr).toContain('--virtualbox-no-hostonly');
    const reg = await registry(c);
    expect(reg.vms).not.toContain(`"${name}"`);
    expect(reg.hdds).not.toContain(store);
    expect(await exists(path.join(store, 'machines', name))).toBe(false);
  });
});
