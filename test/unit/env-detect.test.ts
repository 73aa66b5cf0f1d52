import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { env, withNoProxy } from '../../src/commands/env.js';
import { parseShare } from '../../src/drivers/shares.js';
import { detectShell, type ShellSystem, UNIX_NOTICE, WINDOWS_NOTICE } from '../../src/env/detect.js';
import { hostToVmPath, windowsToUnixPath } from '../../src/env/paths.js';
import { parsePsTable, parseWindowsProbe, type ProcessInfo, realAncestors, windowsProbe } from '../../src/env/process-tree.js';
import { Store } from '../../src/store/store.js';
import { machine, tempStore, writeMachineConfig } from '../helpers/cli.js';

/** A host with a made-up process tree: [parent, grandparent, ...]. */
function host(platform: NodeJS.Platform, envVars: NodeJS.ProcessEnv, chain: [string, string?][] | Error): ShellSystem {
  return {
    platform,
    env: envVars,
    ppid: 100,
    ancestors: async (pid, depth) => {
      if (chain instanceof Error) throw chain;
      return chain
        .slice(0, depth)
        .map(([name, commandLine], i): ProcessInfo => ({ pid: pid + i, ppid: pid + i + 1, name, commandLine: commandLine ?? name }));
    },
  };
}

describe('shell detection on Windows (parent process, as docker-machine did, plus pwsh and npm shims)', () => {
  const win = (chain: [string, string?][] | Error, envVars: NodeJS.ProcessEnv = {}) => detectShell(host('win32', envVars, chain));

  it('PowerShell 5 and PowerShell 7 (pwsh, which docker-machine missed)', async () => {
    expect((await win([['powershell.exe']])).shell).toBe('powershell');
    expect((await win([['pwsh.exe']])).shell).toBe('pwsh');
  });

  it("looks past node and the 'cmd /c' of npm's machine.cmd shim to the shell that ran it", async () => {
    const shim = 'C:\\WINDOWS\\system32\\cmd.exe /d /s /c ""C:\\Users\\me\\AppData\\Roaming\\npm\\machine.cmd" env"';
    expect(await win([['cmd.exe', shim], ['pwsh.exe']])).toMatchObject({ shell: 'pwsh', source: 'parent process pwsh.exe' });
    expect((await win([['node.exe'], ['cmd.exe', shim], ['powershell.exe']])).shell).toBe('powershell');
  });

  it('cmd: interactive, and the child FOR /f starts', async () => {
    expect((await win([['cmd.exe', '"C:\\WINDOWS\\system32\\cmd.exe" ']])).shell).toBe('cmd');
    const forChild = 'C:\\WINDOWS\\system32\\cmd.exe /c machine env';
    expect(
      (
        await win([
          ['cmd.exe', forChild],
          ['cmd.exe', 'cmd.exe'],
        ])
      ).shell,
    ).toBe('cmd');
    expect((await win([['cmd.exe', forChild], ['explorer.exe']])).shell).toBe('cmd');
  });

  it('nushell on Windows', async () => {
    expect((await win([['nu.exe']])).shell).toBe('nushell');
  });

  it('Git Bash / MSYS: $SHELL wins; fish when __fish_bin_dir is set', async () => {
    expect(await win([['pwsh.exe']], { SHELL: '/usr/bin/bash' })).toMatchObject({ shell: 'bash', source: '$SHELL' });
    expect((await win([], { SHELL: '/usr/bin/bash.exe', __fish_bin_dir: 'C:\\fish\\bin' })).shell).toBe('fish');
  });

  it("nothing recognised, or no process table: cmd with docker-machine's notice", async () => {
    expect(await win([['explorer.exe']])).toMatchObject({ shell: 'cmd', notice: WINDOWS_NOTICE });
    expect(await win(new Error('Access denied'))).toMatchObject({ shell: 'cmd', notice: WINDOWS_NOTICE });
  });
});

