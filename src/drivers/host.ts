/**
 * The host as drivers and doctor ask it (platform, environment, programs, files, interfaces),
 * injectable so other platforms' logic runs in tests. It began as the VirtualBox driver's.
 */
import { type HostEnv, searchPath } from './virtualbox/hostenv.js';

export { type ExecResult, type HostEnv, realHostEnv } from './virtualbox/hostenv.js';

/** A program on PATH, with Windows' .exe. */
export function findProgram(host: HostEnv, name: string): Promise<string | undefined> {
  return searchPath(host, host.platform === 'win32' ? [`${name}.exe`, name] : [name]);
}
