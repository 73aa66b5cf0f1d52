import { MachineError } from '../../core/errors.js';

// Filled in by the generic-driver work (issue 6); until then the driver refuses clearly.
export async function configFromFlags(): Promise<never> {
  throw new MachineError('The generic driver is not available yet in this build');
}
export function load(): never {
  throw new MachineError('The generic driver is not available yet in this build');
}