describe('shell detection on macOS and Linux', () => {
  const unix = (platform: NodeJS.Platform, chain: [string, string?][], envVars: NodeJS.ProcessEnv = {}) =>
    detectShell(host(platform, envVars, chain));

  it('the parent shell wins over $SHELL (a fish or tcsh user whose login shell is bash)', async () => {
    expect((await unix('darwin', [['fish']], { SHELL: '/bin/zsh' })).shell).toBe('fish');
    expect((await unix('linux', [['tcsh']], { SHELL: '/bin/bash' })).shell).toBe('tcsh');
    expect((await unix('darwin', [['-zsh']], { SHELL: '/usr/local/bin/fish' })).shell).toBe('bash');
    expect((await unix('linux', [['sudo'], ['nu']], { SHELL: '/bin/bash' })).shell).toBe('nushell');
  });

  it('csh gets csh syntax (docker-machine gave it bash syntax), pwsh on macOS gets PowerShell syntax', async () => {
    expect((await unix('darwin', [['csh']])).shell).toBe('tcsh');
    expect((await unix('darwin', [['node']], { SHELL: '/bin/csh' })).shell).toBe('tcsh');
    expect((await unix('darwin', [['pwsh']], { SHELL: '/bin/zsh' })).shell).toBe('pwsh');
  });

  it('a parent that is no shell: $SHELL, else sh syntax with a notice on stderr', async () => {
    expect(await unix('linux', [['node'], ['bash']], { SHELL: '/usr/bin/fish' })).toMatchObject({ shell: 'fish', source: '$SHELL' });
    expect(await unix('linux', [['tmux: server']], {})).toMatchObject({ shell: 'bash', notice: UNIX_NOTICE });
  });

  it('--shell wins and is checked', async () => {
    expect((await detectShell(host('win32', {}, [['cmd.exe']]), 'zsh')).shell).toBe('bash');
    expect((await detectShell(host('linux', {}, []), 'nu')).shell).toBe('nushell');
    await expect(detectShell(host('linux', {}, []), 'fsh')).rejects.toThrow(/^Error: Unknown shell "fsh"/);
  });
});

describe('process tables', () => {
  it('parses ps and the PowerShell probe', () => {
    const ps = parsePsTable('  1     0 /sbin/launchd\n 501   1 -zsh\n 777 501 node\n');
    expect(ps.get(501)).toEqual({ pid: 501, ppid: 1, name: '-zsh', commandLine: '' });
    const win = parseWindowsProbe(
      '4242\t100\tnode.exe\tnode machine env\r\n100\t7\tpwsh.exe\t"C:\\Program Files\\PowerShell\\7\\pwsh.exe"\r\n',
    );
    expect(win.map((p) => [p.pid, p.ppid, p.name])).toEqual([
      [4242, 100, 'node.exe'],
      [100, 7, 'pwsh.exe'],
    ]);
    expect(windowsProbe(100, 6)).toContain('Get-CimInstance Win32_Process -Filter "ProcessId=$p"');
  });

  it('reads the real chain on Linux', async () => {
    const chain = await realAncestors('linux')(process.pid, 2);
    expect(chain[0]).toMatchObject({ pid: process.pid, ppid: process.ppid });
    expect(chain[1]?.pid).toBe(process.ppid);
  });
});

