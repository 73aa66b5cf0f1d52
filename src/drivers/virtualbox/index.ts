import { MachineError } from '../../core/errors.js';

// Filled in by the VirtualBox driver work (issue 4); until then the driver refuses clearly.
export async function configFromFlags(): Promise<never> {
  throw new MachineError('The VirtualBox driver is not available yet in this build');
}
export function load(): never {
  throw new MachineError('The VirtualBox driver is not available yet in this build');
}
