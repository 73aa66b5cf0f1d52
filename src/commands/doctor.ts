import { type DoctorReport, renderDoctor, runDoctor } from '../doctor/index.js';
import type { Store } from '../store/store.js';

export { renderDoctor };

/** `machine doctor [NAME...]`: the report; the CLI renders it (lines or --format json) and exits 1 on a failure. */
export async function doctor(store: Store, names: string[]): Promise<DoctorReport> {
  return runDoctor(store, names);
}
