import { promises as fs } from 'node:fs';
import ssh2, { type ClientChannel, type ConnectConfig, type SFTPWrapper } from 'ssh2';

const { Client } = ssh2;
type Client = InstanceType<typeof Client>;
import { MachineError } from '../core/errors.js';
import { readIfExists, writeFileAtomic } from '../core/files.js';
import { poll } from '../core/wait.js';

export interface SshTarget {
  host: string;
  port: number;
  user: string;
  privateKey: string;
  /**
   * Where the machine's pinned host keys live ("type base64" lines). When the file exists, only a
   * key listed there is accepted; when it does not, the first key seen is recorded (trust on
   * first use). docker-machine never checked host keys.
   */
  knownHostsFile: string;
  /** Machine name, for messages. */
  name: string;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The last line a failed command wrote (stderr, else stdout), or its exit code: for messages. */
export function lastLine(res: RunResult): string {
  return (res.stderr || res.stdout).trim().split('\n').pop() || `exit code ${res.code}`;
}

export class HostKeyMismatch extends MachineError {
  constructor(target: SshTarget, got: string) {
    super(
      `The SSH host key of machine "${target.name}" changed: it presented ${got.slice(0, 40)}..., not the key pinned in ${target.knownHostsFile}`,
      {
        exitCode: 1,
        fix: `if the VM was really re-created outside machine, delete that file and try again`,
      },
    );
  }
}

/** One SSH connection, reused for every command and file transfer of an operation. */
export class SshSession {
  private sftpPromise: Promise<SFTPWrapper> | undefined;

  private constructor(
    readonly client: Client,
    readonly target: SshTarget,
  ) {}

