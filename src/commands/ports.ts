import { readIfExists } from '../core/files.js';
import { type ForwarderState, stateFile } from '../forward/forwarder.js';
import { forwarderPid } from '../forward/process.js';
import { Host } from '../host/host.js';
import { tabwrite } from '../output/tabwriter.js';
import type { Store } from '../store/store.js';

export interface PortsResult {
  name: string;
  forwarder: 'running' | 'stopped' | 'disabled';
  forwards: ForwarderState['forwards'];
  failures: ForwarderState['failures'];
}

/** `machine ports`: what the forwarder forwards now, and what it could not. */
export async function ports(store: Store, name: string): Promise<PortsResult> {
  const host = await Host.load(store, name);
  const pid = await forwarderPid(host);
  const text = pid ? await readIfExists(stateFile(host)) : undefined;
  const state = text ? (JSON.parse(text) as ForwarderState) : { forwards: [], failures: [] };
  return {
    name,
    forwarder: host.config.HostOptions.NoPortForward ? 'disabled' : pid ? 'running' : 'stopped',
    forwards: state.forwards,
    failures: state.failures,
  };
}

export function renderPorts(r: PortsResult): string {
  const lines = ['HOST\tMACHINE\tPROTO\tSTATE'];
  for (const f of r.forwards) lines.push(`127.0.0.1:${f.hostPort}\t${f.guestPort}\t${f.proto}\tforwarded (${f.containers.join(', ')})`);
  for (const f of r.failures) lines.push(`127.0.0.1:${f.hostPort}\t-\t${f.proto}\tnot forwarded: ${f.reason}`);
  const note = r.forwarder === 'running' ? '' : `Port forwarding is ${r.forwarder} for "${r.name}".\n`;
  return note + tabwrite(lines);
}
