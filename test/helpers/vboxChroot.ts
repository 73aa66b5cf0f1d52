import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from '../../src/core/paths.js';
import { type ExecResult, type System, realSystem } from '../../src/core/system.js';
import { webUser } from '../../src/drivers/virtualbox/weblogin.js';

/**
 * The real VirtualBox 7.2 userland for e2e tests: scripts/vbox-chroot.sh builds (once) and mounts the
 * chroot; each test file binds its own work directory into it at the same path, so the store paths
 * the driver passes to VBoxManage mean the same file on both sides.
 */

const run = promisify(execFile);
const SCRIPT = path.join(PROJECT_ROOT, 'scripts', 'vbox-chroot.sh');

export interface VBoxChroot {
  dir: string;
  root: string;
  vboxManage: string;
  websrv: string;
  runIn: string;
  /** A fresh directory, visible inside the chroot at the same path. */
  work: string;
  /** A HostEnv for the driver: the real host, with VBOX_MANAGE pointing into the chroot. */
  host: System;
  /** VBoxManage in the chroot (no retries, no parsing: what a user would type). */
  vbm(...args: string[]): Promise<ExecResult>;
  /** Any command inside the chroot. */
  exec(cmd: string, args: string[], opts?: { env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<ExecResult>;
  cleanup(): Promise<void>;
}

async function sh(args: string[], timeoutMs = 900_000): Promise<ExecResult> {
  try {
    const { stdout, stderr } = await run('bash', [SCRIPT, ...args], { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
    return { stdout, stderr, exitCode: 0 };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; code?: number };
    return { stdout: e.stdout ?? '', stderr: e.stderr ?? String(err), exitCode: typeof e.code === 'number' ? e.code : 1 };
  }
}

async function execIn(
  file: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number; cwd?: string } = {},
): Promise<ExecResult> {
  try {
    const { stdout, stderr } = await run(file, args, {
      timeout: opts.timeoutMs ?? 120_000,
      env: opts.env,
      cwd: opts.cwd,
      maxBuffer: 64 * 1024 * 1024,
    });
    return { stdout, stderr, exitCode: 0 };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; code?: number };
    return { stdout: e.stdout ?? '', stderr: e.stderr ?? String(err), exitCode: typeof e.code === 'number' ? e.code : 1 };
  }
}

/** Set the chroot up, or say why it cannot be (the caller skips with that reason). */
export async function setupVBoxChroot(): Promise<VBoxChroot | { skip: string }> {
  if (process.platform !== 'linux') return { skip: 'the VirtualBox chroot needs Linux' };
  if (process.getuid?.() !== 0) return { skip: 'the VirtualBox chroot needs root (debootstrap, chroot, mount); run the tests as root' };
  const res = await sh(['setup', '--hold', String(process.pid)]);
  if (res.exitCode !== 0) {
    const why = res.stderr.trim().split('\n').slice(-3).join(' | ');
    return { skip: `scripts/vbox-chroot.sh setup failed (exit ${res.exitCode}): ${why}` };
  }
  const kv = Object.fromEntries(
    res.stdout
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
  const work = path.join(os.tmpdir(), `machine-vbox-${process.pid}-${randomBytes(3).toString('hex')}`);
  await fs.mkdir(work, { recursive: true });
  const bound = await sh(['bind', work]);
  if (bound.exitCode !== 0) return { skip: `could not bind ${work} into the chroot: ${bound.stderr.trim()}` };
  const real = realSystem();
  const vboxManage = kv.VBOX_MANAGE!;
  const c: VBoxChroot = {
    dir: kv.VBOX_CHROOT_DIR!,
    root: kv.VBOX_CHROOT_ROOT!,
    vboxManage,
    websrv: kv.VBOX_WEBSRV!,
    runIn: kv.VBOX_CHROOT_RUN!,
    work,
    host: { ...real, env: { ...process.env, VBOX_MANAGE: vboxManage, VBOX_WEBSRV: kv.VBOX_WEBSRV } },
    vbm: (...args) => execIn(vboxManage, args),
    exec: (cmd, args, opts) => execIn(kv.VBOX_CHROOT_RUN!, [cmd, ...args], opts),
    cleanup: async () => {
      // The web service users of the stores made here (VirtualBox.xml is shared with other test runs: only ours).
      for (const d of await fs.readdir(work).catch(() => [])) {
        await execIn(vboxManage, ['setextradata', 'global', `VBoxAuthSimple/users/${webUser(path.join(work, d))}`]);
      }
      await sh(['unbind', work]);
      await fs.rm(work, { recursive: true, force: true });
      await sh(['release', String(process.pid)]);
    },
  };
  return c;
}

/** Pids of the processes whose environment holds MACHINE_TEST_TAG=tag (a test's command and what it started). */
export async function taggedProcesses(tag: string): Promise<number[]> {
  const pids = (await fs.readdir('/proc')).filter((d) => /^\d+$/.test(d));
  const hits = await Promise.all(
    pids.map(async (p) =>
      (await fs.readFile(`/proc/${p}/environ`, 'latin1').catch(() => '')).split('\0').includes(`MACHINE_TEST_TAG=${tag}`) ? Number(p) : 0,
    ),
  );
  return hits.filter((p) => p > 0);
}

/** A small ISO (made with the chroot's xorriso): the create path only needs a DVD image to attach. */
export async function makeIso(c: VBoxChroot, file: string): Promise<void> {
  const src = `${file}.d`;
  await fs.mkdir(src, { recursive: true });
  await fs.writeFile(path.join(src, 'README.TXT'), 'machine e2e test ISO\n');
  const res = await c.exec('xorriso', ['-as', 'mkisofs', '-quiet', '-V', 'MACHINE_TEST', '-o', file, src]);
  await fs.rm(src, { recursive: true, force: true });
  if (res.exitCode !== 0) throw new Error(`xorriso failed: ${res.stderr}`);
}

/** Every VM, hard disk and DVD VirtualBox knows, for "nothing left behind" assertions. */
export async function registry(c: VBoxChroot): Promise<{ vms: string; hdds: string; dvds: string }> {
  const [vms, hdds, dvds] = await Promise.all([c.vbm('list', 'vms'), c.vbm('list', 'hdds'), c.vbm('list', 'dvds')]);
  return { vms: vms.stdout, hdds: hdds.stdout, dvds: dvds.stdout };
}

/** Whether any process of the group still exists. */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

export interface DriverlessVm {
  pid: number;
  /** Wait for the frontend to exit (it does after a power-off), killing it after timeoutMs. */
  stop(timeoutMs?: number): Promise<void>;
}

/**
 * Run a VM for real without the kernel driver: the Qt frontend's --driverless mode under Xvfb, the
 * guest in VirtualBox's instruction interpreter (§5 of the VirtualBox 7.2 report). Far too slow to
 * boot Linux, fast enough for the BIOS: VirtualBox then holds a running VM with a locked session,
 * which is what state, stop, kill and remove must handle. Resolves once VirtualBox says "running"
 * (a frontend that has not got there in 30 s is killed and started again, twice at most); stop()
 * kills only what it started (its own process group).
 */
export async function startDriverless(c: VBoxChroot, vm: string): Promise<DriverlessVm> {
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  // Right after a power-off the previous frontend may still hold the session: retry the setting.
  for (let i = 0; ; i++) {
    const engine = await c.vbm('modifyvm', vm, '--vm-execution-engine', 'interpreter');
    if (engine.exitCode === 0) break;
    if (i >= 50 || !/already locked|being unlocked/.test(engine.stderr))
      throw new Error(`modifyvm --vm-execution-engine interpreter: ${engine.stderr}`);
    await sleep(200);
  }
  const xdg = `/tmp/xdg-${process.pid}`;
  await fs.mkdir(path.join(c.root, xdg), { recursive: true, mode: 0o700 });
  const { spawn } = await import('node:child_process');
  const stop = async (pid: number, timeoutMs = 0) => {
    for (let waited = 0; waited < timeoutMs && groupAlive(pid); waited += 100) await sleep(100);
    if (groupAlive(pid)) process.kill(-pid, 'SIGTERM');
    for (let i = 0; i < 50 && groupAlive(pid); i++) await sleep(100);
    if (groupAlive(pid)) process.kill(-pid, 'SIGKILL');
  };
  for (let attempt = 1; ; attempt++) {
    const log = path.join(c.work, `driverless-${attempt}-${Date.now()}.log`);
    const out = await fs.open(log, 'w');
    const child = spawn(
      c.runIn,
      ['xvfb-run', '-a', '-s', '-screen 0 1024x768x24', '/usr/lib/virtualbox/VirtualBoxVM', '--startvm', vm, '--driverless'],
      { detached: true, stdio: ['ignore', out.fd, out.fd], env: { ...process.env, XDG_RUNTIME_DIR: xdg } },
    );
    await out.close();
    child.unref();
    const pid = child.pid!;
    // `list runningvms`, not showvminfo: showvminfo takes a shared lock on the machine, and polling it
    // fast while the frontend locks the machine to power it on makes the frontend stall.
    for (let waited = 0; waited < 30_000; waited += 500) {
      const running = await c.vbm('list', 'runningvms');
      if (running.stdout.includes(vm)) return { pid, stop: (t) => stop(pid, t) };
      await sleep(500);
    }
    const said = (await fs.readFile(log, 'utf8').catch(() => '')).trim();
    await stop(pid);
    if (attempt === 3) throw new Error(`the driverless VM did not run in 3 attempts${said ? `: ${said}` : ''}`);
    console.warn(`driverless frontend attempt ${attempt} did not get the VM running in 30 s${said ? ` (${said})` : ''}; starting it again`);
  }
}
