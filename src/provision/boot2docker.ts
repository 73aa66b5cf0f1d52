import path from 'node:path';
import { createHash } from 'node:crypto';
import { MachineError } from '../core/errors.js';
import { shQuote } from '../core/quote.js';
import type { GuestMount, Report } from '../drivers/driver.js';
import type { SshSession } from '../ssh/client.js';
import { B2D_DIR, REMOTE } from './profile.js';

/** What a boot2docker VM must hold for its daemon to serve our clients. */
export interface ProvisionSpec {
  hostname: string;
  profile: string;
  caCertPem: string;
  serverCertPem: string;
  serverKeyPem: string;
  /** Host folders to mount (re-mounted at every start). */
  mounts?: GuestMount[];
  /** Extra CA certificates the daemon must trust (corporate proxies): PEM bundle. */
  extraCaPem?: string;
}

export interface ProvisionResult {
  /** Files written (remote paths); empty when the VM already had everything. */
  written: string[];
  /** True when dockerd was (re)started. */
  restarted: boolean;
  /** Shared folders that were not mounted and now are (guest paths). */
  mounted: string[];
}

export interface OsRelease {
  [key: string]: string;
}

export function parseOsRelease(text: string): OsRelease {
  const out: OsRelease = {};
  for (const line of text.split('\n')) {
    const parts = line.split('=');
    if (parts.length !== 2) continue; // docker-machine's rule: exactly one "="
    out[parts[0]!.trim()] = parts[1]!.trim().replace(/^"(.*)"$/, '$1');
  }
  return out;
}

/** docker-machine's provisioner detection: /etc/os-release with ID=boot2docker. */
export async function detectBoot2docker(ssh: SshSession): Promise<OsRelease> {
  const release = parseOsRelease(await ssh.check('cat /etc/os-release', { what: 'Reading /etc/os-release' }));
  if (release.ID !== 'boot2docker') {
    throw new MachineError(`Error detecting OS: OS type not recognized (ID=${release.ID ?? 'unknown'})`, {
      fix: 'machine provisions boot2docker guests: use the boot2docker ISO',
    });
  }
  return release;
}

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

/**
 * Provision a boot2docker VM idempotently: compare what is there with what must be, write only
 * what differs, and restart dockerd only if something it reads changed or it is not running.
 * A VM booted from our ISO with a preseed already has everything: nothing is written, no restart.
 * One SSH connection carries every step.
 */
export async function provisionBoot2docker(ssh: SshSession, spec: ProvisionSpec, report: Report): Promise<ProvisionResult> {
  const files: { path: string; content: string; mode: string }[] = [
    { path: REMOTE.caCert, content: spec.caCertPem, mode: '0644' },
    { path: REMOTE.serverCert, content: spec.serverCertPem, mode: '0644' },
    { path: REMOTE.serverKey, content: spec.serverKeyPem, mode: '0600' },
    { path: REMOTE.profile, content: spec.profile, mode: '0644' },
  ];
  // boot2docker appends /var/lib/boot2docker/certs/* to the system bundle at boot; we also do it now.
  if (spec.extraCaPem) files.push({ path: REMOTE.hostCa, content: spec.extraCaPem, mode: '0644' });
  const hostnameLine = `${spec.hostname}\n`;

  // One round trip for the current state: hostname, hostname file, file hashes, docker status.
  const probe = [
    'hostname',
    `sudo cat ${REMOTE.hostname} 2>/dev/null | head -n1`,
    ...files.map((f) => `sudo cat ${f.path} 2>/dev/null | sha256sum | cut -d' ' -f1`),
    'sudo /etc/init.d/docker status >/dev/null 2>&1 && echo running || echo stopped',
  ].join('; echo "#-#"; ');
  const parts = (await ssh.check(probe, { what: 'Inspecting the VM' })).split('#-#\n').map((p) => p.trim());
  const [currentHostname, savedHostname, ...rest] = parts;
  const dockerStatus = rest.pop();
  const written: string[] = [];

  if (currentHostname !== spec.hostname || savedHostname !== spec.hostname) {
    report(`Setting hostname "${spec.hostname}"`);
    await ssh.check(
      `sudo /usr/bin/sethostname ${shQuote(spec.hostname)} && sudo mkdir -p ${B2D_DIR}/etc && sudo tee ${REMOTE.hostname} >/dev/null`,
      {
        stdin: hostnameLine,
        what: 'Setting the hostname',
      },
    );
    written.push(REMOTE.hostname);
  }

  const changed = files.filter((f, i) => rest[i] !== sha(f.content));
  if (changed.length) report(`Writing ${changed.map((f) => f.path.slice(B2D_DIR.length + 1)).join(', ')}`);
  for (const f of changed) {
    // Through stdin, never through the command line: nothing is interpreted by a shell.
    await ssh.check(
      `sudo mkdir -p ${path.posix.dirname(f.path)} && sudo sh -c 'umask 077; cat > ${f.path}.new && chmod ${f.mode} ${f.path}.new && mv ${f.path}.new ${f.path}'`,
      {
        stdin: f.content,
        what: `Writing ${f.path}`,
      },
    );
    written.push(f.path);
  }

  if (changed.some((f) => f.path === REMOTE.hostCa)) {
    report("Adding the host CA certificates to the VM's trust store");
    await ssh.check(`sudo sh -c 'cat ${REMOTE.hostCa} >> /etc/ssl/certs/ca-certificates.crt'`, { what: 'Adding CA certificates' });
  }
  const mounted = spec.mounts?.length ? await mountShares(ssh, spec.mounts, report) : [];

  const profileChanged = changed.some((f) => f.path === REMOTE.profile);
  // Nothing changed but dockerd is not running: it may still be starting (first boot); give it a
  // moment before starting it ourselves.
  const running = dockerStatus === 'running' || (changed.length === 0 && (await dockerComesUp(ssh)));
  const mustRestart = changed.length > 0 || !running;
  if (mustRestart) {
    report(running ? 'Restarting Docker' : 'Starting Docker');
    // docker-machine deleted docker0 between stop and start so bridge options in a new profile apply.
    const bridge = profileChanged ? 'if ip link show docker0 >/dev/null 2>&1; then sudo ip link delete docker0; fi; ' : '';
    await ssh.check(`sudo /etc/init.d/docker stop >/dev/null 2>&1; ${bridge}sudo /etc/init.d/docker start`, { what: 'Starting Docker' });
  }
  return { written, restarted: mustRestart, mounted };
}

