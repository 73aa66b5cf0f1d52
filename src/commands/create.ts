import { MachineError } from '../core/errors.js';
import type { FlagValues } from '../drivers/driver.js';
import type { Store } from '../store/store.js';
import { type CreateResult, createMachine } from '../tasks/create.js';
import { type CreateOptions, createRequest } from '../tasks/create-request.js';
import type { Progress } from '../tasks/progress.js';

/** `machine create NAME`: one name, the flags checked, then the create operation. */
export async function create(
  store: Store,
  names: string[],
  opts: CreateOptions,
  driverFlags: FlagValues,
  progress: Progress,
): Promise<CreateResult> {
  if (names.length === 0) throw new MachineError('Error: No machine name specified', { fix: 'usage: machine create [OPTIONS] NAME' });
  if (names.length > 1) throw new MachineError(`Invalid command line. Found extra arguments [${names.slice(1).join(' ')}]`);
  return createMachine(store, createRequest(names[0]!, opts, driverFlags), progress);
}
