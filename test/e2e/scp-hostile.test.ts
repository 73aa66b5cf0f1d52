import { randomBytes } from 'node:crypto';
import { readdirSync, statSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair } from '../../src/ssh/keys.js';
import { machine as cli, tempStore } from '../helpers/cli.js';
import { addGenericMachine, dir, type FakeNode, type FakeSftp, file, link, startFakeSftp, startOpenSshSftp } from '../helpers/sftp.js';

/**
 * `machine scp` against a hostile machine: a fake SFTP server (ssh2's Server on 127.0.0.1) that
 * sends names meant to escape the destination, setuid files and symbolic links, registered as a
 * generic-driver machine the real CLI copies from. No VM: the server is the machine.
 */

const HOSTILE: [string, string, string][] = [
  // case, the name the machine lists, how the error shows it
  ['dotdot', '../../../x', '"../../../x"'],
  ['slash', 'a/b', '"a/b"'],
  ['absolute', '/etc/passwd', '"/etc/passwd"'],
  ['backslash', '..\\..\\x', '"..\\\\..\\\\x"'],
  ['empty', '', '""'],
  ['nul', 'x\0y', '"x\\u0000y"'],
  ['escape', 'red\x1b[31m\nline', '"red\\u001b[31m\\nline"'],
  ['c1', 'csi\u009b2J', '"csi\\u009b2J"'],
];

const big = randomBytes(300_000);
const benign = () =>
  dir({
    'a.txt': file('A\n'),
    'big.bin': file(big, 0o600),
    'run.sh': file('#!/bin/sh\n', 0o755),
    empty: file(''),
    suid: file('setuid\n', 0o4755),
    sgid: file('setgid\n', 0o2755),
    sub: dir({ 'b.txt': file('B', 0o640) }, 0o750),
    shared: dir({ 'c.txt': file('C') }, 0o1777),
    team: dir({}, 0o2775),
  });
const tree = dir({
  benign: benign(),
  hostile: dir(
    HOSTILE.map(([name, bad]) => [
      name,
      dir([
        ['ok.txt', file('ok')],
        [bad, file('pwned')],
      ]),
    ]),
  ),
  dots: dir([
    ['.', dir({})],
    ['..', dir({})],
    ['fine.txt', file('fine')],
  ]),
  links: dir({ inside: link('/benign/a.txt'), escape: link('../../../../outside'), asdir: link('/benign/sub') }),
  loop: dir({ self: link('/loop') }),
  trap: { ...file('never sent'), refuse: 'no such luck\x1b]0;owned\x07\x1b[2J' },
  uploads: dir({}),
});

let store: string;
let work: string;
let server: FakeSftp;
/** Set while a machine-to-machine copy runs: the modes of what is in its TMPDIR when it uploads. */
let watchTmp: { dir: string; modes: number[] } | undefined;

beforeAll(async () => {
  store = await tempStore('scp-store-');
  work = await fs.mkdtemp(path.join(os.tmpdir(), 'scp-hostile-'));
  const key = generateKeyPair();
  server = await startFakeSftp(tree, key.privateKey, () => {
    if (watchTmp) for (const name of readdirSync(watchTmp.dir)) watchTmp.modes.push(statSync(path.join(watchTmp.dir, name)).mode & 0o7777);
  });
  await addGenericMachine(store, 'evil', server.port, key.privateKey);
  await addGenericMachine(store, 'evil2', server.port, key.privateKey);
});
afterAll(async () => {
  await server?.stop();
  await fs.rm(store, { recursive: true, force: true });
  await fs.rm(work, { recursive: true, force: true });
});

/** The real CLI, killed if it hangs (a client that recurses into "" or a loop never ends). */
const machine = (root: string, args: string[], opts: { env?: Record<string, string> } = {}) =>
  cli(root, args, { timeout: 20_000, ...opts });

/** Every entry under root (not following links) with its mode and content, leaving out skip. */
async function snapshot(root: string, skip: string): Promise<string[]> {
  const out: string[] = [];
  for (const name of (await fs.readdir(root)).sort()) {
    const full = path.join(root, name);
    if (full === skip) continue;
    const st = await fs.lstat(full);
    const content = st.isFile() ? await fs.readFile(full, 'utf8') : st.isSymbolicLink() ? await fs.readlink(full) : '';
    out.push(`${full} ${st.mode.toString(8)} ${content}`);
    if (st.isDirectory()) out.push(...(await snapshot(full, skip)));
  }
  return out;
}

