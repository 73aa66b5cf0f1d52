import http from 'node:http';
import { freePort } from '../src/core/ports.js';
import { poll } from '../src/core/wait.js';
import { Machine } from '../src/machine/machine.js';
import { SshTunnels } from '../src/forward/tunnel.js';
import { SshSession } from '../src/ssh/client.js';
import { Store } from '../src/store/store.js';
import { machine } from '../test/helpers/cli.js';
import { DockerCli } from '../test/helpers/docker.js';
import { median } from './lib.js';

/** Bytes per second of downloading one URL (the body is discarded). */
function download(port: number, file: string): Promise<{ bytes: number; ms: number }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: `/${file}`, agent: false }, (res) => {
        let bytes = 0;
        res.on('data', (d: Buffer) => (bytes += d.length));
        res.on('end', () => resolve({ bytes, ms: performance.now() - t0 }));
      })
      .on('error', reject);
  });
}

const reachable = (port: number) =>
  new Promise<true | undefined>((resolve) =>
    http
      .get({ host: '127.0.0.1', port, path: '/', agent: false, timeout: 1000 }, (res) => (res.resume(), resolve(true)))
      .on('error', () => resolve(undefined)),
  );

const mbPerS = (r: { bytes: number; ms: number }) => r.bytes / 1048576 / (r.ms / 1000);

/** Seconds `cmd` takes in the guest (by /proc/uptime), after running `before` untimed. */
async function guestSeconds(store: string, name: string, cmd: string, before = 'true'): Promise<number> {
  const out = String(
    (
      await machine(store, [
        'ssh',
        name,
        '--',
        `${before}; a=$(cut -d' ' -f1 /proc/uptime); ${cmd} || echo FAILED; cut -d' ' -f1 /proc/uptime; echo $a`,
      ])
    ).all,
  );
  const [end, begin] = out.trim().split('\n').slice(-2).map(Number);
  if (/FAILED|can't|denied/.test(out) || !(end! > begin!)) throw new Error(`${cmd} failed: ${out}`);
  return end! - begin!;
}

/**
 * 64 MiB from a container's published port: through the automatic forward; through an SSH tunnel
 * (what the generic driver uses) to the same port; and inside the VM (no host path at all: the floor).
 */
async function throughputs(store: string, name: string, port: number): Promise<Record<string, number>> {
  const forward = mbPerS(await download(port, 'big'));
  const host = await Machine.load(new Store(store), name);
  const ssh = await SshSession.connect(await host.sshTarget());
  const tunnelPort = await freePort();
  const tunnels = new SshTunnels(ssh);
  let tunnel: number;
  try {
    await tunnels.addForward({ proto: 'tcp', hostPort: tunnelPort, guestPort: port });
    tunnel = mbPerS(await download(tunnelPort, 'big'));
  } finally {
    await tunnels.removeForward({ proto: 'tcp', hostPort: tunnelPort, guestPort: port });
    ssh.close();
  }
  const inGuest = 64 / (await guestSeconds(store, name, `wget -q -O /dev/null http://127.0.0.1:${port}/big`));
  return { forward_throughput_mb_s: forward, ssh_tunnel_throughput_mb_s: tunnel, in_vm_throughput_mb_s: inGuest };
}

/**
 * Published ports: time from `docker run -d -p` returning to the port answering on 127.0.0.1, and
 * the throughputs above. Shares: write/read through 9p against the VM's own disk.
 */
export async function benchForward(store: string, name: string, shared?: string): Promise<Record<string, number>> {
  const env = (await machine(store, ['env', name], { env: { SHELL: '/bin/bash' } })).stdout;
  const vars = Object.fromEntries([...String(env).matchAll(/^export (\w+)="(.*)"$/gm)].map((m) => [m[1]!, m[2]!]));
  const docker = DockerCli.forEnv(vars);
  await docker.importBusybox('bench/busybox:1');
  // A 64 MiB file to serve.
  await docker.ok([
    'run',
    '--name',
    'benchdata',
    '-v',
    'benchwww:/www',
    'bench/busybox:1',
    'sh',
    '-c',
    'dd if=/dev/zero of=/www/big bs=1M count=64 2>/dev/null; echo ok > /www/index.html',
  ]);
  const latencies: number[] = [];
  const results: Record<string, number> = {};
  for (let i = 0; i < 3; i++) {
    const port = await freePort();
    const t0 = performance.now();
    const id = (
      await docker.ok(['run', '-d', '-p', `${port}:80`, '-v', 'benchwww:/www', 'bench/busybox:1', 'httpd', '-f', '-p', '80', '-h', '/www'])
    ).trim();
    const returned = performance.now();
    await poll(() => reachable(port), { timeoutMs: 60_000, intervalMs: 10, maxIntervalMs: 10, what: 'the forward' });
    latencies.push(performance.now() - returned);
    if (i === 0) results.docker_run_returns_ms = returned - t0;
    if (i === 2) Object.assign(results, await throughputs(store, name, port));
    await docker.ok(['rm', '-f', id]);
  }
  results.forward_latency_after_run_ms = median(latencies);
  if (shared) {
    const ssh = async (cmd: string) => String((await machine(store, ['ssh', name, '--', cmd])).all);
    // MB/s of a 128 MiB dd, timed in the guest (busybox dd prints no rate), from a cold cache.
    const drop = "sudo sh -c 'echo 3 > /proc/sys/vm/drop_caches'";
    const rate = async (dd: string, sudo = false) => 128 / (await guestSeconds(store, name, `${sudo ? 'sudo ' : ''}${dd}`, drop));
    results.share_write_mb_s = await rate(`dd if=/dev/zero of='${shared}/bench.bin' bs=1M count=128 conv=fsync`);
    results.share_read_mb_s = await rate(`dd if='${shared}/bench.bin' of=/dev/null bs=1M`);
    results.disk_write_mb_s = await rate('dd if=/dev/zero of=/var/lib/docker/bench.bin bs=1M count=128 conv=fsync', true);
    results.disk_read_mb_s = await rate('dd if=/var/lib/docker/bench.bin of=/dev/null bs=1M', true);
    await ssh(`rm -f '${shared}/bench.bin'; sudo rm -f /var/lib/docker/bench.bin`);
  }
  await docker.run(['rm', '-f', 'benchdata']);
  return results;
}
