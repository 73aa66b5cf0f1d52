import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { processAlive } from '../../src/core/process.js';
import { spawnTethered } from '../../src/core/tether.js';
import { poll } from '../../src/core/wait.js';

/**
 * spawnTethered in this process. That the child ends when its parent is killed (SIGKILL, SIGTERM) is
 * proven with the real vboxwebsrv in test/e2e/virtualbox-websrv.test.ts.
 */

let dir: string;
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'machine-tether-'));
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('spawnTethered', () => {
  it('starts the child, and stop() ends it (SIGTERM, then SIGKILL after the grace time)', async () => {
    const out = await fs.open(path.join(dir, 'out.log'), 'w');
    // A child that ignores SIGTERM: only the SIGKILL after graceMs ends it.
    const t = await spawnTethered('sh', ['-c', 'trap "" TERM; echo started; while :; do sleep 0.1; done'], {
      output: out.fd,
      graceMs: 300,
    });
    await out.close();
    expect(processAlive(t.pid)).toBe(true);
    await poll(async () => ((await fs.readFile(path.join(dir, 'out.log'), 'utf8')).includes('started') ? true : undefined), {
      timeoutMs: 5000,
      what: 'the child to write to its output',
    });
    const t0 = Date.now();
    await t.stop();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    expect(processAlive(t.pid)).toBe(false);
  });

  it('resolves exited when the child ends by itself, and says when the program cannot run', async () => {
    const t = await spawnTethered('true', [], { output: 2 });
    await t.exited;
    expect(processAlive(t.pid)).toBe(false);
    await expect(spawnTethered(path.join(dir, 'no-such-program'), [], { output: 2 })).rejects.toThrow(
      `could not run ${path.join(dir, 'no-such-program')}: spawn ${path.join(dir, 'no-such-program')} ENOENT`,
    );
  });
});