/** A sandbox: dest deep inside, a sentinel and an "outside" directory beside it, and its picture before the copy. */
async function sandbox() {
  const root = await fs.mkdtemp(path.join(work, 'case-'));
  const dest = path.join(root, 'a', 'b', 'c', 'dest');
  const outside = path.join(root, 'outside');
  await fs.mkdir(dest, { recursive: true });
  await fs.mkdir(outside);
  await fs.writeFile(path.join(root, 'sentinel.txt'), 'keep');
  await fs.writeFile(path.join(outside, 'sentinel.txt'), 'keep');
  return { root, dest, outside, before: async () => snapshot(root, dest) };
}

async function expectNothingOutside(sb: Awaited<ReturnType<typeof sandbox>>, before: string[]): Promise<void> {
  expect(await snapshot(sb.root, sb.dest)).toEqual(before);
  expect(await fs.readFile(path.join(sb.root, 'sentinel.txt'), 'utf8')).toBe('keep');
  expect(await fs.readFile(path.join(sb.outside, 'sentinel.txt'), 'utf8')).toBe('keep');
}

/** One line on stderr, exit 1. */
function failsWith(res: { exitCode?: number; stderr?: unknown; all?: unknown }): string {
  expect(res.exitCode, String(res.all)).toBe(1);
  const err = String(res.stderr).trim();
  expect(err.split('\n'), err).toHaveLength(1);
  expect(err).not.toMatch(/[\0-\x1f\x7f-\x9f]/);
  return err;
}

/** A local tree as the fake machine's nodes (links not followed), to compare with expectCopy. */
async function readTree(p: string): Promise<FakeNode> {
  const st = await fs.lstat(p);
  if (st.isFile()) return { mode: st.mode, data: await fs.readFile(p) };
  if (!st.isDirectory()) return { mode: st.mode };
  const names = await fs.readdir(p);
  return {
    mode: st.mode,
    entries: await Promise.all(names.map(async (n): Promise<[string, FakeNode]> => [n, await readTree(path.join(p, n))])),
  };
}

/** The copy has the original's type, bytes and names, and its permissions minus setuid, setgid and sticky. */
function expectCopy(original: FakeNode, copy: FakeNode | undefined, where: string): void {
  expect(copy?.mode.toString(8), where).toBe((original.mode & ~0o7000).toString(8));
  expect(copy!.data?.equals(original.data!) ?? !original.data, where).toBe(true);
  expect(copy!.entries?.map(([n]) => n).sort(), where).toEqual(original.entries?.map(([n]) => n).sort());
  for (const [name, child] of original.entries ?? []) expectCopy(child, copy!.entries!.find(([n]) => n === name)?.[1], `${where}/${name}`);
}

