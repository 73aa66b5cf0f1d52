/**
 * The syntax families `machine env` writes, byte for byte docker-machine's (commands/env.go) where it
 * had a format. zsh, sh, ksh and dash read the bash form; csh reads the tcsh form (docker-machine gave
 * csh users bash syntax); pwsh reads the PowerShell form (docker-machine gave pwsh users cmd syntax);
 * nushell, which has no `eval`, gets a NUON record that `from nuon | load-env` loads.
 */
export type Shell = 'bash' | 'fish' | 'powershell' | 'pwsh' | 'cmd' | 'tcsh' | 'emacs' | 'nushell';
export const SHELLS: Shell[] = ['bash', 'fish', 'powershell', 'pwsh', 'cmd', 'tcsh', 'emacs', 'nushell'];

/** Every name --shell accepts (and the process names detection knows), with its syntax. */
export const SHELL_NAMES: Record<string, Shell> = {
  bash: 'bash',
  sh: 'bash',
  zsh: 'bash',
  ksh: 'bash',
  mksh: 'bash',
  dash: 'bash',
  ash: 'bash',
  yash: 'bash',
  fish: 'fish',
  powershell: 'powershell',
  pwsh: 'pwsh',
  cmd: 'cmd',
  tcsh: 'tcsh',
  csh: 'tcsh',
  emacs: 'emacs',
  nushell: 'nushell',
  nu: 'nushell',
};

/** What --shell lists in help and errors. */
export const SHELL_CHOICES = ['bash', 'zsh', 'sh', 'fish', 'powershell', 'pwsh', 'cmd', 'tcsh', 'csh', 'emacs', 'nushell'];

export interface EnvVar {
  name: string;
  /** Absent: unset it. */
  value?: string;
}

interface Syntax {
  set: (name: string, value: string) => string;
  unset: (name: string) => string;
  /** How to load this output; `unset` tells whether it is the -u output (only nushell differs). */
  hint: (commandLine: string, unset: boolean) => string;
  /** Text around the lines (nushell's record braces). */
  wrap?: (body: string, unset: boolean) => string;
}

// docker-machine's hint text, trailing space included.
const HINT = 'Run this command to configure your shell: ';

/**
 * Escape for a double-quoted string of sh or fish: quote, dollar (and backtick for sh) always;
 * a backslash only where the shell would read it as an escape, so Windows paths come out exactly
 * as docker-machine printed them ("C:\Users\me" stays as is, and means itself).
 */
function dq(v: string, specials: string): string {
  let out = '';
  for (let i = 0; i < v.length; i++) {
    const c = v[i]!;
    const next = v[i + 1];
    if (specials.includes(c)) out += `\\${c}`;
    else if (c === '\\' && (next === undefined || next === '\\' || specials.includes(next) || next === '\n')) out += '\\\\';
    else out += c;
  }
  return out;
}