describe('machine env without a machine', () => {
  let root: string;
  beforeAll(async () => {
    root = await tempStore();
  });
  afterAll(async () => {
    await fs.rm(root, { recursive: true, force: true });
  });

  it('-u on Windows also unsets COMPOSE_CONVERT_WINDOWS_PATHS; --no-proxy unsets the variable, not "NO_PROXY<value>"', async () => {
    const r = await env(
      new Store(root),
      [],
      { unset: true, noProxy: true },
      () => undefined,
      host('win32', { NO_PROXY: 'localhost,10.0.0.1' }, [['pwsh.exe']]),
    );
    expect(r.shell).toBe('pwsh');
    expect(r.vars.map((v) => [v.name, v.value])).toEqual([
      ['DOCKER_TLS_VERIFY', undefined],
      ['DOCKER_HOST', undefined],
      ['DOCKER_CERT_PATH', undefined],
      ['DOCKER_MACHINE_NAME', undefined],
      ['COMPOSE_CONVERT_WINDOWS_PATHS', undefined],
      ['NO_PROXY', undefined],
    ]);
  });

  it('NO_PROXY gets the address unless one of its entries is it (docker-machine matched substrings)', () => {
    expect(withNoProxy('', '192.168.99.10')).toBe('192.168.99.10');
    expect(withNoProxy('localhost,192.168.99.100', '192.168.99.10')).toBe('localhost,192.168.99.100,192.168.99.10');
    expect(withNoProxy('localhost, 192.168.99.10', '192.168.99.10')).toBe('localhost, 192.168.99.10');
  });

  it('the real CLI: usage hints name the command as typed; --swarm and unknown shells are refused in one line', async () => {
    const fish = await machine(root, ['env', '-u', '--shell', 'fish']);
    expect(String(fish.stdout)).toMatch(/# eval \(.*machine env -u --shell fish\)$/);
    const nu = await machine(root, ['env', '-u', '--shell', 'nushell']);
    expect(String(nu.stdout)).toMatch(
      /^\[\n {2}"DOCKER_TLS_VERIFY"\n[\s\S]*# .*machine env -u --shell nushell \| from nuon \| hide-env --ignore-errors \.\.\.\$in$/,
    );
    const ps = await machine(root, ['env', '-u', '--no-proxy', '--shell', 'pwsh'], { env: { NO_PROXY: 'localhost' } });
    expect(String(ps.stdout)).toContain('Remove-Item Env:\\\\NO_PROXY\n# Run this command to configure your shell: \n# & ');
    const swarm = await machine(root, ['env', '--swarm', 'default']);
    expect([swarm.exitCode, String(swarm.stderr).trim()]).toEqual([
      1,
      'Error: --swarm is not supported: classic Swarm was retired by Docker: use "docker swarm" on the machine instead (machine ssh NAME -- docker swarm init)',
    ]);
    const bad = await machine(root, ['env', '--shell', 'fsh', 'default']);
    expect([bad.exitCode, String(bad.stderr).trim()]).toEqual([
      1,
      expect.stringMatching(/^Error: Unknown shell "fsh": use one of bash, zsh, sh, fish/),
    ]);
    const noShell = await machine(root, ['env', '-u'], { env: { SHELL: '' } });
    expect(String(noShell.stderr)).toContain(UNIX_NOTICE);
    expect(String(noShell.stdout)).toMatch(/^unset DOCKER_TLS_VERIFY\n/);
  });
});

describe('Windows paths for volume mounts', () => {
  it("C:\\Users\\me\\app is /c/Users/me/app (Toolbox's and compose's rule)", () => {
    expect(windowsToUnixPath('C:\\Users\\me\\app')).toBe('/c/Users/me/app');
    expect(windowsToUnixPath('D:/src/x/')).toBe('/d/src/x');
    expect(windowsToUnixPath('\\\\?\\c:\\Users')).toBe('/c/Users');
    expect(windowsToUnixPath('E:\\')).toBe('/e');
  });

  it('--share puts a host folder at the same path, a Windows one at its /c/... path', () => {
    expect(parseShare('/srv/data')).toEqual({ hostPath: '/srv/data', guestPath: '/srv/data' });
    expect(parseShare('/srv/data:/data')).toEqual({ hostPath: '/srv/data', guestPath: '/data' });
    expect(parseShare('C:\\Users\\me\\app').guestPath).toBe('/c/Users/me/app');
    expect(parseShare('D:/src/').guestPath).toBe('/d/src');
    expect(parseShare('C:\\src:/src').guestPath).toBe('/src');
  });

  it('maps through the shares, ignoring case on Windows, and says when a path is outside them', () => {
    const winShares = [{ hostPath: '\\\\?\\c:\\Users', guestPath: '/c/Users' }];
    expect(hostToVmPath('C:\\USERS\\me\\app', winShares, 'win32')).toMatchObject({ path: '/c/Users/me/app' });
    expect(hostToVmPath('app', winShares, 'win32', 'C:\\Users\\me')).toMatchObject({ path: '/c/Users/me/app' });
    expect(hostToVmPath('D:\\work', winShares, 'win32')).toEqual({ path: '/d/work' });
    const linux = [{ hostPath: '/home', guestPath: '/hosthome' }];
    expect(hostToVmPath('/home/me/app/', linux, 'linux')).toMatchObject({ path: '/hosthome/me/app' });
    expect(hostToVmPath('/homework', linux, 'linux')).toEqual({ path: '/homework' });
    expect(hostToVmPath('/Users/me', [{ hostPath: '/Users', guestPath: '/Users' }], 'darwin')).toMatchObject({ path: '/Users/me' });
  });

  it("machine path prints them through the machine's shares (QEMU 9p or VirtualBox), warning outside them", async () => {
    const root = await fs.mkdtemp(path.join(os.tmpdir(), 'path-'));
    try {
      const fake = (name: string, DriverName: string, Driver: Record<string, unknown>) =>
        writeMachineConfig(root, name, DriverName, Driver);
      await fake('q', 'qemu', { Shares: [{ hostPath: '/home', guestPath: '/hosthome' }] });
      await fake('vb', 'virtualbox', { ShareFolder: '/srv:srv', NoShare: false });
      const res = await machine(root, ['path', '-m', 'q', '/home/me/app', '/srv/data']);
      expect(String(res.stdout)).toBe('/hosthome/me/app\n/srv/data');
      expect(String(res.stderr)).toMatch(/^\/srv\/data is outside the folders machine "q" shares \(\/home\)/);
      const vb = await machine(root, ['path', '-m', 'vb', '/srv/data']);
      expect([String(vb.stdout), String(vb.stderr)]).toEqual(['/srv/data', '']);
      const none = await machine(root, ['path', '-m', 'nosuch', '.']);
      expect(none.exitCode).toBe(1);
    } finally {
      await fs.rm(root, { recursive: true, force: true });
    }
  });
});
