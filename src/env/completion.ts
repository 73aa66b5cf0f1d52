import type { Command, Option } from 'commander';
import { MachineError } from '../core/errors.js';
import { shQuote } from '../core/quote.js';
import { SHELL_CHOICES } from './shells.js';

/**
 * Shell completion scripts for bash, zsh, fish and PowerShell, generated from the CLI's own command
 * tree (so they never drift from it). Machine names come from `machine ls -q` at completion time.
 */

export type ValueKind = 'none' | 'free' | 'files' | 'dirs' | 'machines' | { choices: string[] };
export type ArgKind = 'none' | 'machines' | 'scp' | 'files' | 'shells';

export interface OptSpec {
  short?: string;
  long?: string;
  description: string;
  value: ValueKind;
}

export interface CmdSpec {
  name: string;
  description: string;
  options: OptSpec[];
  args: ArgKind;
}

export interface CompletionSpec {
  program: string;
  global: OptSpec[];
  commands: CmdSpec[];
}

export const COMPLETION_SHELLS = ['bash', 'zsh', 'fish', 'powershell'];

function valueKind(o: Option): ValueKind {
  if (!o.required && !o.optional) return 'none';
  if (o.argChoices?.length) return { choices: o.argChoices };
  if (o.long === '--shell') return { choices: SHELL_CHOICES };
  if (o.long === '--storage-path') return 'dirs';
  if (o.long === '--machine') return 'machines';
  if (/<[^>]*(dir)[^>]*>/i.test(o.flags)) return 'dirs';
  if (/<[^>]*(path|file|pem)[^>]*>/i.test(o.flags) || /boot2docker-url$/.test(o.long ?? '')) return 'files';
  return 'free';
}

function optSpecs(cmd: Command): OptSpec[] {
  const specs: OptSpec[] = (cmd.options as readonly Option[])
    .filter((o) => !o.hidden)
    .map((o) => ({ short: o.short, long: o.long, description: o.description || '', value: valueKind(o) }));
  specs.push({ short: '-h', long: '--help', description: 'display help for command', value: 'none' });
  return specs;
}

/** The completion model of a commander program; argKind says what each command's arguments are. */
export function completionSpec(program: Command, argKind: (command: string) => ArgKind): CompletionSpec {
  return {
    program: program.name(),
    global: optSpecs(program),
    commands: (program.commands as Command[])
      .filter((c) => !(c as unknown as { _hidden?: boolean })._hidden)
      .map((c) => ({ name: c.name(), description: c.description().split('\n')[0] ?? '', options: optSpecs(c), args: argKind(c.name()) })),
  };
}

const flags = (o: OptSpec) => [o.short, o.long].filter((f): f is string => Boolean(f));
const valueFlags = (opts: OptSpec[]) => opts.filter((o) => o.value !== 'none').flatMap(flags);

// ---------------------------------------------------------------------------------------------
// bash (3.2 on macOS too: no associative arrays)

