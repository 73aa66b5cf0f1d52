import { promises as fs } from 'node:fs';
import path from 'node:path';
import { MACHINE, machine, tempStore } from '../test/helpers/cli.js';
import { testIso } from '../test/helpers/vm.js';
import { timeCommand } from './lib.js';

export interface CreateBench {
  results: Record<string, number>;
  store: string;
  name: string;
}

/**
 * `machine create` on a fresh store, broken down by step, then the everyday commands against it
 * (`env`, `ls` with 1 and with 20 machines) next to `node -e 0`. Leaves the machine running for the
 * next sections; the caller removes it.
 */
export async function benchCreate(shared: string): Promise<CreateBench> {
  const store = await tempStore('bench-store-');
  const name = 'bench';
  const env = { MACHINE_STORAGE_PATH: store, QEMU_NETWORK: 'restricted', QEMU_ACCEL: 'tcg', CI: '1', SHELL: '/bin/bash' };
  const res = await machine(store, [
    'create',
    '-d',
    'qemu',
    '--qemu-no-share',
    '--share',
    shared,
    '--boot2docker-url',
    await testIso(),
    '--format',
    'json',
    name,
  ]);
  if (res.exitCode !== 0) throw new Error(`create failed: ${String(res.all)}`);
  const created = JSON.parse(String(res.stdout)) as { totalMs: number; timings: { step: string; ms: number }[] };
  const results: Record<string, number> = { create_total_ms: created.totalMs };
  for (const t of created.timings)
    results[
      `create_step_${t.step
        .toLowerCase()
        .replace(/[^a-z]+/g, '_')
        .replace(/_$/, '')}_ms`
    ] = t.ms;

  results.node_e_0_ms = await timeCommand(process.execPath, ['-e', '0'], 10);
  results.version_ms = await timeCommand(MACHINE, ['version'], 10, env);
  results.env_ms = await timeCommand(MACHINE, ['env', name], 10, env);
  results.env_vs_node = Number((results.env_ms / results.node_e_0_ms).toFixed(2));
  results.ls_1_machine_ms = await timeCommand(MACHINE, ['ls'], 10, env);
  // 19 more machines, stopped (their configs and sparse disks, no VM): what ls must look at.
  const config = JSON.parse(await fs.readFile(path.join(store, 'machines', name, 'config.json'), 'utf8'));
  for (let i = 1; i < 20; i++) {
    const other = `stopped${i}`;
    const dir = path.join(store, 'machines', other);
    await fs.mkdir(dir, { recursive: true });
    await fs.writeFile(
      path.join(dir, 'config.json'),
      JSON.stringify({ ...config, Name: other, Driver: { ...config.Driver, MachineName: other } }, null, 4),
    );
    await fs.writeFile(path.join(dir, 'disk.raw'), '');
  }
  results.ls_20_machines_ms = await timeCommand(MACHINE, ['ls'], 10, env);
  results.ls_q_20_machines_ms = await timeCommand(MACHINE, ['ls', '-q'], 10, env);
  for (let i = 1; i < 20; i++) await fs.rm(path.join(store, 'machines', `stopped${i}`), { recursive: true });
  return { results, store, name };
}
