import { readIfExists } from '../core/files.js';
import type { ForwarderState } from '../forward/forwarder.js';
import { stateFile } from '../forward/process.js';
import { forwarderPid } from '../forward/process.js';
import { Machine } from '../machine/machine.js';
import type { Store } from '../store/store.js';

export interface PortsResult {
  name: string;
  forwarder: 'running' | 'stopped' | 'disabled';
  forwards: ForwarderState['forwards'];
  failures: ForwarderState['failures'];
}

/** `machine ports`: what the forwarder forwards now, and what it could not. */
export async function ports(store: Store, name: string): Promise<PortsResult> {
  const machine = await Machine.load(store, name);
  const pid = await forwarderPid(machine);
  const text = pid ? await readIfExists(stateFile(machine)) : undefined;
  const state = text ? (JSON.parse(text) as ForwarderState) : { forwards: [], failures: [] };
  return {
    name,
    forwarder: machine.config.HostOptions.NoPortForward ? 'disabled' : pid ? 'running' : 'stopped',
    forwards: state.forwards,
    failures: state.failures,
  };
}
