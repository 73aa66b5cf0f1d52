import { spawn } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDir } from '../../src/core/paths.js';
import { probeAccel } from '../../src/drivers/qemu/accel.js';
import { IsoImage, bootEntry } from '../../src/iso/iso9660.js';
import { Machine } from '../../src/machine/machine.js';
import { generateKeyPair } from '../../src/ssh/keys.js';
import { Store } from '../../src/store/store.js';
import { waitSshStep } from '../../src/tasks/bringup.js';
import { machine, MACHINE, tempStore, writeMachineConfig } from '../helpers/cli.js';
import { hangingQemu } from '../helpers/hanging-qemu.js';
import { testIso } from '../helpers/vm.js';

/** Waits that end with what they waited for and the fix; background processes that end with their machine. */

let dir: string;
beforeAll(async () => {
  dir = await tempStore('waits-');
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('waits', () => {
  it('an SSH wait that times out names the address, the last console line and the fix', async () => {
    const store = new Store(path.join(dir, 'ssh'));
    // A QEMU machine whose VM printed a kernel panic and whose SSH port takes connections but never answers.
    const silent = net.createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    try {
      const port = (silent.address() as net.AddressInfo).port;
      const mdir = await writeMachineConfig(store.root, 'm', 'qemu', { SSHPort: port, DockerPort: 1, Shares: [], Accel: 'auto' });
      await fs.writeFile(path.join(mdir, 'id_ed25519'), generateKeyPair().privateKey, { mode: 0o600 });
      await fs.writeFile(
        path.join(mdir, 'serial.log'),
        'machine-boot: kernel 1.2\r\nKernel panic - not syncing: VFS: Unable to mount root fs\r\n',
      );
      // Its "QEMU": a process with the machine's -pidfile argument, so the driver sees the VM running.
      const vm = spawn('sh', ['-c', 'sleep 30', 'qemu', '-pidfile', path.join(mdir, 'qemu.pid')], { stdio: 'ignore' });
      const host = await Machine.load(store, 'm');
      const err = (await waitSshStep(host, () => undefined, undefined, 1500).catch((e: Error) => e)) as Error & { line?: string };
      vm.kill('SIGKILL');
      expect(err.line).toMatch(
        new RegExp(
          `^Timed out after 2s waiting for SSH on machine "m" \\(127\\.0\\.0\\.1:${port}\\).*: its console last said "Kernel panic - not syncing: VFS: Unable to mount root fs"; see "machine logs m"; if it hangs under KVM/HVF, create it with --qemu-accel tcg$`,
        ),
      );
    } finally {
      silent.close();
    }
  }, 30_000);

  it('a QEMU binary that is not QEMU is refused at once', async () => {
    const res = await machine(path.join(dir, 'notqemu'), ['create', '-d', 'qemu', '--qemu-binary', '/bin/true', 'x']);
    expect(res.exitCode).toBe(3);
    expect(String(res.stderr).trim()).toBe(
      'Error creating machine "x" at step "Running pre-create checks": /bin/true is not QEMU ("/bin/true --version" said: true (GNU coreutils) 9.1): point --qemu-binary (QEMU_BINARY) at qemu-system-x86_64',
    );
  });

  it('the forwarder of a machine whose folder is deleted exits by itself', async () => {
    const root = path.join(dir, 'fwd');
    // A generic machine "running" (its SSH port accepts): the forwarder starts, then its folder goes.
    const sshd = net.createServer((s) => s.end());
    await new Promise<void>((r) => sshd.listen(0, '127.0.0.1', r));
    try {
      const mdir = await writeMachineConfig(root, 'g', 'generic', {
        IPAddress: '127.0.0.1',
        SSHPort: (sshd.address() as net.AddressInfo).port,
        EnginePort: 1,
      });
      await fs.writeFile(path.join(mdir, 'id_ed25519'), generateKeyPair().privateKey, { mode: 0o600 });
      const fwd = spawn(process.execPath, [MACHINE, '--storage-path', root, '__port-forwarder', 'g'], { stdio: 'ignore' });
      const exited = new Promise<number | null>((r) => fwd.once('exit', r));
      for (
        let i = 0;
        i < 50 &&
        !(await fs.access(path.join(mdir, 'forwarder.lock')).then(
          () => true,
          () => false,
        ));
        i++
      )
        await new Promise((r) => setTimeout(r, 100));
      await fs.rm(mdir, { recursive: true, force: true });
      const t0 = Date.now();
      const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r('still running'), 8000))]);
      fwd.kill('SIGKILL');
      expect(code).toBe(0);
      expect(Date.now() - t0).toBeLessThan(5000);
    } finally {
      sshd.close();
    }
  }, 30_000);
});

