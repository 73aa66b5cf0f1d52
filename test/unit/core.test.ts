import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { processAlive, processStartToken, terminate } from '../../src/core/process.js';
import { exec, pathDirs, realSystem, which } from '../../src/core/system.js';
import { poll, timedOut, WaitTimeout } from '../../src/core/wait.js';

/** core/wait.ts's poll, the one wait loop; core/process.ts's terminate, the one way to end a process; core/system.ts's exec and PATH search. */

describe('poll', () => {
  it('returns the first value other than undefined, trying again after errors', async () => {
    let calls = 0;
    const value = await poll(
      async () => {
        calls++;
        if (calls === 1) throw new Error('not yet');
        return calls === 3 ? 'ready' : undefined;
      },
      { timeoutMs: 5000, intervalMs: 10, what: 'the answer' },
    );
    expect(value).toBe('ready');
    expect(calls).toBe(3);
  });

  it('times out with an error naming what it waited for, the last error and the fix', async () => {
    const err = await poll(
      async () => {
        throw new Error('connection refused');
      },
      { timeoutMs: 500, intervalMs: 50, what: 'SSH on 127.0.0.1:2222', fix: 'check that the VM boots' },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WaitTimeout);
    expect((err as WaitTimeout).line).toBe(
      'Timed out after 1s waiting for SSH on 127.0.0.1:2222 (last error: connection refused): check that the VM boots',
    );
    // A wait whose timeout is an answer gets it instead of the error; other errors pass.
    expect(await poll(async () => undefined, { timeoutMs: 50, intervalMs: 10, what: 'x' }).catch(timedOut(false))).toBe(false);
    await expect(Promise.reject(new Error('other')).catch(timedOut(false))).rejects.toThrow('other');
  });

  it('throws a fatal error at once', async () => {
    const t0 = Date.now();
    const fatal = new Error('refused for good');
    const err = await poll(
      async () => {
        throw fatal;
      },
      { timeoutMs: 5000, what: 'x', fatal: (e) => e === fatal },
    ).catch((e: unknown) => e);
    expect(err).toBe(fatal);
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  it('ends when its signal aborts, with the abort reason, without waiting for the timeout', async () => {
    const abort = new AbortController();
    setTimeout(() => abort.abort(new Error('interrupted')), 100);
    const t0 = Date.now();
    const err = await poll(async () => undefined, { timeoutMs: 10_000, intervalMs: 5000, signal: abort.signal, what: 'x' }).catch(
      (e: unknown) => e,
    );
    expect((err as Error).message).toBe('interrupted');
    expect(Date.now() - t0).toBeLessThan(2000);
  });
});

describe('terminate', () => {
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const c of children.splice(0)) c.kill('SIGKILL');
  });

  /** A node process that says "ready" once its SIGTERM handler (if any) is installed. */
  async function child(ignoreTerm: boolean): Promise<ChildProcess & { pid: number }> {
    const code = `${ignoreTerm ? "process.on('SIGTERM', () => {});" : ''} setInterval(() => {}, 1000); console.log('ready');`;
    const c = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'ignore'] });
    children.push(c);
    await once(c.stdout!, 'data');
    return c as ChildProcess & { pid: number };
  }

  it('ends a process with SIGTERM within the grace', async () => {
    const c = await child(false);
    const exited = once(c, 'exit');
    expect(await terminate(c.pid, 5000)).toBe(true);
    expect((await exited)[1]).toBe('SIGTERM');
  });

  it('SIGKILLs a process that ignores SIGTERM once the grace is over', async () => {
    const c = await child(true);
    const exited = once(c, 'exit');
    const t0 = Date.now();
    expect(await terminate(c.pid, 400)).toBe(true);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(400);
    expect((await exited)[1]).toBe('SIGKILL');
    expect(processAlive(c.pid)).toBe(false);
  });

  it.runIf(process.platform !== 'win32')(
    'does not signal a pid whose start token changed (a recycled pid is another process)',
    async () => {
      const c = await child(false);
      expect(await processStartToken(c.pid)).toBeTruthy();
      expect(await terminate(c.pid, 100, 'the start token of a process that ended')).toBe(true);
      expect(processAlive(c.pid)).toBe(true);
      expect(c.exitCode).toBeNull();
      expect(c.signalCode).toBeNull();
      // With its real token it is ended.
      expect(await terminate(c.pid, 5000, await processStartToken(c.pid))).toBe(true);
      expect(processAlive(c.pid)).toBe(false);
    },
  );
});

describe('exec (core/system.ts)', () => {
  it('gives output and exit code, never throws: a missing program is spawnError, a slow one timedOut', async () => {
    expect(await exec('sh', ['-c', 'cat; echo "$LC_ALL" >&2; exit 3'], { input: 'in' })).toEqual({
      stdout: 'in',
      stderr: 'C\n',
      exitCode: 3,
      timedOut: false,
    });
    expect(await exec('/nonexistent/program', [])).toMatchObject({ exitCode: 127, spawnError: 'ENOENT' });
    const t0 = Date.now();
    expect(await exec('sleep', ['10'], { timeoutMs: 200 })).toMatchObject({ timedOut: true });
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it('finds a program on PATH the way the platform does', async () => {
    const host = { ...realSystem(), env: { PATH: ['/nonexistent', path.dirname(process.execPath)].join(':') } };
    expect(await which(host, ['no-such-program', path.basename(process.execPath)])).toBe(process.execPath);
    expect(pathDirs({ Path: 'C:\\a;"C:\\Program Files\\b";;' }, 'win32')).toEqual(['C:\\a', 'C:\\Program Files\\b']);
  });
});
