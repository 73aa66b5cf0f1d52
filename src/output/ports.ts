import type { PortsResult } from '../commands/ports.js';
import { tabwrite } from './tabwriter.js';

export function renderPorts(r: PortsResult): string {
  const lines = ['HOST\tMACHINE\tPROTO\tSTATE'];
  for (const f of r.forwards) lines.push(`127.0.0.1:${f.hostPort}\t${f.guestPort}\t${f.proto}\tforwarded (${f.containers.join(', ')})`);
  for (const f of r.failures) lines.push(`127.0.0.1:${f.hostPort}\t-\t${f.proto}\tnot forwarded: ${f.reason}`);
  const note = r.forwarder === 'running' ? '' : `Port forwarding is ${r.forwarder} for "${r.name}".\n`;
  return note + tabwrite(lines);
}
