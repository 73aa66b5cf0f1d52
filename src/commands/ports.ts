import { readIfExists } from '../core/files.js';
import type { ForwarderState } from '../forward/forwarder.js';
import { stateFile } from '../forward/process.js';
import { forwarderPid } from '../forward/process.js';
import { Host } from '../host/host.js';
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
