import { describe, expect, it } from 'vitest';
import { type EnvVar, renderEnv, type Shell, shellFromName } from '../../src/env/shells.js';
import { cliRun } from '../helpers/fixtures.js';

const SET: EnvVar[] = [
  { name: 'DOCKER_TLS_VERIFY', value: '1' },
  { name: 'DOCKER_HOST', value: 'tcp://192.168.99.100:2376' },
  { name: 'DOCKER_CERT_PATH', value: '/home/alice/store/machines/default' },
  { name: 'DOCKER_MACHINE_NAME', value: 'default' },
];
const UNSET: EnvVar[] = SET.map(({ name }) => ({ name }));

describe('env output is byte-compatible with docker-machine 0.16.2', () => {
  const cases: [string, Shell, EnvVar[], string][] = [
    ['09-env-bash', 'bash', SET, 'docker-machine env default'],
    ['10-env-fish', 'fish', SET, 'docker-machine env --shell fish default'],
    ['11-env-powershell', 'powershell', SET, 'docker-machine env --shell powershell default'],
    ['12-env-cmd', 'cmd', SET, 'docker-machine env --shell cmd default'],
    ['13-env-tcsh', 'tcsh', SET, 'docker-machine env --shell tcsh default'],
    ['14-env-emacs', 'emacs', SET, 'docker-machine env --shell emacs default'],
    [
      '15-env-noproxy',
      'bash',
      [...SET, { name: 'NO_PROXY', value: 'localhost,127.0.0.1,192.168.99.100' }],
      'docker-machine env --no-proxy default',
    ],
    [
      '16-env-noproxy-lower',
      'bash',
      [...SET, { name: 'no_proxy', value: 'localhost,192.168.99.100' }],
      'docker-machine env --no-proxy default',
    ],
    ['17-env-unset', 'bash', UNSET, 'docker-machine env -u'],
    ['18-env-unset-fish', 'fish', UNSET, 'docker-machine env -u --shell fish'],
    ['19-env-unset-ps', 'powershell', UNSET, 'docker-machine env -u --shell powershell'],
    ['20-env-unset-cmd', 'cmd', UNSET, 'docker-machine env -u --shell cmd'],
    ['21-env-unset-tcsh', 'tcsh', UNSET, 'docker-machine env -u --shell tcsh'],
    ['22-env-unset-emacs', 'emacs', UNSET, 'docker-machine env -u --shell emacs'],
  ];
  for (const [run, shell, vars, commandLine] of cases) {
    it(`${run} (${shell})`, () => {
      const { output, rc } = cliRun(run);
      expect(rc).toBe(0);
      expect(renderEnv(shell, vars, commandLine)).toBe(output);
    });
  }

  it('fixes docker-machine\'s "unset NO_PROXY<value>" bug (23-env-unset-noproxy)', () => {
    const { output } = cliRun('23-env-unset-noproxy');
    expect(output).toContain('unset NO_PROXYlocalhost,192.168.99.100\n');
    const ours = renderEnv('bash', [...UNSET, { name: 'NO_PROXY' }], 'docker-machine env -u --no-proxy');
    expect(ours).toBe(output.replace('unset NO_PROXYlocalhost,192.168.99.100', 'unset NO_PROXY'));
  });

  it('keeps Windows paths byte-identical and escapes what a shell would expand', () => {
    const win = [{ name: 'DOCKER_CERT_PATH', value: 'C:\\Users\\alice\\.docker\\machine\\machines\\default' }];
    expect(renderEnv('bash', win, 'm')).toContain('export DOCKER_CERT_PATH="C:\\Users\\alice\\.docker\\machine\\machines\\default"\n');
    expect(renderEnv('cmd', win, 'm')).toContain('SET DOCKER_CERT_PATH=C:\\Users\\alice\\.docker\\machine\\machines\\default\n');
    const odd = [{ name: 'X', value: 'a"b$c`d\\' }];
    expect(renderEnv('bash', odd, 'm')).toContain('export X="a\\"b\\$c\\`d\\\\"\n');
    expect(renderEnv('powershell', odd, 'm')).toContain('$Env:X = "a`"b`$c``d\\"\n');
  });

  it('detects shells, csh included (docker-machine gave csh bash syntax)', () => {
    expect(shellFromName('/bin/bash')).toBe('bash');
    expect(shellFromName('/usr/bin/zsh')).toBe('bash');
    expect(shellFromName('/usr/bin/fish')).toBe('fish');
    expect(shellFromName('/bin/csh')).toBe('tcsh');
    expect(shellFromName('/bin/tcsh')).toBe('tcsh');
    expect(shellFromName('C:\\Program Files\\PowerShell\\7\\pwsh.exe')).toBe('pwsh');
    expect(shellFromName('powershell.exe')).toBe('powershell');
    expect(shellFromName('/usr/bin/nu')).toBe('nushell');
  });
});
