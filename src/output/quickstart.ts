import type { QuickstartResult } from '../tasks/quickstart.js';

// Docker Toolbox's banner (windows/start.sh, osx start.sh), exactly.
const WHALE = `
                        ##         .
                  ## ## ##        ==
               ## ## ## ## ##    ===
           /"""""""""""""""""\\___/ ===
      ~~~ {~~ ~~~~ ~~~ ~~~~ ~~~ ~ /  ===- ~~~
           \\______ o           __/
             \\    \\         __/
              \\____\\_______/
`;

/** The whale, then how to reach the machine. */
export function renderBanner(r: QuickstartResult, opts: { color?: boolean } = {}): string {
  const blue = (s: string) => (opts.color ? `\x1b[1;34m${s}\x1b[0m` : s);
  const green = (s: string) => (opts.color ? `\x1b[0;32m${s}\x1b[0m` : s);
  return [
    '',
    WHALE,
    `${blue('docker')} is configured to use the ${green(r.name)} machine with IP ${green(r.ip)}`,
    `Docker daemon: ${r.url} (TLS; certificates in ${r.certPath}); published ports are reached at ${r.ip}`,
    r.context
      ? `Every terminal's docker uses it too (docker context "${r.context}"; undo with: machine use --unset). Log into the VM: machine ssh ${r.name}`
      : `Log into the VM: machine ssh ${r.name}; use it from every terminal: machine use ${r.name}`,
    'For help getting started, check out the docs at https://docs.docker.com',
    '',
    '',
  ].join('\n');
}