describe.concurrent('machine scp from a hostile machine', () => {
  it.each(HOSTILE)('refuses a listed name (%s) and writes nothing', async (name, _bad, shown) => {
    const sb = await sandbox();
    const before = await sb.before();
    const err = failsWith(await machine(store, ['scp', '-r', `evil:/hostile/${name}`, sb.dest]));
    expect(err).toBe(
      `Machine "evil" listed an unsafe file name ${shown} in /hostile/${name}: the copy stopped; ` +
        'a sound SFTP server never sends such a name, so check what runs on the machine',
    );
    expect(await fs.readdir(sb.dest)).toEqual([]);
    await expectNothingOutside(sb, before);
  });

  it('skips the "." and ".." every server lists', async () => {
    const sb = await sandbox();
    const before = await sb.before();
    const res = await machine(store, ['scp', '-r', 'evil:/dots', sb.dest]);
    expect([res.exitCode, String(res.all)]).toEqual([0, '']);
    expect(await fs.readdir(sb.dest)).toEqual(['dots']);
    expect(await fs.readdir(path.join(sb.dest, 'dots'))).toEqual(['fine.txt']);
    await expectNothingOutside(sb, before);
  });

  it('copies a tree byte for byte, dropping setuid, setgid and sticky bits (user@machine:path)', async () => {
    const sb = await sandbox();
    const before = await sb.before();
    const res = await machine(store, ['scp', '-r', 'root@evil:/benign', sb.dest]);
    expect([res.exitCode, String(res.all)]).toEqual([0, '']);
    expectCopy(server.lookup('/benign')!, await readTree(path.join(sb.dest, 'benign')), 'benign');
    expect((await fs.stat(path.join(sb.dest, 'benign', 'suid'))).mode & 0o7777).toBe(0o755);
    expect((await fs.stat(path.join(sb.dest, 'benign', 'shared'))).mode & 0o7777).toBe(0o777);
    expect(server.users.has('root')).toBe(true);
    // One file, to a new name.
    const one = await machine(store, ['scp', 'evil:/benign/sgid', path.join(sb.dest, 'one')]);
    expect([one.exitCode, String(one.all)]).toEqual([0, '']);
    expectCopy(server.lookup('/benign/sgid')!, await readTree(path.join(sb.dest, 'one')), 'one');
    await expectNothingOutside(sb, before);
  });

  it('follows links on the machine (its files arrive as files), never makes one here', async () => {
    const sb = await sandbox();
    const before = await sb.before();
    const res = await machine(store, ['scp', '-r', 'evil:/links', sb.dest]);
    expect(res.exitCode, String(res.all)).toBe(0);
    expect(String(res.stderr).trim()).toBe('Skipping evil:/links/escape: not a regular file or directory');
    const links = path.join(sb.dest, 'links');
    expect((await fs.readdir(links)).sort()).toEqual(['asdir', 'inside']);
    expectCopy(server.lookup('/benign/a.txt')!, await readTree(path.join(links, 'inside')), 'inside');
    expectCopy(server.lookup('/benign/sub')!, await readTree(path.join(links, 'asdir')), 'asdir');
    await expectNothingOutside(sb, before);
    const quiet = await machine(store, ['scp', '-q', '-r', 'evil:/links', path.join(sb.dest, 'again')]);
    expect([quiet.exitCode, String(quiet.all)]).toEqual([0, '']);
  });

  it("words a machine's failure itself: the server's text never reaches the terminal", async () => {
    const sb = await sandbox();
    const before = await sb.before();
    expect(failsWith(await machine(store, ['scp', 'evil:/trap', sb.dest]))).toBe('evil:/trap: Failure');
    expect(await fs.readdir(sb.dest)).toEqual([]); // nor a temporary file left behind
    await expectNothingOutside(sb, before);
  });

  it('stops at a directory loop', async () => {
    const sb = await sandbox();
    const before = await sb.before();
    const err = failsWith(await machine(store, ['scp', '-r', 'evil:/loop', sb.dest]));
    expect(err).toMatch(
      /^evil:\/loop(\/self){64}: directories nested more than 64 deep: copy a part of the tree or look for a symbolic link loop$/,
    );
    await expectNothingOutside(sb, before);
  });

  it.each([
    ['a file', 'benign/a.txt'],
    ['a directory', 'benign/sub'],
    ['the copy itself', 'benign'],
  ])('does not write through a symbolic link already in the destination (%s)', async (_what, rel) => {
    const sb = await sandbox();
    await fs.mkdir(path.join(sb.dest, path.dirname(rel)), { recursive: true });
    const planted = path.join(sb.dest, rel);
    // A file link dangles (O_CREAT would make the file outside); a directory link points at a real one.
    await fs.symlink(rel.endsWith('.txt') ? path.join(sb.outside, 'a.txt') : sb.outside, planted);
    const before = await sb.before();
    const err = failsWith(await machine(store, ['scp', '-r', 'evil:/benign', sb.dest]));
    expect(err).toBe(`Refusing to write through the symbolic link ${planted}: remove it or copy to another destination`);
    expect((await fs.lstat(planted)).isSymbolicLink()).toBe(true);
    await expectNothingOutside(sb, before);
  });

  it('uploads drop setuid, setgid and sticky bits and keep the rest', async () => {
    const sb = await sandbox();
    const up = path.join(sb.root, 'up');
    await fs.mkdir(path.join(up, 'team'), { recursive: true });
    await fs.writeFile(path.join(up, 'suid'), 'setuid');
    await fs.writeFile(path.join(up, 'plain'), randomBytes(100_000));
    await fs.writeFile(path.join(up, 'team', 'notes'), 'notes');
    await fs.chmod(path.join(up, 'suid'), 0o4755);
    await fs.chmod(path.join(up, 'plain'), 0o640);
    await fs.chmod(path.join(up, 'team'), 0o3775);
    expect((await fs.stat(path.join(up, 'suid'))).mode & 0o7777).toBe(0o4755); // the bits are really there to drop
    const res = await machine(store, ['scp', '-r', up, 'evil:/uploads/']);
    expect([res.exitCode, String(res.all)]).toEqual([0, '']);
    expectCopy(await readTree(up), server.lookup('/uploads/up'), '/uploads/up');
    expect(server.lookup('/uploads/up/team')!.mode & 0o7777).toBe(0o775);
    const one = await machine(store, ['scp', path.join(up, 'suid'), 'docker@evil:/uploads/one']);
    expect([one.exitCode, String(one.all)]).toEqual([0, '']);
    expect(server.lookup('/uploads/one')!.mode & 0o7777).toBe(0o755);
  });

  it('names a destination directory that is missing', async () => {
    const sb = await sandbox();
    const missing = path.join(sb.dest, 'no', 'such');
    for (const args of [
      ['evil:/benign/a.txt', path.join(missing, 'a.txt')],
      ['-r', 'evil:/benign', path.join(missing, 'benign')],
    ]) {
      expect(failsWith(await machine(store, ['scp', ...args]))).toBe(`${missing}: No such file or directory`);
    }
    expect(await fs.readdir(sb.dest)).toEqual([]);
  });

  it('refuses a local-to-local copy', async () => {
    const sb = await sandbox();
    const src = path.join(sb.root, 'sentinel.txt');
    const dst = path.join(sb.dest, 'copy');
    for (const [a, b] of [
      [src, dst],
      [src, `localhost:${dst}`],
    ] as const) {
      const err = failsWith(await machine(store, ['scp', a, b]));
      expect(err).toBe(`Both "${a}" and "${b}" are local paths: one side must be MACHINE:PATH (use cp to copy on this computer)`);
    }
    expect(await fs.readdir(sb.dest)).toEqual([]);
  });
});

