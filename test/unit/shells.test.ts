import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EnvVar, nuString, renderEnv, type Shell } from '../../src/env/shells.js';
import { runShell, shellRuns } from '../helpers/shells.js';

/**
 * Each env output evaluated by the real shell, the way its usage hint line says (bash, zsh, fish,
 * tcsh from Debian; nushell from the npm registry's "nushell" package), and the resulting
 * environment read back with `env -0`. PowerShell, cmd and emacs are checked against
 * docker-machine's fixtures in env.test.ts (pwsh is in neither Debian 12 nor the npm registry).
 */

const REALISTIC: EnvVar[] = [
  { name: 'DOCKER_TLS_VERIFY', value: '1' },
  { name: 'DOCKER_HOST', value: 'tcp://127.0.0.1:50123' },
  { name: 'DOCKER_CERT_PATH', value: 'C:\\Users\\John Smith\\.docker\\machine\\machines\\default' },
  { name: 'DOCKER_MACHINE_NAME', value: 'default' },
  { name: 'COMPOSE_CONVERT_WINDOWS_PATHS', value: 'true' },
  { name: 'NO_PROXY', value: 'localhost,127.0.0.1,.corp.example' },
];

/** Everything a shell could act on inside a value. */
const NASTY: EnvVar[] = [
  { name: 'M_QUOTES', value: `it's "quoted"` },
  { name: 'M_DOLLAR', value: '$HOME and ${PATH} and $(id) and `id`' },
  { name: 'M_BACKSLASH', value: 'C:\\Users\\me\\ end\\' },
  { name: 'M_BANG', value: 'hello!world !! !$' },
  { name: 'M_GLOB', value: '* ? [a-z] ~ ;|&<> #x' },
  { name: 'M_UNICODE', value: 'Zoë ✓ 日本' },
  { name: 'M_EMPTY', value: '' },
];

const expected = (vars: EnvVar[]) => Object.fromEntries(vars.map((v) => [v.name, v.value]));

let dir: string;
beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'shells-'));
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

async function evalIn(shell: keyof ReturnType<typeof shellRuns>, syntax: Shell, vars: EnvVar[], preset: Record<string, string> = {}) {
  const run = shellRuns()[shell];
  const file = path.join(dir, `${shell}-${Math.random().toString(36).slice(2)}.txt`);
  await fs.writeFile(file, renderEnv(syntax, vars, `machine env --shell ${shell}`));
  const res = await runShell(
    run.bin!,
    run.args(
      file,
      vars.every((v) => v.value === undefined),
    ),
    preset,
  );
  expect(res.exitCode, res.stderr).toBe(0);
  return res;
}

const cases: [keyof ReturnType<typeof shellRuns>, Shell][] = [
  ['bash', 'bash'],
  ['zsh', 'bash'],
  ['fish', 'fish'],
  ['tcsh', 'tcsh'],
  ['nushell', 'nushell'],
];

describe('env output evaluated by the real shells', () => {
  for (const [shell, syntax] of cases) {
    const available = Boolean(shellRuns()[shell].bin);
    describe.skipIf(!available)(`${shell}${available ? '' : ' (not installed: skipped)'}`, () => {
      it('sets what machine env says, Windows paths with spaces included', async () => {
        const { vars } = await evalIn(shell, syntax, REALISTIC);
        expect(vars).toMatchObject(expected(REALISTIC));
      });

      it('keeps quotes, dollars, backticks, backslashes, bangs, globs and unicode literal', async () => {
        // The hints' unquoted forms (bash/zsh `eval $(...)`, csh ``eval `...` ``) split and expand the
        // words before eval sees them; the quoted forms are exact.
        const run = shellRuns()[shell];
        const file = path.join(dir, `${shell}-nasty.txt`);
        await fs.writeFile(file, renderEnv(syntax, NASTY, 'machine env'));
        const args =
          shell === 'bash' || shell === 'zsh'
            ? [shell === 'bash' ? '--norc' : '-f', '-c', `eval "$(cat '${file}')"; env -0`]
            : shell === 'tcsh'
              ? ['-f', '-c', `eval "\`cat '${file}'\`"; env -0`]
              : run.args(file);
        const res = await runShell(run.bin!, args, {});
        expect(res.exitCode, res.stderr).toBe(0);
        expect(res.vars).toMatchObject(expected(NASTY));
      });

      it('unsets them again (-u), NO_PROXY included', async () => {
        const preset = Object.fromEntries(REALISTIC.map((v) => [v.name, v.value!]));
        const { vars } = await evalIn(
          shell,
          syntax,
          REALISTIC.map((v) => ({ name: v.name })),
          preset,
        );
        for (const v of REALISTIC) expect(vars, v.name).not.toHaveProperty(v.name);
      });
    });
  }
});

describe('nushell output', () => {
  it('is a NUON record to load-env, or a list of names to hide-env, with the hint saying so', () => {
    expect(renderEnv('nushell', [{ name: 'DOCKER_HOST', value: 'tcp://1.2.3.4:2376' }], 'machine env --shell nushell default')).toBe(
      '{\n  DOCKER_HOST: "tcp://1.2.3.4:2376"\n}\n# Run this command to configure your shell: \n# machine env --shell nushell default | from nuon | load-env\n',
    );
    expect(renderEnv('nushell', [{ name: 'DOCKER_HOST' }], 'machine env -u --shell nushell')).toBe(
      '[\n  "DOCKER_HOST"\n]\n# Run this command to configure your shell: \n# machine env -u --shell nushell | from nuon | hide-env --ignore-errors ...$in\n',
    );
    expect(nuString('a"b\\c\nd\u0001')).toBe('"a\\"b\\\\c\\nd\\u{1}"');
  });
});

describe('tcsh and csh', () => {
  it("keeps docker-machine's form for plain values and quotes the rest safely", () => {
    expect(renderEnv('tcsh', [{ name: 'A', value: 'C:\\Users\\me' }], 'm')).toContain('setenv A "C:\\Users\\me";\n');
    expect(renderEnv('tcsh', [{ name: 'A', value: `it's $x!` }], 'm')).toContain(`setenv A 'it'"'"'s $x'\\!'';\n`);
  });
});
