import https from 'node:https';
import type { DockerEndpoint } from './api.js';

export interface DockerEvent {
  Type: string;
  Action: string;
  Actor: { ID: string; Attributes?: Record<string, string> };
  time: number;
}

/**
 * Follow the daemon's event stream (GET /events, one JSON object per line). Resolves when the
 * stream ends or fails (the daemon or the VM went away); abort it with the signal.
 */
export function followEvents(
  ep: DockerEndpoint,
  filters: Record<string, string[]>,
  onEvent: (e: DockerEvent) => void,
  signal: AbortSignal,
): Promise<void> {
  return new Promise((resolve) => {
    const req = https.get(
      {
        host: ep.host,
        port: ep.port,
        path: `/events?filters=${encodeURIComponent(JSON.stringify(filters))}`,
        ca: ep.tls.ca,
        cert: ep.tls.cert,
        key: ep.tls.key,
        agent: false,
        signal,
      },
      (res) => {
        let buffer = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffer += chunk;
          let nl: number;
          while ((nl = buffer.indexOf('\n')) >= 0) {
            const line = buffer.slice(0, nl).trim();
            buffer = buffer.slice(nl + 1);
            if (line) onEvent(JSON.parse(line) as DockerEvent);
          }
        });
        res.on('end', () => resolve());
        res.on('error', () => resolve());
      },
    );
    req.on('error', () => resolve());
  });
}
