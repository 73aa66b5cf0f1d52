export type Shell = 'bash' | 'fish' | 'powershell' | 'pwsh' | 'cmd' | 'tcsh' | 'emacs' | 'nushell';
export const SHELLS: Shell[] = ['bash', 'fish', 'powershell', 'pwsh', 'cmd', 'tcsh', 'emacs', 'nushell'];

export interface EnvVar {
  name: string;
  /** Absent: unset it. */
  value?: string;
}

interface Syntax {
  set: (name: string, value: string) => string;
  unset: (name: string) => string;
  hint: (commandLine: string) => string;
}

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

/**
 * docker-machine's env templates (commands/env.go), byte for byte where it had a format. Unlike
 * docker-machine, values are escaped for the shell, so a path with a quote or "$" survives
 * (typical values need no escaping and come out identical).
 */
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
    set: (n, v) => `$Env:${n} = "${v.replace(/[`"$]/g, '`$&')}"\n`,
    unset: (n) => `Remove-Item Env:\\\\${n}\n`,
    hint: (c) => `# ${HINT}\n# & ${c} | Invoke-Expression\n`,
  },
  pwsh: {
    set: (n, v) => `$Env:${n} = "${v.replace(/[`"$]/g, '`$&')}"\n`,
    unset: (n) => `Remove-Item Env:\\\\${n}\n`,
    hint: (c) => `# ${HINT}\n# & ${c} | Invoke-Expression\n`,
  },
  cmd: {
    set: (n, v) => `SET ${n}=${v}\n`,
    unset: (n) => `SET ${n}=\n`,
    hint: (c) => `REM ${HINT}\nREM \t@FOR /f "tokens=*" %i IN ('${c}') DO @%i\n`,
  },
  tcsh: {
    set: (n, v) => `setenv ${n} "${v.replace(/"/g, '"\\""').replace(/\$/g, '"\\$"')}";\n`,
    unset: (n) => `unsetenv ${n};\n`,
    hint: (c) => `: ${HINT}\n: eval \`${c}\`\n`,
  },
  emacs: {
    set: (n, v) => `(setenv "${n}" "${v.replace(/[\\"]/g, '\\$&')}")\n`,
    unset: (n) => `(setenv "${n}" nil)\n`,
    hint: (c) => `;; ${HINT}\n;; (with-temp-buffer (shell-command "${c.replace(/[\\"]/g, '\\$&')}" (current-buffer)) (eval-buffer))\n`,
  },
  nushell: {
    set: (n, v) => `$env.${n} = ${JSON.stringify(v)}\n`,
    unset: (n) => `hide-env ${n}\n`,
    hint: (c) => `# ${HINT}\n# ${c} | from nuon | load-env  (or: ${c} | save -f machine-env.nu; source machine-env.nu)\n`,
  },
};

export function renderEnv(shell: Shell, vars: EnvVar[], commandLine: string): string {
  const s = SYNTAX[shell];
  return vars.map((v) => (v.value === undefined ? s.unset(v.name) : s.set(v.name, v.value))).join('') + s.hint(commandLine);
}

/** Map a shell program name to its syntax; everything unknown is POSIX sh. */
export function shellFromName(name: string): Shell {
  const base = (name.split(/[\\/]/).pop() ?? name).toLowerCase().replace(/\.exe$/, '');
  if (base === 'fish') return 'fish';
  if (base === 'tcsh' || base === 'csh') return 'tcsh'; // docker-machine gave csh bash syntax
  if (base === 'powershell') return 'powershell';
  if (base === 'pwsh') return 'pwsh';
  if (base === 'cmd') return 'cmd';
  if (base === 'emacs') return 'emacs';
  if (base === 'nu' || base === 'nushell') return 'nushell';
  return 'bash';
}