// Alone: the fake machine looks into the temporary directory while the copy uploads.
describe('machine scp from machine to machine', () => {
  it('goes through a private temporary directory, removed afterwards', async () => {
    const tmp = await fs.mkdtemp(path.join(work, 'tmp-'));
    const seen = { dir: tmp, modes: [] as number[] };
    watchTmp = seen;
    try {
      const res = await machine(store, ['scp', '-r', 'evil:/benign', 'evil2:/uploads/'], { env: { TMPDIR: tmp } });
      expect([res.exitCode, String(res.all)]).toEqual([0, '']);
    } finally {
      watchTmp = undefined;
    }
    expect(new Set(seen.modes)).toEqual(new Set([0o700]));
    expect(await fs.readdir(tmp)).toEqual([]);
    expectCopy(server.lookup('/benign')!, server.lookup('/uploads/benign'), '/uploads/benign');
  });
});

// The same SSH front, with OpenSSH's sftp-server (the ISO's) behind it over real files: what a
// sound server sends ("." and "..", "Failure" for a directory that exists) copies as it should.
describe("machine scp with OpenSSH's sftp-server", () => {
  let sound: Awaited<ReturnType<typeof startOpenSshSftp>>;
  beforeAll(async () => {
    const key = generateKeyPair();
    sound = await startOpenSshSftp(key.privateKey);
    await addGenericMachine(store, 'sound', sound.port, key.privateKey);
  });
  afterAll(() => sound?.stop());

  it('copies a tree there and back: bytes, and modes minus setuid, setgid and sticky', async () => {
    const sb = await sandbox();
    const tree = path.join(sb.root, 'tree');
    const make = async (rel: string, mode: number, data?: string | Buffer) => {
      const p = path.join(tree, rel);
      await (data === undefined ? fs.mkdir(p, { recursive: true }) : fs.writeFile(p, data));
      await fs.chmod(p, mode);
    };
    await make('', 0o755);
    await make('sub', 0o750);
    await make('shared', 0o1777);
    await make('a.txt', 0o644, 'A\n');
    await make('big.bin', 0o600, big);
    await make('suid', 0o4755, 'setuid');
    await make('sub/sgid', 0o2755, 'setgid');
    const there = path.join(sb.root, 'there');
    await fs.mkdir(there);
    for (let i = 0; i < 2; i++) {
      // The second time every directory is there already.
      const res = await machine(store, ['scp', '-r', tree, `sound:${there}`]);
      expect([res.exitCode, String(res.all)]).toEqual([0, '']);
    }
    expectCopy(await readTree(tree), await readTree(path.join(there, 'tree')), 'there');
    const back = await machine(store, ['scp', '-r', `sound:${there}/tree`, sb.dest]);
    expect([back.exitCode, String(back.all)]).toEqual([0, '']);
    expectCopy(await readTree(tree), await readTree(path.join(sb.dest, 'tree')), 'back');
  });
});