function bash(spec: CompletionSpec): string {
  const p = spec.program;
  const fn = `_${p.replace(/[^A-Za-z0-9_]/g, '_')}`;
  const words = (list: string[]) => list.join(' ');
  const valueCase = (cmd: string, opts: OptSpec[]) =>
    opts
      .filter((o) => o.value !== 'none')
      .map((o) => {
        const pattern = flags(o)
          .map((f) => `"${cmd} ${f}"`)
          .join('|');
        const v = o.value;
        const body =
          typeof v === 'object'
            ? `COMPREPLY=( $(compgen -W "${words(v.choices)}" -- "$cur") )`
            : v === 'machines'
              ? `COMPREPLY=( $(compgen -W "$(${fn}_machines)" -- "$cur") )`
              : v === 'dirs'
                ? 'COMPREPLY=( $(compgen -d -- "$cur") )'
                : v === 'files'
                  ? 'COMPREPLY=( $(compgen -f -- "$cur") )'
                  : 'COMPREPLY=()';
        return `    ${pattern}) ${body}; return 0 ;;`;
      });
  const cmdCases = spec.commands.map((c) => `    ${c.name}) opts="${words(c.options.flatMap(flags))}"; args=${c.args} ;;`);
  const globalValues = valueFlags(spec.global);
  return `# bash completion for ${p}
# Load it: source <(${p} completion bash)          (add that line to ~/.bashrc)
${fn}_machines() {
  command ${p} \${${fn}_store:+--storage-path "\$${fn}_store"} ls -q 2>/dev/null
}

${fn}() {
  local cur prev cmd i opts args ${fn}_store=""
  COMPREPLY=()
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  cmd=""
  for (( i = 1; i < COMP_CWORD; i++ )); do
    case "\${COMP_WORDS[i]}" in
      -s|--storage-path) ${fn}_store="\${COMP_WORDS[i+1]}"; (( i++ )) ;;
      ${globalValues.filter((f) => f !== '-s' && f !== '--storage-path').join('|') || '--no-such-option'}) (( i++ )) ;;
      -*) ;;
      *) cmd="\${COMP_WORDS[i]}"; break ;;
    esac
  done
  case "$cmd $prev" in
${valueCase('', spec.global).join('\n')}
${spec.commands.flatMap((c) => valueCase(c.name, c.options)).join('\n')}
  esac
  case "$cmd" in
    "") opts="${words(spec.global.flatMap(flags))}"; args=commands ;;
${cmdCases.join('\n')}
    *) opts=""; args=none ;;
  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=( $(compgen -W "$opts" -- "$cur") )
    return 0
  fi
  case "$args" in
    commands) COMPREPLY=( $(compgen -W "${words(spec.commands.map((c) => c.name))}" -- "$cur") ) ;;
    machines) COMPREPLY=( $(compgen -W "$(${fn}_machines)" -- "$cur") ) ;;
    shells) COMPREPLY=( $(compgen -W "${words(COMPLETION_SHELLS)}" -- "$cur") ) ;;
    scp) COMPREPLY=( $(compgen -W "$(${fn}_machines | sed 's/$/:/')" -- "$cur") $(compgen -f -- "$cur") ) ;;
    files) COMPREPLY=( $(compgen -f -- "$cur") ) ;;
  esac
  return 0
}
complete -o default -F ${fn} ${p}
`;
}

// ---------------------------------------------------------------------------------------------
// zsh

const zdesc = (s: string) => s.replace(/\[/g, '(').replace(/\]/g, ')').replace(/\\/g, '\\\\');

function zshAction(v: ValueKind, fn: string): string {
  if (typeof v === 'object') return `:value:(${v.choices.join(' ')})`;
  if (v === 'machines') return `:machine:${fn}_machines`;
  if (v === 'files') return ':file:_files';
  if (v === 'dirs') return ':folder:_files -/';
  if (v === 'free') return ':value: ';
  return '';
}

function zshOpts(opts: OptSpec[], fn: string): string[] {
  return opts.flatMap((o) =>
    flags(o).map((f) => {
      const eq = o.value !== 'none' && f.startsWith('--') ? '=' : '';
      const repeat = o.value === 'free' ? '*' : '';
      return shQuote(`${repeat}${f}${eq}[${zdesc(o.description)}]${zshAction(o.value, fn)}`);
    }),
  );
}

function zshArgs(kind: ArgKind, fn: string): string[] {
  switch (kind) {
    case 'machines':
      return [shQuote(`*:machine:${fn}_machines`)];
    case 'scp':
      return [shQuote(`*:source or destination:${fn}_scp`)];
    case 'files':
      return [shQuote('*:path:_files')];
    case 'shells':
      return [shQuote(`1:shell:(${COMPLETION_SHELLS.join(' ')})`)];
    default:
      return [];
  }
}

