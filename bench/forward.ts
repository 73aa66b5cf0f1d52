import http from 'node:http';
import { freePort } from '../src/core/ports.js';
import { poll } from '../src/core/wait.js';
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

/**
 * Published ports: time from `docker run -d -p` returning to the port answering on 127.0.0.1, and
 * throughput through the automatic forward against the machine's own Docker port forward (set up
 * at boot, the same QEMU path) to a container answering there. Shares: write/read through 9p
 * against the VM's own disk.
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
    if (i === 2) {
      const through = await download(port, 'big');
      results.forward_throughput_mb_s = through.bytes / 1048576 / (through.ms / 1000);
    }
    await docker.ok(['rm', '-f', id]);
  }
  results.forward_latency_after_run_ms = median(latencies);
  if (shared) {
    const ssh = async (cmd: string) => String((await machine(store, ['ssh', name, '--', cmd])).all);
    // MB/s of a 128 MiB dd, timed in the guest (/proc/uptime: busybox dd prints no rate).
    const rate = async (dd: string, sudo = false) => {
      const drop = "sudo sh -c 'echo 3 > /proc/sys/vm/drop_caches'";
      const out = await ssh(
        `${drop}; a=$(cut -d' ' -f1 /proc/uptime); ${sudo ? 'sudo ' : ''}${dd} 2>&1 || echo FAILED; cut -d' ' -f1 /proc/uptime; echo $a`,
      );
      const [end, begin] = out.trim().split('\n').slice(-2).map(Number);
      if (/FAILED|can't|denied/.test(out) || !(end! > begin!)) throw new Error(`dd failed: ${out}`);
      return 128 / (end! - begin!);
    };
    results.share_write_mb_s = await rate(`dd if=/dev/zero of='${shared}/bench.bin' bs=1M count=128 conv=fsync`);
    results.share_read_mb_s = await rate(`dd if='${shared}/bench.bin' of=/dev/null bs=1M`);
    results.disk_write_mb_s = await rate('dd if=/dev/zero of=/var/lib/docker/bench.bin bs=1M count=128 conv=fsync', true);
    results.disk_read_mb_s = await rate('dd if=/var/lib/docker/bench.bin of=/dev/null bs=1M', true);
    await ssh(`rm -f '${shared}/bench.bin'; sudo rm -f /var/lib/docker/bench.bin`);
  }
  await docker.run(['rm', '-f', 'benchdata']);
  return results;
}
