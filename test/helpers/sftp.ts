import { spawn } from 'node:child_process';
import { timingSafeEqual } from 'node:crypto';
import { constants as C } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import ssh2 from 'ssh2';
import { exists, writeFileAtomic } from '../../src/core/files.js';
import { configFromFlags } from '../../src/drivers/generic/index.js';
import { generateKeyPair } from '../../src/ssh/keys.js';
import { baseDriverConfig } from '../../src/store/config.js';
import { writeMachineConfig } from './cli.js';

const { Server, utils } = ssh2;
const { STATUS_CODE, OPEN_MODE } = utils.sftp;

/** A node of the fake machine's filesystem. A directory's listing is sent exactly as written, hostile names included. */
export interface FakeNode {
  /** The whole st_mode: type and permission bits. */
  mode: number;
  data?: Buffer;
  entries?: [string, FakeNode][];
  /** Symbolic links: a path of this tree (STAT follows it; anything else dangles). */
  target?: string;
  /** Opening it fails with this message (a server's own text). */
  refuse?: string;
}

export const file = (data: string | Buffer, perm = 0o644): FakeNode => ({ mode: C.S_IFREG | perm, data: Buffer.from(data) });
export const dir = (entries: Record<string, FakeNode> | [string, FakeNode][], perm = 0o755): FakeNode => ({
  mode: C.S_IFDIR | perm,
  entries: Array.isArray(entries) ? entries : Object.entries(entries),
});
export const link = (target: string): FakeNode => ({ mode: C.S_IFLNK | 0o777, target });

const isType = (node: FakeNode, type: number) => (node.mode & C.S_IFMT) === type;

export interface FakeSftp extends SshFront {
  /** The node at a path the way a client computes it (posix.join of directory and listed name). */
  lookup(p: string): FakeNode | undefined;
}

/**
 * A fake machine: ssh2's Server on 127.0.0.1 speaking SFTP over an in-memory tree, accepting only
 * the given key. Paths are looked up as a naive client would build them (directory joined with the
 * listed name), so a name like "../../x" leads somewhere real: a client that trusts it is caught.
 * Writes (uploads) change the tree. onWrite runs when a client opens a file for writing.
 */
