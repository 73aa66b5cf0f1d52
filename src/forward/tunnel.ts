import net from 'node:net';
import { MachineError } from '../core/errors.js';
import type { Forward, PortForwarder } from '../drivers/driver.js';
import type { SshSession } from '../ssh/client.js';

/**
 * Port forwards through the machine's SSH connection, for drivers that cannot add forwards
 * themselves (the generic driver): a listener on 127.0.0.1 per port, each connection a direct-tcpip
 * channel to the guest. TCP only.
 */
export class SshTunnels implements PortForwarder {
  private readonly servers = new Map<number, net.Server>();

  constructor(private readonly ssh: SshSession) {}

  async addForward(f: Forward): Promise<void> {
    if (f.proto !== 'tcp') throw new MachineError(`Cannot forward udp port ${f.hostPort} over SSH`);
    const server = net.createServer((socket) => {
      this.ssh.client.forwardOut('127.0.0.1', 0, '127.0.0.1', f.guestPort, (err, channel) => {
        if (err) return socket.destroy();
        socket.pipe(channel).pipe(socket);
        socket.on('error', () => channel.close());
        channel.on('error', () => socket.destroy());
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) =>
        reject(
          new MachineError(`Cannot forward 127.0.0.1:${f.hostPort}: ${(err as Error).message}`, {
            fix: 'the port is in use on this host; publish another one',
          }),
        ),
      );
      server.listen(f.hostPort, '127.0.0.1', () => resolve());
    });
    this.servers.set(f.hostPort, server);
  }

  async removeForward(f: Forward): Promise<void> {
    const server = this.servers.get(f.hostPort);
    this.servers.delete(f.hostPort);
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }
}
