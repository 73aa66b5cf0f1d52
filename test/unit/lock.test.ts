import { type ChildProcess, spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MachineError } from '../../src/core/errors.js';
import { acquire, readOwner, withFileLock } from '../../src/core/lock.js';
import { ROOT } from '../helpers/cli.js';

/**
 * The store's locks across real processes (the compiled code in dist/, as the CLI runs it): a
 * holder that dies without cleaning up (SIGKILL) leaves a lock the next taker takes over at once;
 * a live holder is waited for, then named.
 */

let dir: string;
let children: ChildProcess[] = [];
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'lock-test-'));
});
afterEach(async () => {
  for (const c of children) c.kill('SIGKILL');
  children = [];
  await fs.rm(dir, { recursive: true, force: true });
});

const busy = (o: { pid: number; command: string }) => new MachineError(`busy: "${o.command}" (pid ${o.pid})`);

/** Another process that takes the lock and keeps it until it is killed. */
async function holder(file: string): Promise<ChildProcess> {
  const lib = path.join(ROOT, 'dist/src/core/lock.js');
  const script = `const { acquire } = await import(${JSON.stringify(lib)});
    await acquire(${JSON.stringify(file)}, { busy: () => new Error('busy') });
    process.stdout.write('held\\n');
    setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script, '_', 'start', 'default'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => d.toString().includes('held') && resolve());
    child.once('exit', (code) => reject(new Error(`the holder exited with ${code}`)));
  });
  return child;
}

describe('locks', () => {
  it('a live holder is waited for, then named; once it is SIGKILLed its lock is taken over at once', async () => {
    const file = path.join(dir, '.m.lock');
    const child = await holder(file);
    expect(await readOwner(file)).toMatchObject({ pid: child.pid, command: 'machine start default' });
    const t0 = Date.now();
    const err = await acquire(file, { waitMs: 400, busy }).catch((e: Error) => e);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(400);
    expect((err as Error).message).toBe(`busy: "machine start default" (pid ${child.pid})`);

    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const t1 = Date.now();
    const release = await acquire(file, { waitMs: 0, busy });
    expect(Date.now() - t1).toBeLessThan(500);
    expect((await readOwner(file))?.pid).toBe(process.pid);
    await release();
    expect(await readOwner(file)).toBeUndefined();
  }, 30_000);

  it('a recycled pid is no owner: the same pid with another start time is a dead holder', async () => {
    const file = path.join(dir, '.r.lock');
    // pid 1 is alive, but it did not start at this time.
    await fs.writeFile(file, JSON.stringify({ pid: 1, start: 'not-its-start-time', command: 'machine create x', at: 'then' }));
    const release = await acquire(file, { waitMs: 0, busy });
    expect((await readOwner(file))?.pid).toBe(process.pid);
    await release();
    // Garbage in a lock file names nobody either.
    await fs.writeFile(file, '{"half":');
    await (
      await acquire(file, { waitMs: 0, busy })
    )();
  });

  it("ten processes racing for a dead holder's lock: exactly one gets it at a time", async () => {
    const file = path.join(dir, '.race.lock');
    await fs.writeFile(file, JSON.stringify({ pid: 999_999_999, command: 'machine gone', at: 'x' }));
    const lib = path.join(ROOT, 'dist/src/core/lock.js');
    const log = path.join(dir, 'log');
    // Each takes the lock, appends "in", waits, appends "out", releases: the log must alternate.
    const script = `const { acquire } = await import(${JSON.stringify(lib)});
      const fs = await import('node:fs/promises');
      const release = await acquire(${JSON.stringify(file)}, { waitMs: 30000, busy: () => new Error('busy') });
      await fs.appendFile(${JSON.stringify(log)}, 'in\\n');
      await new Promise((r) => setTimeout(r, 30));
      await fs.appendFile(${JSON.stringify(log)}, 'out\\n');
      await release();`;
    const runs = Array.from({ length: 10 }, () => {
      const c = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: 'inherit' });
      children.push(c);
      return new Promise<number | null>((r) => c.once('exit', r));
    });
    expect(await Promise.all(runs)).toEqual(Array(10).fill(0));
    const lines = (await fs.readFile(log, 'utf8')).trim().split('\n');
    expect(lines).toEqual(Array.from({ length: 20 }, (_, i) => (i % 2 ? 'out' : 'in')));
  }, 60_000);

  it('nested use in one call chain is re-entrant; sibling calls in one process queue', async () => {
    const file = path.join(dir, '.n.lock');
    const order: string[] = [];
    const opts = { busy };
    const a = withFileLock(file, opts, async () => {
      order.push('a-in');
      await withFileLock(file, opts, async () => order.push('a-nested'));
      await new Promise((r) => setTimeout(r, 50));
      order.push('a-out');
    });
    const b = withFileLock(file, opts, async () => order.push('b'));
    await Promise.all([a, b]);
    expect(order).toEqual(['a-in', 'a-nested', 'a-out', 'b']);
  });
});