  static async connect(target: SshTarget, timeoutMs = 15_000, signal?: AbortSignal): Promise<SshSession> {
    signal?.throwIfAborted();
    const pinned =
      (await readIfExists(target.knownHostsFile))
        ?.split('\n')
        .map((l) => l.trim())
        .filter(Boolean) ?? [];
    let seen: string | undefined;
    const config: ConnectConfig = {
      host: target.host,
      port: target.port,
      username: target.user,
      privateKey: target.privateKey,
      readyTimeout: timeoutMs,
      keepaliveInterval: 15_000,
      hostVerifier: (key: Buffer) => {
        seen = `${keyType(key)} ${key.toString('base64')}`;
        return pinned.length === 0 || pinned.includes(seen);
      },
    };
    // Negotiate the pinned key's algorithm, or the server could present another of its keys.
    const types = [...new Set(pinned.map((l) => l.split(' ')[0]!))];
    if (types.length) config.algorithms = { serverHostKey: types.flatMap(hostKeyAlgorithms) as never };
    const client = new Client();
    // ssh2 may emit several errors for one failure; all but the first are dropped.
    let failed: ((err: Error & { level?: string }) => void) | undefined;
    client.on('error', (err: Error & { level?: string }) => failed?.(err));
    // Ctrl-C must not wait for a handshake with a VM that is still booting.
    let onAbort = () => undefined as void;
    try {
      await new Promise<void>((resolve, reject) => {
        onAbort = () => {
          client.destroy();
          reject(signal!.reason);
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        client.once('ready', resolve);
        failed = (err) => {
          failed = undefined;
          if (err.level === 'client-authentication') {
            reject(
              new MachineError(`SSH login to machine "${target.name}" as ${target.user} with its key was refused`, {
                fix: 'check that the machine was created by this tool or re-provision it',
              }),
            );
          } else if (seen && pinned.length && !pinned.includes(seen)) reject(new HostKeyMismatch(target, seen));
          else reject(err);
        };
        client.connect(config);
      });
    } catch (err) {
      client.destroy();
      throw err;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
    if (!pinned.length && seen) await writeFileAtomic(target.knownHostsFile, `${seen}\n`, 0o600);
    return new SshSession(client, target);
  }

  /** Run a command (through the login shell, as sshd does), collecting its output. */
  run(command: string, opts: { stdin?: string | Buffer } = {}): Promise<RunResult> {
    return new Promise((resolve, reject) => {
      this.client.exec(command, (err, stream) => {
        if (err) return reject(err);
        const out: Buffer[] = [];
        const errOut: Buffer[] = [];
        stream.on('data', (d: Buffer) => out.push(d));
        stream.stderr.on('data', (d: Buffer) => errOut.push(d));
        stream.on('close', (code: number | null, signal?: string) =>
          resolve({
            code: code ?? (signal ? 128 : 255),
            stdout: Buffer.concat(out).toString('utf8'),
            stderr: Buffer.concat(errOut).toString('utf8'),
          }),
        );
        stream.end(opts.stdin);
      });
    });
  }

  /** Run a command that must succeed; its stdout. */
  async check(command: string, opts: { stdin?: string | Buffer; what?: string } = {}): Promise<string> {
    const res = await this.run(command, opts);
    if (res.code !== 0) {
      const detail = (res.stderr || res.stdout).trim().split('\n').slice(-3).join(' / ');
      throw new MachineError(
        `${opts.what ?? `Command "${command.split('\n')[0]}"`} failed on machine "${this.target.name}" (exit ${res.code})${detail ? `: ${detail}` : ''}`,
      );
    }
    return res.stdout;
  }

  /**
   * Run a command that prints a line when it is ready, then reads one line: `reply` gets that first
   * line and returns (when it likes) the line to send. What the command prints after it is timed,
   * so a caller measures the round trip without the cost of starting the command. Times are
   * performance.now(); the whole exchange gives up after timeoutMs.
   */
  exchange(
    command: string,
    reply: (ready: string) => string | Promise<string>,
    timeoutMs = 15_000,
  ): Promise<RunResult & { sentAt: number; answeredAt: number }> {
    return new Promise((resolve, reject) => {
      let stream: ClientChannel | undefined;
      const timer = setTimeout(() => {
        stream?.close();
        reject(
          new MachineError(`"${command.split('\n')[0]}" did not answer within ${timeoutMs / 1000} s on machine "${this.target.name}"`),
        );
      }, timeoutMs);
      this.client.exec(command, (err, channel) => {
        if (err) {
          clearTimeout(timer);
          return reject(err);
        }
        stream = channel;
        let out = '';
        let errOut = '';
        let ready: string | undefined;
        let sentAt = 0;
        let answeredAt = 0;
        channel.on('data', (d: Buffer) => {
          out += d.toString('utf8');
          if (ready === undefined && out.includes('\n')) {
            ready = out.slice(0, out.indexOf('\n'));
            out = out.slice(ready.length + 1);
            void Promise.resolve(reply(ready)).then(
              (line) => {
                sentAt = performance.now();
                channel.end(`${line}\n`);
              },
              (e: unknown) => {
                channel.close();
                clearTimeout(timer);
                reject(e);
              },
            );
          } else if (sentAt && !answeredAt && out) answeredAt = performance.now();
        });
        channel.stderr.on('data', (d: Buffer) => (errOut += d.toString('utf8')));
        channel.on('close', (code: number | null, signal?: string) => {
          clearTimeout(timer);
          resolve({ code: code ?? (signal ? 128 : 255), stdout: out, stderr: errOut, sentAt, answeredAt });
        });
      });
    });
  }

  /** Stream a command's I/O to ours (machine ssh NAME -- CMD); resolves to its exit code. */
  exec(
    command: string,
    io: { stdin?: NodeJS.ReadableStream; stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream; pty?: boolean },
  ): Promise<number> {
    return new Promise((resolve, reject) => {
      const opts = io.pty ? { pty: ptyOptions() } : {};
      this.client.exec(command, opts, (err, stream) => {
        if (err) return reject(err);
        this.attach(stream, io, resolve);
      });
    });
  }

  /** An interactive login shell with a PTY (machine ssh NAME). */
  shell(io: { stdin: NodeJS.ReadStream; stdout: NodeJS.WriteStream; stderr: NodeJS.WritableStream }): Promise<number> {
    return new Promise((resolve, reject) => {
      this.client.shell(ptyOptions(), (err, stream) => {
        if (err) return reject(err);
        const onResize = () => stream.setWindow(io.stdout.rows ?? 24, io.stdout.columns ?? 80, 0, 0);
        io.stdout.on('resize', onResize);
        const raw = io.stdin.isTTY;
        if (raw) io.stdin.setRawMode(true);
        this.attach(stream, io, (code) => {
          io.stdout.off('resize', onResize);
          if (raw) io.stdin.setRawMode(false);
          resolve(code);
        });
      });
    });
  }

  private attach(
    stream: ClientChannel,
    io: { stdin?: NodeJS.ReadableStream; stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream },
    done: (code: number) => void,
  ): void {
    stream.pipe(io.stdout, { end: false });
    stream.stderr.pipe(io.stderr, { end: false });
    if (io.stdin) {
      io.stdin.pipe(stream);
      io.stdin.resume();
    } else stream.end();
    stream.on('close', (code: number | null, signal?: string) => {
      if (io.stdin) {
        io.stdin.unpipe(stream);
        io.stdin.pause();
      }
      done(code ?? (signal ? 128 + (SIGNALS[signal] ?? 1) : 255));
    });
  }

  sftp(): Promise<SFTPWrapper> {
    this.sftpPromise ??= new Promise((resolve, reject) => this.client.sftp((err, sftp) => (err ? reject(err) : resolve(sftp))));
    return this.sftpPromise;
  }

  close(): void {
    this.client.end();
  }
}

const SIGNALS: Record<string, number> = { HUP: 1, INT: 2, QUIT: 3, KILL: 9, TERM: 15, PIPE: 13 };

function ptyOptions() {
  return { term: process.env.TERM || 'xterm', rows: process.stdout.rows ?? 24, cols: process.stdout.columns ?? 80 };
}

function keyType(blob: Buffer): string {
  const len = blob.readUInt32BE(0);
  return blob.toString('latin1', 4, 4 + len);
}

function hostKeyAlgorithms(type: string): string[] {
  return type === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [type];
}

/**
 * Connect as soon as sshd in the booting VM answers. A refused or reset connection is the VM still
 * booting; a refused login or a changed host key is final.
 */
export function waitForSsh(
  target: SshTarget,
  opts: {
    timeoutMs: number;
    signal?: AbortSignal;
    /** Checked between attempts: a reason the VM will never answer ends the wait at once. */
    problem?: () => Promise<MachineError | undefined>;
    /** Added to the timeout message: the last console line, the likely fix. */
    fix?: () => Promise<string>;
  },
): Promise<SshSession> {
  return poll(
    async () => {
      const problem = await opts.problem?.();
      if (problem) throw problem;
      return SshSession.connect(target, 10_000, opts.signal);
    },
    {
      timeoutMs: opts.timeoutMs,
      intervalMs: 300,
      maxIntervalMs: 1000,
      signal: opts.signal,
      what: `SSH on machine "${target.name}" (${target.host}:${target.port})`,
      fix: `see the boot log with "machine logs ${target.name}" or check that the VM boots`,
      fixLater: opts.fix,
      fatal: (err) => err instanceof MachineError,
    },
  );
}

/** Record a host key in advance (our ISO is given its host key), making the first contact checked too. */
export async function pinHostKey(knownHostsFile: string, publicLine: string): Promise<void> {
  await writeFileAtomic(knownHostsFile, `${publicLine.trim()}\n`, 0o600);
}

export async function forgetHostKey(knownHostsFile: string): Promise<void> {
  await fs.rm(knownHostsFile, { force: true });
}
