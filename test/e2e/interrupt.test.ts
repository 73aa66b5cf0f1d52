import { promises as fs } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MACHINE, machine, tempStore } from '../helpers/cli.js';
import { processesMentioning } from '../helpers/processes.js';
import { testIso } from '../helpers/vm.js';

/** Start a create and press Ctrl-C once its VM is booting. */
async function interruptedCreate(store: string, name: string, extra: string[] = []) {
  const child = execa(MACHINE, ['create', '-d', 'qemu', '--qemu-no-share', '--boot2docker-url', await testIso(), ...extra, name], {
    reject: false,
    all: true,
    env: { CI: '1', QEMU_NETWORK: 'restricted', QEMU_ACCEL: 'tcg', MACHINE_STORAGE_PATH: store },
  });
  let seen = '';
  await new Promise<void>((resolve) =>
    child.all!.on('data', (d: Buffer) => {
      seen += d.toString();
      if (seen.includes('Waiting for SSH')) resolve();
    }),
  );
  const vmWasRunning = (await processesMentioning(store)).length > 0;
  child.kill('SIGINT');
  return { res: await child, vmWasRunning };
}

describe('Ctrl-C during create', () => {
  let store: string;
  beforeAll(async () => {
    store = await tempStore('interrupt-');
  });
  afterAll(async () => {
    for (const pid of await processesMentioning(store)) process.kill(pid, 'SIGKILL');
    await fs.rm(store, { recursive: true, force: true });
  });

  it('removes what was made: no QEMU process, no disk, no store entry', async () => {
    const { res, vmWasRunning } = await interruptedCreate(store, 'intr');
    expect(vmWasRunning).toBe(true);
    expect(res.exitCode, res.all).toBe(130);
    expect(res.stderr.trim().split('\n').pop()).toBe('Interrupted');
    expect(await fs.readdir(path.join(store, 'machines'))).toEqual([]);
    expect(await processesMentioning(store)).toEqual([]);
  }, 120_000);

  it('with --keep-on-failure keeps it, marked as not completely created, and rm -f removes it', async () => {
    const { res } = await interruptedCreate(store, 'kept', ['--keep-on-failure']);
    expect(res.exitCode).toBe(130);
    expect(await fs.readdir(path.join(store, 'machines'))).toContain('kept');
    const ls = await machine(store, ['ls', '--format', '{{.Name}}: {{.Error}}']);
    expect(String(ls.stdout)).toMatch(
      /^kept: Machine "kept" was not completely created: remove it with "machine rm -f kept" and create it again$/m,
    );
    const rm = await machine(store, ['rm', '-f', 'kept']);
    expect(rm.exitCode, String(rm.all)).toBe(0);
    expect(await fs.readdir(path.join(store, 'machines'))).toEqual([]);
    expect(await processesMentioning(store)).toEqual([]);
  }, 120_000);
});
