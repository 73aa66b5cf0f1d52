import { promises as fs } from 'node:fs';
import { MACHINE, tempStore, writeMachineConfig } from '../test/helpers/cli.js';
import { timeCommand } from './lib.js';

/**
 * The commands behind every shell start and Tab, without a VM: `ls` of 20 stopped QEMU machines
 * (their configs and sparse disks), `ls -q`, `status` and `version`, each next to `node -e 0` and
 * as a ratio to it (the goals: ls ≤ 1.5×). `env` needs a running machine: the create section.
 */
export async function benchCli(): Promise<Record<string, number>> {
  const store = await tempStore('bench-cli-');
  try {
    for (let i = 0; i < 20; i++) {
      const dir = await writeMachineConfig(store, `stopped${i}`, 'qemu', { Accel: 'tcg' });
      await fs.writeFile(`${dir}/disk.raw`, '');
    }
    const env = { MACHINE_STORAGE_PATH: store, CI: '1' };
    const node = await timeCommand(process.execPath, ['-e', '0'], 10);
    const results: Record<string, number> = { node_e_0_ms: node };
    for (const [key, args] of [
      ['version', ['version']],
      ['status_stopped', ['status', 'stopped0']],
      ['ls_20_stopped', ['ls']],
      ['ls_q_20_stopped', ['ls', '-q']],
    ] as const) {
      results[`${key}_ms`] = await timeCommand(MACHINE, [...args], 10, env);
      results[`${key}_vs_node`] = Number((results[`${key}_ms`]! / node).toFixed(2));
    }
    return results;
  } finally {
    await fs.rm(store, { recursive: true, force: true });
  }
}
