import { promises as fs } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderProfile } from '../../src/provision/profile.js';
import { defaultEngineOptions } from '../../src/store/config.js';
import { inBatches, machine, tempStore } from '../helpers/cli.js';

/**
 * Shell payloads in every setting that reaches the VM's profile (a file a root shell sources at
 * every dockerd start) or a command: refused by the CLI with one line naming the setting, or kept
 * literal. A marker file tells whether anything ran, on the host here (the VM side is in
 * test/e2e/trust.test.ts).
 */

let dir: string;
let marks: string;
const payloads = (tag: string) => [
  `'$(touch ${marks}/${tag}1)'`,
  `"$(touch ${marks}/${tag}2)"`,
  `x;touch ${marks}/${tag}3`,
  `$(touch ${marks}/${tag}4)`,
  `\`touch ${marks}/${tag}5\``,
  `x\ntouch ${marks}/${tag}6`,
  `$(touch\${IFS}${marks}/${tag}7)`,
];
/** The same, without any whitespace: what survives the "no spaces" rules and must stay literal. */
const compact = (tag: string) => [
  `$(touch\${IFS}${marks}/${tag}a)`,
  `\`touch\${IFS}${marks}/${tag}b\``,
  `';touch\${IFS}${marks}/${tag}c;'`,
  `";touch\${IFS}${marks}/${tag}d;"`,
  `\${IFS}$(id>${marks}/${tag}e)`,
];

beforeAll(async () => {
  dir = await tempStore('inject-');
  marks = path.join(dir, 'marks');
  await fs.mkdir(marks);
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise((r) => srv.close(r));
  return port;
}

describe('shell payloads in create settings', () => {
  it('are refused with one line naming the setting, or pass into create without running anything', async () => {
    const port = await closedPort();
    const store = path.join(dir, 'store');
    // A generic host nobody listens on: a create that passes validation stops at the pre-create check (exit 3).
    const base = ['create', '-d', 'generic', '--generic-ip-address', '127.0.0.1', '--generic-ssh-port', String(port)];
    const cases: { flag: string; value: string; env?: Record<string, string> }[] = [];
    for (const flag of [
      '--engine-label',
      '--engine-opt',
      '--engine-env',
      '--engine-insecure-registry',
      '--engine-registry-mirror',
      '--engine-storage-driver',
      '--tls-san',
    ]) {
      for (const p of payloads(flag.slice(2, 6)))
        cases.push({ flag, value: flag === '--engine-label' || flag === '--engine-env' ? `K=${p}` : p });
    }
    for (const p of payloads('prox')) cases.push({ flag: '', value: '', env: { HTTP_PROXY: p } });
    const results = await inBatches(cases, 8, async (c, i) => {
      const args = [...base, ...(c.flag ? [c.flag, c.value] : []), `m${i}`];
      return { c, res: await machine(store, args, { env: c.env }) };
    });
    for (const { c, res } of results) {
      const what = `${c.flag || 'HTTP_PROXY'} ${JSON.stringify(c.value || c.env)}`;
      const lines = String(res.stderr).trim().split('\n');
      if (res.exitCode === 3) {
        // Accepted (and stored literally): it failed only at reaching the host.
        expect(lines.pop(), what).toMatch(/^Error creating machine "m\d+" at step "Running pre-create checks": /);
      } else {
        expect(res.exitCode, what).toBe(1);
        expect(lines, what).toHaveLength(1);
        expect(lines[0], what).toMatch(new RegExp(`^(${c.flag || 'The proxy setting'}|--engine-\\w+|--tls-san) `));
      }
    }
    expect(await fs.readdir(marks)).toEqual([]);
    // Nothing was left behind by the refused or failed creates.
    expect(await fs.readdir(path.join(store, 'machines')).catch(() => [])).toEqual([]);
  }, 120_000);

  it('that pass the rules stay literal when a real shell sources the profile and splits EXTRA_ARGS as boot2docker does', async () => {
    const engine = defaultEngineOptions();
    engine.Labels = compact('lab').map((p) => `k=${p}`);
    engine.ArbitraryFlags = compact('opt').map((p) => `log-opt=${p}`);
    engine.InsecureRegistry = compact('reg');
    engine.StorageDriver = `overlay2;touch\${IFS}${marks}/storage`;
    const env = [...compact('env').map((p, i) => `K${i}=${p}`), `HTTP_PROXY=http://p:3128/${compact('prx')[0]}`];
    const profile = renderProfile(engine, 'qemu', env);
    const file = path.join(dir, 'profile');
    await fs.writeFile(file, profile);
    // Our init script's way: source the profile, then expand the arguments with globbing off.
    const script = `. ${file}; set -f; for w in $EXTRA_ARGS; do printf '%s\\n' "$w"; done; printf 'S=%s\\n' "$DOCKER_STORAGE"; env | grep '^K[0-9]=' | sort`;
    for (const shell of ['sh', 'busybox']) {
      const args = shell === 'busybox' ? ['sh', '-c', script] : ['-c', script];
      const res = await execa(shell, args, { cwd: dir, env: { PATH: process.env.PATH } });
      const words = res.stdout.split('\n');
      for (const l of engine.Labels) expect(words, shell).toContain(`k=${l.slice(2)}`);
      for (const o of engine.ArbitraryFlags) expect(words, shell).toContain(`--${o}`);
      for (const r of engine.InsecureRegistry) expect(words, shell).toContain(r);
      expect(words, shell).toContain(`S=${engine.StorageDriver}`);
      expect(words.filter((w) => /^K\d=/.test(w)).sort(), shell).toEqual(env.filter((e) => /^K\d=/.test(e)).sort());
    }
    expect(await fs.readdir(marks)).toEqual([]);
  });
});
