import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { machine } from '../test/helpers/cli.js';
import { benchCerts } from './certs.js';
import { benchCli } from './cli.js';
import { benchCreate } from './core.js';
import { benchForward } from './forward.js';
import { benchIso } from './iso.js';
import { printTable, type Results } from './lib.js';
import { benchSlowHost } from './slowhost.js';
import { benchTrust } from './trust.js';
import { benchVirtualbox } from './virtualbox.js';

/** `create` also measures port forwarding and shares on the machine it created, then removes it. */
async function createAndForward(results: Results): Promise<void> {
  const shared = await fs.mkdtemp(path.join(os.tmpdir(), 'bench-share-'));
  await fs.chmod(shared, 0o777); // the guest's docker user writes there, whoever runs the bench
  const bench = await benchCreate(shared);
  results.create = bench.results;
  try {
    console.error('bench: forward');
    results.forward = await benchForward(bench.store, bench.name, shared);
  } finally {
    await machine(bench.store, ['rm', '-f', bench.name]);
    await fs.rm(bench.store, { recursive: true, force: true });
    await fs.rm(shared, { recursive: true, force: true });
  }
}

const SECTIONS: Record<string, (results: Results) => Promise<void>> = {
  certs: async (r) => void (r.certs = await benchCerts()),
  cli: async (r) => void (r.cli = await benchCli()),
  create: createAndForward,
  iso: async (r) => void (r.iso = await benchIso()),
  slowhost: async (r) => void (r.slowhost = await benchSlowHost()),
  trust: async (r) => void (r.trust = await benchTrust()),
  virtualbox: async (r) => void (r.virtualbox = await benchVirtualbox()),
};

/** An hour or more: run only when named. */
const ON_REQUEST = new Set(['slowhost']);

/**
 * npm run bench [-- section...]: certs, cli (ls/status/version of stopped machines, as ratios to node), create (with env/ls and port forwarding/shares on the
 * created machine), iso, trust (locks, state lookups, the accelerator probe, Ctrl-C), virtualbox; slowhost (the ISO booting in VirtualBox's interpreter) only when named. Prints a table, then the JSON (also saved to bench-results.json).
 */
async function main(): Promise<void> {
  const wanted = process.argv.slice(2).length ? process.argv.slice(2) : Object.keys(SECTIONS).filter((s) => !ON_REQUEST.has(s));
  const unknown = wanted.filter((s) => !SECTIONS[s]);
  if (unknown.length) throw new Error(`unknown section ${unknown.join(', ')}: use ${Object.keys(SECTIONS).join(', ')}`);
  const results: Results = { host: { cpus: os.cpus().length, node: process.version, date: new Date().toISOString() } };
  for (const section of wanted) {
    console.error(`bench: ${section}`);
    await SECTIONS[section]!(results);
  }
  // create's overhead: its total against the same ISO booted bare (preseeded disk) to dockerd over TLS.
  const bare = results.iso?.kernelboot_qemu_to_dockerd_tls_ms;
  if (results.create && typeof bare === 'number') {
    results.create.bare_boot_to_dockerd_tls_ms = bare;
    results.create.overhead_vs_bare_boot_ms = Number(results.create.create_total_ms) - bare;
  }
  printTable(results);
  const json = JSON.stringify(results, null, 2);
  await fs.writeFile('bench-results.json', `${json}\n`);
  console.log(json);
}

let finished = false;
// Node exits quietly, with status 0, when it waits on a promise nothing can settle: say so, and fail.
process.on('exit', (code) => {
  if (finished || code !== 0) return;
  console.error('bench: stopped before finishing (it waited on a promise that nothing could settle)');
  process.exitCode = 1;
});
main().then(
  () => (finished = true),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
