import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';

/**
 * A terminal for tests: a private tmux server (its own socket, no ~/.tmux.conf) running one
 * command in a window of a fixed size. Type with send/keys, read the screen with capture, wait for
 * text with waitFor. kill() ends the server and everything it runs.
 */
export class Tmux {
  private constructor(
    readonly socket: string,
    private readonly dir: string,
  ) {}

  static async start(
    command: string,
    opts: { env?: Record<string, string>; cwd?: string; width?: number; height?: number } = {},
  ): Promise<Tmux> {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tmux-'));
    const t = new Tmux(path.join(dir, 'sock'), dir);
    // The server starts with this environment; the window's command inherits it.
    await execa(
      'tmux',
      [
        '-S',
        t.socket,
        '-f',
        '/dev/null',
        'new-session',
        '-d',
        '-s',
        'main',
        '-x',
        String(opts.width ?? 160),
        '-y',
        String(opts.height ?? 50),
        command,
      ],
      { env: { TERM: 'xterm-256color', ...opts.env }, cwd: opts.cwd, stdin: 'ignore' },
    );
    await t.tmux(['set-option', '-g', 'remain-on-exit', 'on']);
    await t.tmux(['set-option', '-g', 'history-limit', '10000']);
    return t;
  }

  private tmux(args: string[]) {
    return execa('tmux', ['-S', this.socket, ...args], { reject: false, stdin: 'ignore' });
  }

  /** Type text literally, then Enter unless told otherwise. */
  async send(text: string, opts: { enter?: boolean } = {}): Promise<void> {
    if (text) await this.tmux(['send-keys', '-t', 'main', '-l', text]);
    if (opts.enter ?? true) await this.tmux(['send-keys', '-t', 'main', 'Enter']);
  }

  /** Named keys: "Tab", "C-c", "Enter". */
  async keys(...keys: string[]): Promise<void> {
    await this.tmux(['send-keys', '-t', 'main', ...keys]);
  }

  /** The screen and its scrollback, lines joined where they wrapped. */
  async capture(): Promise<string> {
    const res = await this.tmux(['capture-pane', '-p', '-J', '-S', '-10000', '-t', 'main']);
    return String(res.stdout);
  }

  /** Wait until the screen matches; the last screen is in the error when it never does. */
  async waitFor(pattern: RegExp, timeoutMs = 30_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let screen = '';
    while (Date.now() < deadline) {
      screen = await this.capture();
      if (pattern.test(screen)) return screen;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`timed out after ${timeoutMs} ms waiting for ${pattern} on the screen:\n${screen}`);
  }

  /** Has the window's command exited (remain-on-exit keeps the pane)? */
  async exited(): Promise<boolean> {
    const res = await this.tmux(['display-message', '-p', '-t', 'main', '#{pane_dead}']);
    return String(res.stdout).trim() === '1';
  }

  async kill(): Promise<void> {
    await this.tmux(['kill-server']);
    await fs.rm(this.dir, { recursive: true, force: true });
  }
}
