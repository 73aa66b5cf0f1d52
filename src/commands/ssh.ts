import { Machine } from '../machine/machine.js';
import { SshSession } from '../ssh/client.js';
import type { Store } from '../store/store.js';
import { notRunning } from './info.js';

/** The terminal the session is attached to. */
export interface Stdio {
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
}

/**
 * `machine ssh NAME` opens an interactive shell with a PTY; `machine ssh NAME [--] CMD...` runs
 * CMD and returns its exit code (docker-machine always returned 1). A leading -t asks for a PTY.
 */
export async function ssh(store: Store, name: string, command: string[], stdio: Stdio): Promise<number> {
  const machine = await Machine.loadRunning(store, name, notRunning(name));
  let pty = false;
  while (command[0] === '-t' || command[0] === '-tt') {
    pty = true;
    command = command.slice(1);
  }
  if (command[0] === '--') command = command.slice(1);
  const session = await SshSession.connect(await machine.sshTarget());
  try {
    if (!command.length) {
      if (!stdio.stdin.isTTY) return await session.exec('sh -l', stdio);
      return await session.shell(stdio);
    }
    return await session.exec(command.join(' '), { ...stdio, pty: pty && stdio.stdin.isTTY });
  } finally {
    session.close();
  }
}