/** Mount host folders (9p or VirtualBox shared folders) where they belong, if not mounted yet; returns those mounted now. */
async function mountShares(ssh: SshSession, mounts: GuestMount[], report: Report): Promise<string[]> {
  // /proc/mounts lists resolved paths: /tmp/x is mounted at /mnt/sda1/tmp/x (/tmp is a symlink).
  const resolve = mounts.map((m) => `readlink -f ${shQuote(m.target)} 2>/dev/null || echo ${shQuote(m.target)}`).join('; ');
  const [procMounts = '', resolved = ''] = (
    await ssh.check(`cat /proc/mounts; echo '#-#'; ${resolve}`, { what: 'Reading /proc/mounts' })
  ).split('#-#\n');
  const mounted = mountPoints(procMounts);
  const real = resolved.split('\n');
  const missing = mounts.filter((m, i) => !mounted.has(m.target) && !mounted.has(real[i] ?? m.target));
  if (!missing.length) return [];
  const lines = missing.map((m) => {
    const opts = m.type === '9p' ? 'trans=virtio,version=9p2000.L,msize=262144' : 'uid=$(id -u docker),gid=$(id -g docker)';
    return `sudo mkdir -p ${shQuote(m.target)} && sudo mount -t ${m.type} -o ${opts} ${shQuote(m.source)} ${shQuote(m.target)}`;
  });
  const res = await ssh.run(lines.join(' && '));
  if (res.code !== 0) {
    throw new MachineError(`Mounting the shared folders failed: ${(res.stderr || res.stdout).trim().split('\n').pop()}`, {
      fix: 'check that the folders exist on the host, or create the machine with --qemu-no-share / --virtualbox-no-share',
    });
  }
  report(`Mounted ${missing.map((m) => m.target).join(', ')}`);
  return missing.map((m) => m.target);
}

/** Mount points listed in /proc/mounts (which writes a space as \040). */
export function mountPoints(procMounts: string): Set<string> {
  return new Set(
    procMounts
      .split('\n')
      .map((l) => l.split(' ')[1])
      .filter((p): p is string => Boolean(p))
      .map((p) => p.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)))),
  );
}

/** Poll /etc/init.d/docker status for up to 30 s: true once dockerd runs. */
async function dockerComesUp(ssh: SshSession): Promise<boolean> {
  const res = await ssh.run('for i in $(seq 60); do sudo /etc/init.d/docker status >/dev/null 2>&1 && exit 0; sleep 0.5; done; exit 1');
  return res.code === 0;
}