describe('the run directory', () => {
  it('refuses one that is a symlink, open to others, or not ours', async () => {
    const saved = process.env.XDG_RUNTIME_DIR;
    const xdg = path.join(dir, 'xdg');
    await fs.mkdir(xdg, { recursive: true });
    process.env.XDG_RUNTIME_DIR = xdg;
    try {
      expect(await runDir()).toBe(path.join(xdg, 'machine'));
      expect((await fs.stat(path.join(xdg, 'machine'))).mode & 0o777).toBe(0o700);
      await fs.chmod(path.join(xdg, 'machine'), 0o777);
      await expect(runDir()).rejects.toThrow(/is open to other users: machine will not put its sockets there/);
      await fs.rm(path.join(xdg, 'machine'), { recursive: true });
      await fs.mkdir(path.join(dir, 'elsewhere'));
      await fs.symlink(path.join(dir, 'elsewhere'), path.join(xdg, 'machine'));
      await expect(runDir()).rejects.toThrow(/is not a directory/);
      if (process.getuid?.() === 0) {
        await fs.rm(path.join(xdg, 'machine'));
        await fs.mkdir(path.join(xdg, 'machine'), { mode: 0o700 });
        await fs.chown(path.join(xdg, 'machine'), 65534, 65534);
        await expect(runDir()).rejects.toThrow(/is owned by another user \(uid 65534\)/);
      }
    } finally {
      if (saved === undefined) delete process.env.XDG_RUNTIME_DIR;
      else process.env.XDG_RUNTIME_DIR = saved;
    }
  });
});

describe('the accelerator probe', () => {
  it.runIf(existsSync('/dev/kvm'))(
    "boots the machine's kernel: a hypervisor that hangs it is caught within 5 s, one that runs it passes",
    async () => {
      const qemu = await hangingQemu(path.join(dir, 'bin'));
      const kernel = path.join(dir, 'vmlinuz');
      const iso = await IsoImage.open(await testIso());
      await iso.extract((await bootEntry(iso))!.kernel, kernel);
      await iso.close();
      const saved = process.env.HANG_WHEN;
      try {
        process.env.HANG_WHEN = 'any';
        const t0 = Date.now();
        const hung = await probeAccel(qemu, kernel);
        expect(hung).toEqual({
          accel: 'tcg',
          reason:
            "kvm printed nothing within 5 s of booting the machine's kernel (a hung hypervisor, as under nested virtualisation): using software emulation",
          fallback: true,
        });
        expect(Date.now() - t0).toBeLessThan(7000);
        process.env.HANG_WHEN = 'daemonize'; // the probe is not a daemon: this QEMU runs it
        const ran = await probeAccel(qemu, kernel);
        expect(ran).toMatchObject({
          accel: 'kvm',
          fallback: false,
          reason: expect.stringMatching(/^kvm booted the machine's kernel in \d+ ms$/),
        });
      } finally {
        if (saved === undefined) delete process.env.HANG_WHEN;
        else process.env.HANG_WHEN = saved;
      }
    },
    30_000,
  );
});