export async function startFakeSftp(root: FakeNode, clientKey: string, onWrite?: (p: string) => void): Promise<FakeSftp> {
  const index = new Map<string, FakeNode>();
  const register = (p: string, node: FakeNode): void => {
    if (index.has(p)) return; // "." and ".." entries, and repeats, lead where the path already does
    index.set(p, node);
    for (const [name, child] of node.entries ?? []) register(path.posix.join(p, name), child);
  };
  register('/', root);
  // Paths nobody listed (below a symbolic link) resolve one component at a time.
  const lookup = (p: string): FakeNode | undefined => {
    const full = path.posix.join('/', p);
    if (index.has(full) || full === '/') return index.get(full);
    const name = path.posix.basename(full);
    return follow(path.posix.dirname(full))?.entries?.find(([n]) => n === name)?.[1];
  };
  function follow(p: string): FakeNode | undefined {
    let node = lookup(p);
    for (let hops = 0; node?.target !== undefined && hops < 8; hops++) node = lookup(node.target);
    return node?.target === undefined ? node : undefined;
  }
  const add = (p: string, node: FakeNode): boolean => {
    const parent = follow(path.posix.dirname(path.posix.join('/', p)));
    if (!parent?.entries) return false;
    const name = path.posix.basename(p);
    parent.entries = parent.entries.filter(([n]) => n !== name);
    parent.entries.push([name, node]);
    index.set(path.posix.join('/', p), node);
    return true;
  };
  const attrsOf = (node: FakeNode) => ({ mode: node.mode, size: node.data?.length ?? 0, uid: 0, gid: 0, atime: 0, mtime: 0 });
  const setMode = (node: FakeNode | undefined, attrs: { mode?: number | string }) => {
    if (node && typeof attrs.mode === 'number') node.mode = (node.mode & C.S_IFMT) | (attrs.mode & 0o7777);
  };

  const front = await sshServer(clientKey, (session) =>
    session.on('sftp', (acceptSftp) => {
      const sftp = acceptSftp();
      const handles = new Map<number, { node: FakeNode; listed?: boolean }>();
      let next = 0;
      const handle = (reqid: number, node: FakeNode) => {
        handles.set(++next, { node });
        const buf = Buffer.alloc(4);
        buf.writeUInt32BE(next);
        sftp.handle(reqid, buf);
      };
      const open = (buf: Buffer) => handles.get(buf.readUInt32BE(0));
      const fail = (reqid: number, code = STATUS_CODE.NO_SUCH_FILE) => sftp.status(reqid, code);

      sftp.on('REALPATH', (reqid, p) => sftp.name(reqid, [{ filename: path.posix.join('/', p), longname: '', attrs: {} as never }]));
      sftp.on('STAT', (reqid, p) => {
        const node = follow(p);
        return node ? sftp.attrs(reqid, attrsOf(node)) : fail(reqid);
      });
      sftp.on('LSTAT', (reqid, p) => {
        const node = lookup(p);
        return node ? sftp.attrs(reqid, attrsOf(node)) : fail(reqid);
      });
      sftp.on('OPENDIR', (reqid, p) => {
        const node = follow(p);
        return node?.entries ? handle(reqid, node) : fail(reqid);
      });
      sftp.on('READDIR', (reqid, buf) => {
        const h = open(buf);
        if (!h?.node.entries) return fail(reqid, STATUS_CODE.FAILURE);
        if (h.listed) return sftp.status(reqid, STATUS_CODE.EOF);
        h.listed = true;
        const names = h.node.entries.map(([filename, node]) => ({ filename, longname: filename, attrs: attrsOf(node) }));
        if (!names.length) return sftp.status(reqid, STATUS_CODE.EOF);
        sftp.name(reqid, names);
      });
      sftp.on('OPEN', (reqid, p, flags, attrs) => {
        if (flags & OPEN_MODE.WRITE) {
          onWrite?.(p);
          const node = file('', 0o644);
          setMode(node, attrs);
          return add(p, node) ? handle(reqid, node) : fail(reqid);
        }
        const node = follow(p);
        if (node?.refuse) return sftp.status(reqid, STATUS_CODE.FAILURE, node.refuse);
        return node && isType(node, C.S_IFREG) ? handle(reqid, node) : fail(reqid);
      });
      sftp.on('READ', (reqid, buf, offset, length) => {
        const data = open(buf)?.node.data;
        if (!data) return fail(reqid, STATUS_CODE.FAILURE);
        if (offset >= data.length) return sftp.status(reqid, STATUS_CODE.EOF);
        sftp.data(reqid, data.subarray(offset, offset + length));
      });
      sftp.on('WRITE', (reqid, buf, offset, data) => {
        const node = open(buf)?.node;
        if (!node?.data) return fail(reqid, STATUS_CODE.FAILURE);
        const grown = Buffer.alloc(Math.max(node.data.length, offset + data.length));
        node.data.copy(grown);
        data.copy(grown, offset);
        node.data = grown;
        sftp.status(reqid, STATUS_CODE.OK);
      });
      sftp.on('FSTAT', (reqid, buf) => {
        const h = open(buf);
        return h ? sftp.attrs(reqid, attrsOf(h.node)) : fail(reqid, STATUS_CODE.FAILURE);
      });
      sftp.on('FSETSTAT', (reqid, buf, attrs) => {
        setMode(open(buf)?.node, attrs);
        sftp.status(reqid, STATUS_CODE.OK);
      });
      sftp.on('SETSTAT', (reqid, p, attrs) => {
        const node = follow(p);
        if (!node) return fail(reqid);
        setMode(node, attrs);
        sftp.status(reqid, STATUS_CODE.OK);
      });
      sftp.on('MKDIR', (reqid, p, attrs) => {
        if (lookup(p)) return fail(reqid, STATUS_CODE.FAILURE); // what OpenSSH's sftp-server answers for EEXIST
        const node = dir([], 0o755);
        setMode(node, attrs);
        return add(p, node) ? sftp.status(reqid, STATUS_CODE.OK) : fail(reqid);
      });
      sftp.on('CLOSE', (reqid, buf) => {
        handles.delete(buf.readUInt32BE(0));
        sftp.status(reqid, STATUS_CODE.OK);
      });
    }),
  );
  return { ...front, lookup };
}

