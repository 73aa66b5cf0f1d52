import type { BaseDriverConfig } from '../store/config.js';
import type { Report } from './driver.js';
import { freePort, portIsFree } from '../core/ports.js';

/**
 * The 127.0.0.1 ports forwarded to the guest's sshd and dockerd: the saved ones when they are free
 * (so DOCKER_HOST stays the same), new ones otherwise, said in a progress line.
 */
export async function chooseForwardPorts(config: { SSHPort: number; DockerPort?: number }, report: Report): Promise<void> {
  for (const key of ['SSHPort', 'DockerPort'] as const) {
    const port = config[key];
    if (port && (await portIsFree(port))) continue;
    const next = await freePort();
    if (port) report(`Port ${port} is in use, using ${next} for ${key === 'SSHPort' ? 'SSH' : 'Docker'}`);
    config[key] = next;
  }
}

/** The 127.0.0.1 ports a driver that forwards ports saved for SSH and Docker (none yet before its first start). */
export function savedForwardPorts(config: BaseDriverConfig): { what: 'SSH' | 'Docker'; port: number }[] {
  const ports = [
    { what: 'SSH' as const, port: config.SSHPort },
    { what: 'Docker' as const, port: config.DockerPort },
  ];
  return ports.filter((p): p is { what: 'SSH' | 'Docker'; port: number } => typeof p.port === 'number' && p.port > 0);
}
