import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { machine } from '../test/helpers/cli.js';
import { benchCerts, benchCreate } from './core.js';
import { benchForward } from './forward.js';
import { benchIso } from './iso.js';
import { printTable, type Results } from './lib.js';
import { benchVirtualbox } from './virtualbox.js';

/**
 * npm run bench [-- section...]: certs, create (with env/ls and port forwarding/shares on the
 * created machine), iso, virtualbox. Prints a table, then the JSON (also saved to bench-results.json).
 */
async function main(): Promise<void> {
  const all = ['certs', 'create', 'iso', 'virtualbox'];
  const wanted = process.argv.slice(2).length ? process.argv.slice(2) : all;
  const results: Results = { host: { cpus: os.cpus().length, node: process.version, date: new Date().toISOString() } };
  if (wanted.includes('certs')) results.certs = await benchCerts();
  if (wanted.includes('create')) {
    const shared = await fs.mkdtemp(path.join(os.tmpdir(), 'bench-share-'));
    const bench = await benchCreate(shared);
    results.create = bench.results;
    try {
      results.forward = await benchForward(bench.store, bench.name, shared);
    } finally {
      await machine(bench.store, ['rm', '-f', bench.name]);
      await fs.rm(bench.store, { recursive: true, force: true });
      await fs.rm(shared, { recursive: true, force: true });
    }
  }
  if (wanted.includes('iso')) results.iso = await benchIso();
  if (wanted.includes('virtualbox')) results.virtualbox = await benchVirtualbox();
  printTable(results);
  const json = JSON.stringify(results, null, 2);
  await fs.writeFile('bench-results.json', `${json}\n`);
  console.log(json);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
