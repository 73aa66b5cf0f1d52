import type { DriverDefinition } from '../driver.js';

/** docker-machine's generic driver: an existing host reached over SSH. */
export const genericDefinition: DriverDefinition = {
  name: 'generic',
  description: 'An existing host (boot2docker) reached over SSH',
  flags: [
    { name: 'generic-ip-address', env: 'GENERIC_IP_ADDRESS', type: 'string', arg: '<ip>', description: 'IP Address of machine' },
    { name: 'generic-ssh-port', env: 'GENERIC_SSH_PORT', type: 'int', default: 22, arg: '<port>', description: 'SSH port' },
    { name: 'generic-ssh-user', env: 'GENERIC_SSH_USER', type: 'string', default: 'root', arg: '<user>', description: 'SSH user' },
    {
      name: 'generic-ssh-key',
      env: 'GENERIC_SSH_KEY',
      type: 'string',
      arg: '<path>',
      description: 'SSH private key path (if not provided, default SSH key will be used)',
    },
    {
      name: 'generic-engine-port',
      env: 'GENERIC_ENGINE_PORT',
      type: 'int',
      default: 2376,
      arg: '<port>',
      description: 'Docker engine port',
    },
  ],
  // An existing host: its own business, none of it is ours to boot, forward, share, set the clock of or trim.
  features: { bootsIso: false, forwardsPorts: false, syncsClock: false, trimsDisk: false },
  load: () => import('./index.js'),
  shares: async () => [],
};
