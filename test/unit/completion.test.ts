import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { argKindOf, COMMANDS } from '../../src/cli/commands.js';
import { buildProgram } from '../../src/cli/main.js';
import { completionScript, completionSpec } from '../../src/env/completion.js';
import { machine, ROOT } from '../helpers/cli.js';
import { onPath } from '../helpers/shells.js';
import { Tmux } from '../helpers/tmux.js';

/**
 * Completion scripts loaded into the real shells and asked for completions: bash (COMP_WORDS and
 * the function), fish (complete -C), zsh (typed with Tab under tmux). PowerShell has no shell here:
 * its script is checked for what it must contain.
 */

let dir: string;
let store: string;
const env = () => ({ PATH: `${path.join(ROOT, 'bin')}:${process.env.PATH}`, MACHINE_STORAGE_PATH: store, HOME: dir });
const scripts: Record<string, string> = {};

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'completion-'));
  store = path.join(dir, 'store');
  for (const name of ['default', 'dev-box']) await fs.mkdir(path.join(store, 'machines', name), { recursive: true });
  for (const shell of ['bash', 'zsh', 'fish', 'powershell']) {
    const res = await machine(store, ['completion', shell]);
    expect(res.exitCode, String(res.stderr)).toBe(0);
    scripts[shell] = `${String(res.stdout)}\n`;
    await fs.writeFile(path.join(dir, `machine.${shell}`), scripts[shell]!);
  }
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

/** What bash offers for the words typed so far (the last one being completed). */
async function bashComplete(...words: string[]): Promise<string[]> {
  const script = `source '${path.join(dir, 'machine.bash')}'
COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}
_machine; printf '%s\\n' "\${COMPREPLY[@]}"`;
  const res = await execa('bash', ['--norc', '--noprofile', '-c', script], { env: env(), reject: false });
  expect(res.exitCode, res.stderr).toBe(0);
  return res.stdout.split('\n').filter(Boolean).sort();
}

async function fishComplete(line: string): Promise<string[]> {
  const res = await execa('fish', ['--no-config', '-c', `source '${path.join(dir, 'machine.fish')}'; complete -C '${line}'`], {
    env: env(),
    reject: false,
  });
  expect(res.exitCode, res.stderr).toBe(0);
  return res.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split('\t')[0]!)
    .sort();
}