/** PowerShell double-quoted string: backtick escapes; PowerShell also takes the typographic quotes as quotes. */
function psq(v: string): string {
  return v.replace(/[`"$\u201c\u201d\u201e]/g, '`$&');
}

/**
 * csh/tcsh: docker-machine's `"value"` when nothing in it means anything inside double quotes; else
 * single-quoted pieces, where only `!` (history) and newlines still need a backslash, and `'` is
 * written as "'".
 */
function cshq(v: string): string {
  if (!/["$`!\n']/.test(v)) return `"${v}"`;
  return `'${v.replace(/'/g, `'"'"'`).replace(/!/g, "'\\!'").replace(/\n/g, '\\\n')}'`;
}

/** A nushell string literal (also valid NUON): JSON-like escapes, and \u{…} for control characters. */
export function nuString(v: string): string {
  let out = '"';
  for (const c of v) {
    const code = c.codePointAt(0)!;
    if (c === '"' || c === '\\') out += `\\${c}`;
    else if (c === '\n') out += '\\n';
    else if (c === '\t') out += '\\t';
    else if (c === '\r') out += '\\r';
    else if (code < 0x20 || code === 0x7f) out += `\\u{${code.toString(16)}}`;
    else out += c;
  }
  return `${out}"`;
}

/** A NUON record key: bare when it is a plain word, quoted otherwise. */
function nuKey(name: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) ? name : nuString(name);
}

const SYNTAX: Record<Shell, Syntax> = {
  bash: {
    set: (n, v) => `export ${n}="${dq(v, '"$`')}"\n`,
    unset: (n) => `unset ${n}\n`,
    hint: (c) => `# ${HINT}\n# eval $(${c})\n`,
  },
  fish: {
    set: (n, v) => `set -gx ${n} "${dq(v, '"$')}";\n`,
    unset: (n) => `set -e ${n};\n`,
    hint: (c) => `# ${HINT}\n# eval (${c})\n`,
  },
  powershell: {
    set: (n, v) => `$Env:${n} = "${psq(v)}"\n`,
    unset: (n) => `Remove-Item Env:\\\\${n}\n`,
    hint: (c) => `# ${HINT}\n# & ${c} | Invoke-Expression\n`,
  },
  pwsh: {
    set: (n, v) => `$Env:${n} = "${psq(v)}"\n`,
    unset: (n) => `Remove-Item Env:\\\\${n}\n`,
    hint: (c) => `# ${HINT}\n# & ${c} | Invoke-Expression\n`,
  },
  cmd: {
    // Quoted only when cmd would otherwise act on a character (a user name with "&").
    set: (n, v) => (/[&|<>^]/.test(v) ? `SET "${n}=${v}"\n` : `SET ${n}=${v}\n`),
    unset: (n) => `SET ${n}=\n`,
    hint: (c) => `REM ${HINT}\nREM \t@FOR /f "tokens=*" %i IN ('${c}') DO @%i\n`,
  },
  tcsh: {
    set: (n, v) => `setenv ${n} ${cshq(v)};\n`,
    unset: (n) => `unsetenv ${n};\n`,
    hint: (c) => `: ${HINT}\n: eval \`${c}\`\n`,
  },
  emacs: {
    set: (n, v) => `(setenv "${n}" "${v.replace(/[\\"]/g, '\\$&')}")\n`,
    unset: (n) => `(setenv "${n}" nil)\n`,
    hint: (c) => `;; ${HINT}\n;; (with-temp-buffer (shell-command "${c.replace(/[\\"]/g, '\\$&')}" (current-buffer)) (eval-buffer))\n`,
  },
  // nushell has no eval: a NUON record to `load-env`, or a NUON list of names to `hide-env`.
  nushell: {
    set: (n, v) => `  ${nuKey(n)}: ${nuString(v)}\n`,
    unset: (n) => `  ${nuString(n)}\n`,
    wrap: (body, unset) => (unset ? `[\n${body}]\n` : `{\n${body}}\n`),
    hint: (c, unset) => `# ${HINT}\n# ${c} | from nuon | ${unset ? 'hide-env --ignore-errors ...$in' : 'load-env'}\n`,
  },
};

export function renderEnv(shell: Shell, vars: EnvVar[], commandLine: string): string {
  const s = SYNTAX[shell];
  const unset = vars.length > 0 && vars.every((v) => v.value === undefined);
  const body = vars.map((v) => (v.value === undefined ? s.unset(v.name) : s.set(v.name, v.value))).join('');
  return (s.wrap ? s.wrap(body, unset) : body) + s.hint(commandLine, unset);
}

/** The base name of a program path, lower case, without ".exe" or a login shell's leading "-". */
export function programBase(name: string): string {
  return (name.split(/[\\/]/).pop() ?? name)
    .trim()
    .toLowerCase()
    .replace(/^-/, '')
    .replace(/\.exe$/, '');
}

/** The syntax of a known shell program or --shell name; undefined when unknown. */
export function knownShell(name: string): Shell | undefined {
  const base = programBase(name);
  return Object.prototype.hasOwnProperty.call(SHELL_NAMES, base) ? SHELL_NAMES[base] : undefined;
}

/** Map a shell program name ($SHELL) to its syntax; everything unknown is POSIX sh (docker-machine's rule). */
export function shellFromName(name: string): Shell {
  return knownShell(name) ?? 'bash';
}