function zsh(spec: CompletionSpec): string {
  const p = spec.program;
  const fn = `_${p.replace(/[^A-Za-z0-9_]/g, '_')}`;
  const cont = ' \\\n        ';
  const cases = spec.commands.map((c) => {
    const specs = [...zshOpts(c.options, fn), ...zshArgs(c.args, fn)];
    return `        ${c.name})\n          _arguments -s${cont}${specs.join(cont)} && ret=0\n          ;;`;
  });
  return `#compdef ${p}
# zsh completion for ${p}
# Load it: source <(${p} completion zsh)   (in ~/.zshrc, after compinit), or save it as _${p} in a folder of $fpath
${fn}_machines() {
  local -a machines
  machines=(\${(f)"$(_call_program machines command ${p} ls -q 2>/dev/null)"})
  _describe -t machines 'machine' machines
}

${fn}_scp() {
  local -a machines
  machines=(\${(f)"$(_call_program machines command ${p} ls -q 2>/dev/null)"})
  compadd -S '' -- \${^machines}:
  _files
}

${fn}_commands() {
  local -a commands
  commands=(
${spec.commands.map((c) => `    ${shQuote(`${c.name}:${c.description}`)}`).join('\n')}
  )
  _describe -t commands '${p} command' commands
}

${fn}() {
  local curcontext="$curcontext" state line ret=1
  typeset -A opt_args
  _arguments -C${cont}${zshOpts(spec.global, fn).join(cont)}${cont}${shQuote(`1: :${fn}_commands`)}${cont}${shQuote('*:: :->args')} && ret=0
  case $state in
    args)
      curcontext="\${curcontext%:*:*}:${p}-$words[1]:"
      case $words[1] in
${cases.join('\n')}
      esac
      ;;
  esac
  return ret
}

if [[ "\${funcstack[1]}" == "${fn}" ]]; then
  ${fn} "$@"
else
  compdef ${fn} ${p}
fi
`;
}

// ---------------------------------------------------------------------------------------------
// fish

const fq = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

function fishOpt(p: string, cond: string, o: OptSpec, fn: string): string {
  const parts = [`complete -c ${p} -n ${fq(cond)}`];
  if (o.short) parts.push(`-s ${o.short.slice(1)}`);
  if (o.long) parts.push(`-l ${o.long.slice(2)}`);
  const v = o.value;
  if (typeof v === 'object') parts.push(`-x -a ${fq(v.choices.join(' '))}`);
  else if (v === 'machines') parts.push(`-x -a ${fq(`(${fn}_machines)`)}`);
  else if (v === 'files' || v === 'dirs') parts.push('-r -F');
  else if (v === 'free') parts.push('-x');
  parts.push(`-d ${fq(o.description)}`);
  return parts.join(' ');
}

function fish(spec: CompletionSpec): string {
  const p = spec.program;
  const fn = `__${p.replace(/[^A-Za-z0-9_]/g, '_')}`;
  const names = spec.commands.map((c) => c.name).join(' ');
  const top = `not __fish_seen_subcommand_from ${names}`;
  const lines = [
    `# fish completion for ${p}`,
    `# Load it: ${p} completion fish > ~/.config/fish/completions/${p}.fish`,
    `function ${fn}_machines`,
    `    command ${p} ls -q 2>/dev/null`,
    'end',
    '',
    `complete -c ${p} -f`,
    ...spec.global.map((o) => fishOpt(p, top, o, fn)),
    ...spec.commands.map((c) => `complete -c ${p} -n ${fq(top)} -a ${c.name} -d ${fq(c.description)}`),
  ];
  for (const c of spec.commands) {
    const cond = `__fish_seen_subcommand_from ${c.name}`;
    lines.push(...c.options.map((o) => fishOpt(p, cond, o, fn)));
    if (c.args === 'machines') lines.push(`complete -c ${p} -n ${fq(cond)} -a ${fq(`(${fn}_machines)`)}`);
    if (c.args === 'scp') lines.push(`complete -c ${p} -n ${fq(cond)} -F -a ${fq(`(${fn}_machines | string replace -r '$' ':')`)}`);
    if (c.args === 'files') lines.push(`complete -c ${p} -n ${fq(cond)} -F`);
    if (c.args === 'shells') lines.push(`complete -c ${p} -n ${fq(cond)} -a ${fq(COMPLETION_SHELLS.join(' '))}`);
  }
  return `${lines.join('\n')}\n`;
}

// ---------------------------------------------------------------------------------------------
// PowerShell (Windows PowerShell 5.1 and pwsh)

const pq = (s: string) => `'${s.replace(/'/g, "''")}'`;
const plist = (items: string[]) => `@(${items.map(pq).join(', ')})`;

