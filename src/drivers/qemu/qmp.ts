import net from 'node:net';

/** A QMP error answer ({"error": {"class", "desc"}}). */
export class QmpError extends Error {}

/**
 * Run QMP commands on a QEMU monitor socket: greeting, qmp_capabilities, then each command in
 * order, returning their "return" values. Asynchronous events in between are skipped.
 */
export function qmp(socketPath: string, commands: { execute: string; arguments?: object }[], timeoutMs = 5000): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const sock = net.createConnection({ path: socketPath });
    const results: unknown[] = [];
    const queue = [{ execute: 'qmp_capabilities' }, ...commands];
    let buffer = '';
    let greeted = false;
    let settled = false;
    const finish = (err?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(results.slice(1));
    };
    const timer = setTimeout(() => finish(new Error(`QMP on ${socketPath} did not answer within ${timeoutMs} ms`)), timeoutMs);
    const sendNext = () => {
      const next = queue[results.length];
      if (next) sock.write(`${JSON.stringify(next)}\n`);
      else finish();
    };
    sock.on('error', (err) => finish(err));
    sock.on('close', () => {
      // quit and system_reset close the socket after answering; that is success.
      if (results.length >= queue.length) finish();
      else if (queue[results.length]?.execute === 'quit') finish();
      else finish(new Error('QEMU closed the monitor connection'));
    });
    sock.on('data', (chunk) => {
      buffer += chunk.toString('utf8');
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl).trim();
        buffer = buffer.slice(nl + 1);
        if (!line) continue;
        const msg = JSON.parse(line) as { QMP?: unknown; event?: string; return?: unknown; error?: { desc: string } };
        if (msg.QMP && !greeted) {
          greeted = true;
          sendNext();
        } else if (msg.event) {
          continue;
        } else if (msg.error) {
          finish(new QmpError(msg.error.desc));
        } else if ('return' in msg) {
          results.push(msg.return);
          sendNext();
        }
      }
    });
  });
}