describe('completion scripts, generated from the CLI itself', () => {
  it('cover every visible command and option', () => {
    const spec = completionSpec(buildProgram(), argKindOf);
    const names = spec.commands.map((c) => c.name);
    expect(names).toEqual(expect.arrayContaining(['create', 'env', 'use', 'doctor', 'completion', 'quickstart', 'ssh', 'scp', 'rm']));
    const env = spec.commands.find((c) => c.name === 'env')!;
    expect(env.options.find((o) => o.long === '--shell')?.value).toEqual({
      choices: expect.arrayContaining(['bash', 'fish', 'pwsh', 'nushell']),
    });
    expect(env.options.some((o) => o.long === '--swarm')).toBe(false); // hidden
    const create = spec.commands.find((c) => c.name === 'create')!;
    expect(create.options.find((o) => o.long === '--driver')?.value).toEqual({ choices: ['virtualbox', 'qemu', 'generic'] });
    expect(() => completionScript(spec, 'tcsh')).toThrow(/no completion for shell "tcsh"/);
  });

  it.skipIf(!onPath('bash'))('bash: commands, options, option values, machine names', async () => {
    expect(await bashComplete('machine', 'cr')).toEqual(['create']);
    expect(await bashComplete('machine', 'env', '--sh')).toEqual(['--shell']);
    expect(await bashComplete('machine', 'env', '--shell', 'p')).toEqual(['powershell', 'pwsh']);
    expect(await bashComplete('machine', 'create', '-d', '')).toEqual(['generic', 'qemu', 'virtualbox']);
    expect(await bashComplete('machine', 'stop', '')).toEqual(['default', 'dev-box']);
    expect(await bashComplete('machine', 'use', 'de')).toEqual(['default', 'dev-box']);
    expect(await bashComplete('machine', 'scp', 'dev')).toEqual(['dev-box:']);
    expect(await bashComplete('machine', 'completion', '')).toEqual(['bash', 'fish', 'powershell', 'zsh']);
    expect(await bashComplete('machine', '-D', 'ls', '--f')).toEqual(['--filter', '--format']);
  });

  it.skipIf(!onPath('bash'))('every command that takes a machine name completes machine names', async () => {
    // create takes the name of a machine that does not exist yet.
    const takesName = COMMANDS.filter((c) => !c.hidden && c.name !== 'create' && (c.args ?? []).some(([syntax]) => /^\[name/.test(syntax)));
    expect(takesName.map((c) => c.name)).toEqual(expect.arrayContaining(['env', 'ports', 'logs', 'ssh', 'start', 'rm', 'version']));
    for (const c of takesName) {
      expect(c.completes, c.name).toBe('machines');
      expect(await bashComplete('machine', c.name, ''), c.name).toEqual(['default', 'dev-box']);
    }
  });

  it.skipIf(!onPath('fish'))('fish: the same, with descriptions', async () => {
    expect(await fishComplete('machine cre')).toEqual(['create']);
    expect(await fishComplete('machine env --shell ')).toEqual(expect.arrayContaining(['bash', 'fish', 'nushell', 'pwsh', 'tcsh']));
    expect(await fishComplete('machine restart ')).toEqual(['default', 'dev-box']);
    expect(await fishComplete('machine doctor --')).toEqual(['--format', '--help']);
    const withDesc = await execa('fish', ['--no-config', '-c', `source '${path.join(dir, 'machine.fish')}'; complete -C 'machine qui'`], {
      env: env(),
    });
    expect(withDesc.stdout).toMatch(/^quickstart\tCreate "default" if missing/);
  });

  it.skipIf(!onPath('zsh') || !onPath('tmux'))(
    'zsh: typed with Tab in a real terminal',
    async () => {
      const t = await Tmux.start('zsh -f', { env: { ...env(), PS1: '%# ' } });
      try {
        await t.send(`autoload -U compinit && compinit -u && source '${path.join(dir, 'machine.zsh')}' && echo READY`);
        await t.waitFor(/^READY$/m);
        await t.send('machine crea', { enter: false });
        await t.keys('Tab');
        await t.waitFor(/machine create\s*$/m, 10_000);
        await t.keys('C-u');
        await t.send('machine env --shell n', { enter: false });
        await t.keys('Tab');
        await t.waitFor(/machine env --shell nushell\s*$/m, 10_000);
        await t.keys('C-u');
        await t.send('machine ssh dev', { enter: false });
        await t.keys('Tab');
        await t.waitFor(/machine ssh dev-box\s*$/m, 10_000);
      } finally {
        await t.kill();
      }
    },
    30_000,
  );

  it('PowerShell: a native argument completer with every command, option and value list', () => {
    const ps = scripts.powershell!;
    expect(ps).toMatch(/^# PowerShell completion for machine\n/);
    expect(ps).toContain("Register-ArgumentCompleter -Native -CommandName @('machine', 'machine.cmd', 'machine.ps1') -ScriptBlock {");
    expect(ps).toContain("'env --shell' = @('bash', 'zsh', 'sh', 'fish', 'powershell', 'pwsh', 'cmd', 'tcsh', 'csh', 'emacs', 'nushell')");
    expect(ps).toContain("'create -d' = @('virtualbox', 'qemu', 'generic')");
    expect(ps).toContain("'use' = 'machines'");
    expect(ps).toContain("'logs' = 'Show a machine''s console output of its last boot'");
    expect(ps).toContain("[System.Management.Automation.CompletionResult]::new($_, $_, 'ParameterValue', $tip)");
    // Balanced braces and parentheses outside strings: the script block parses.
    const code = ps
      .replace(/'(?:[^']|'')*'/g, "''")
      .replace(/"[^"\n]*"/g, '""')
      .replace(/#.*$/gm, '');
    for (const [open, close] of [
      ['{', '}'],
      ['(', ')'],
      ['[', ']'],
    ]) {
      expect(code.split(open).length, open).toBe(code.split(close).length);
    }
  });
});