interface SshFront {
  port: number;
  /** The login names clients used. */
  users: Set<string>;
  stop(): Promise<void>;
}

/** ssh2's Server on 127.0.0.1 (a free port) that lets in only clientKey and hands each session to onSession. */
async function sshServer(clientKey: string, onSession: (session: ssh2.Session) => void): Promise<SshFront> {
  const allowed = utils.parseKey(clientKey) as ssh2.ParsedKey;
  const users = new Set<string>();
  const clients = new Set<ssh2.Connection>();
  const server = new Server({ hostKeys: [generateKeyPair().privateKey] }, (client) => {
    clients.add(client);
    client.on('close', () => clients.delete(client));
    client.on('error', () => undefined); // the generic driver's state check connects and hangs up
    client.on('authentication', (ctx) => {
      users.add(ctx.username);
      if (ctx.method !== 'publickey') return ctx.reject(['publickey']);
      const pub = allowed.getPublicSSH();
      const same = ctx.key.algo === allowed.type && ctx.key.data.length === pub.length && timingSafeEqual(ctx.key.data, pub);
      if (!same || (ctx.signature && allowed.verify(ctx.blob!, ctx.signature, ctx.hashAlgo) !== true)) return ctx.reject();
      ctx.accept();
    });
    client.on('ready', () => client.on('session', (accept) => onSession(accept())));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    users,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const c of clients) c.end();
      }),
  };
}

const SFTP_SERVER = '/usr/lib/openssh/sftp-server';

/**
 * A machine serving SFTP with OpenSSH's own sftp-server (what our ISO runs), over the real files
 * of this computer: what a sound server lists and answers, as opposed to the fake's.
 */
export async function startOpenSshSftp(clientKey: string): Promise<SshFront> {
  if (!(await exists(SFTP_SERVER)))
    throw new Error(`No ${SFTP_SERVER}: install openssh-sftp-server (scripts/setup.sh does with WITH_TEST_TOOLS=1)`);
  return sshServer(clientKey, (session) =>
    session.on('subsystem', (accept, reject, info) => {
      if (info.name !== 'sftp') return reject();
      const channel = accept();
      const child = spawn(SFTP_SERVER, [], { stdio: ['pipe', 'pipe', 'ignore'] });
      channel.pipe(child.stdin);
      child.stdout.pipe(channel);
      child.on('exit', () => channel.close());
      channel.on('close', () => child.kill());
    }),
  );
}

/**
 * A machine whose commands run in this computer's busybox sh (the shell of our ISO and of
 * boot2docker), with `env` (PATH: stand-ins for sudo and date, which the tests cannot run for real).
 */
export async function startBusyboxShell(clientKey: string, env: NodeJS.ProcessEnv): Promise<SshFront> {
  return sshServer(clientKey, (session) =>
    session.on('exec', (accept, _reject, info) => {
      const channel = accept();
      const child = spawn('busybox', ['sh', '-c', info.command], { env, stdio: ['pipe', 'pipe', 'pipe'] });
      channel.pipe(child.stdin);
      child.stdout.pipe(channel, { end: false });
      child.stderr.pipe(channel.stderr, { end: false });
      child.on('close', (code) => {
        channel.exit(code ?? 1);
        channel.end();
      });
    }),
  );
}

/**
 * Register a (fake) machine in a store as a generic-driver machine, as `machine create -d generic`
 * would leave it (its key copied into the machine directory), so the real CLI can use it.
 */
export async function addGenericMachine(root: string, name: string, port: number, privateKey: string): Promise<void> {
  const keyPath = path.join(root, 'machines', name, 'id_ed25519');
  const driver = await configFromFlags(
    { 'generic-ip-address': '127.0.0.1', 'generic-ssh-port': port, 'generic-ssh-user': 'docker', 'generic-ssh-key': keyPath },
    baseDriverConfig(name, root, keyPath),
  );
  await writeMachineConfig(root, name, 'generic', driver);
  await writeFileAtomic(keyPath, privateKey, 0o600);
}