function powershell(spec: CompletionSpec): string {
  const p = spec.program;
  const all = [{ name: '', options: spec.global, args: 'commands' as const }, ...spec.commands];
  const choiceEntries: string[] = [];
  const valueEntries: string[] = [];
  for (const c of all) {
    for (const o of c.options) {
      for (const f of flags(o)) {
        const key = pq(`${c.name} ${f}`);
        if (typeof o.value === 'object') choiceEntries.push(`        ${key} = ${plist(o.value.choices)}`);
        else if (o.value === 'machines') choiceEntries.push(`        ${key} = 'machines'`);
        else if (o.value !== 'none') valueEntries.push(key);
      }
    }
  }
  return `# PowerShell completion for ${p}
# Load it: ${p} completion powershell | Out-String | Invoke-Expression     (add that line to $PROFILE)
Register-ArgumentCompleter -Native -CommandName @(${pq(p)}, ${pq(`${p}.cmd`)}, ${pq(`${p}.ps1`)}) -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)
    $commands = [ordered]@{
${spec.commands.map((c) => `        ${pq(c.name)} = ${pq(c.description || c.name)}`).join('\n')}
    }
    $options = @{
${all.map((c) => `        ${pq(c.name)} = ${plist(c.options.flatMap(flags))}`).join('\n')}
    }
    $choices = @{
${choiceEntries.join('\n')}
    }
    $takesValue = ${plist(valueEntries.map((k) => k.slice(1, -1)))}
    $argKinds = @{
${spec.commands.map((c) => `        ${pq(c.name)} = ${pq(c.args)}`).join('\n')}
    }
    $words = @($commandAst.CommandElements | Where-Object { $_.Extent.EndOffset -le $cursorPosition } | ForEach-Object { $_.ToString() })
    if ($wordToComplete -ne '' -and $words.Count -gt 1 -and $words[$words.Count - 1] -eq $wordToComplete) {
        $words = @($words | Select-Object -First ($words.Count - 1))
    }
    $store = $null
    $cmd = ''
    for ($i = 1; $i -lt $words.Count; $i++) {
        $w = $words[$i]
        if ($w -eq '-s' -or $w -eq '--storage-path') { if ($i + 1 -lt $words.Count) { $store = $words[$i + 1] }; $i++; continue }
        if ($takesValue -contains " $w") { $i++; continue }
        if ($w -like '-*') { continue }
        $cmd = $w
        break
    }
    $prev = if ($words.Count -gt 1) { $words[$words.Count - 1] } else { '' }
    $machines = {
        if ($store) { @(& ${pq(p)} --storage-path $store ls -q 2>$null) } else { @(& ${pq(p)} ls -q 2>$null) }
    }
    $key = "$cmd $prev"
    $candidates = @()
    if ($choices.ContainsKey($key)) {
        $candidates = if ($choices[$key] -eq 'machines') { & $machines } else { $choices[$key] }
    } elseif ($takesValue -contains $key) {
        return
    } elseif ($wordToComplete -like '-*') {
        $candidates = $options[$cmd]
    } elseif ($cmd -eq '') {
        $candidates = $commands.Keys
    } else {
        switch ($argKinds[$cmd]) {
            'machines' { $candidates = & $machines }
            'scp' { $candidates = @(& $machines | ForEach-Object { "$($_):" }) }
            'shells' { $candidates = ${plist(COMPLETION_SHELLS)} }
            default { return }
        }
    }
    $candidates | Where-Object { $_ -like "$wordToComplete*" } | ForEach-Object {
        $tip = if ($cmd -eq '' -and $commands.Contains($_)) { $commands[$_] } else { $_ }
        [System.Management.Automation.CompletionResult]::new($_, $_, 'ParameterValue', $tip)
    }
}
`;
}

export function completionScript(spec: CompletionSpec, shell: string): string {
  switch (shell.toLowerCase()) {
    case 'bash':
      return bash(spec);
    case 'zsh':
      return zsh(spec);
    case 'fish':
      return fish(spec);
    case 'powershell':
    case 'pwsh':
      return powershell(spec);
    default:
      throw new MachineError(`Error: no completion for shell "${shell}"`, { fix: `use one of ${COMPLETION_SHELLS.join(', ')}` });
  }
}
