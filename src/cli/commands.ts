import { type Command, Option } from 'commander';
import type { CreateOptions } from '../tasks/create-request.js';
import { DRIVERS } from '../drivers/registry.js';
import type { ArgKind } from '../env/completion.js';
import type { Action } from '../tasks/lifecycle.js';
import type { CommandContext } from './context.js';
import { collect, optionFromSpec, parseSeconds } from './options.js';

/**
 * Every command, declared once: main.ts turns this table into commander commands, and shell
 * completion and the help tests read it. A command's run checks its input, calls the operation or
 * query (src/commands, src/tasks) and renders what comes back (src/output); it is the only place
 * that writes to the terminal. Modules load only when their command runs: `env` and `ls -q` sit
 * behind every shell start and Tab.
 */
export interface CommandDef {
  name: string;
  description: string;
  /** commander argument syntax and description, e.g. ['[name...]', 'machine names']. */
  args?: [string, string?][];
  /** What the arguments complete to in a shell. */
  completes?: ArgKind;
  options?: () => Option[];
  hidden?: boolean;
  /** Help text, pass-through options: what the table's fields do not cover. */
  configure?: (cmd: Command, program: Command) => void;
  run: (ctx: CommandContext, args: never, opts: never, program: Command) => Promise<void | number>;
}

/** Print text, adding the final newline if missing. */
export const out = (text: string): void => {
  process.stdout.write(text.endsWith('\n') || text === '' ? text : `${text}\n`);
};
export const line = (text: string): void => {
  process.stdout.write(`${text}\n`);
};
export const warn = (text: string): void => {
  process.stderr.write(`${text}\n`);
};

const MACHINES: [string, string?][] = [['[name...]', 'machine names (default: "default")']];
const MACHINE: [string, string?][] = [['[name...]', 'machine name (default: "default")']];
const timeoutOption = () => new Option('-t, --timeout <seconds>', 'Timeout in seconds, default to 10s').argParser(parseSeconds).default(10);

/** Progress on the terminal (listr2 loads only for the commands that show progress). */
async function terminalProgress(stream?: NodeJS.WriteStream) {
  return (await import('../output/listr.js')).terminalProgress(stream);
}
/** Progress of start/stop...: on stderr when stdout is not a terminal, so scripts read only the result lines. */
const lifecycleProgress = () => terminalProgress(process.stdout.isTTY ? process.stdout : process.stderr);

async function names(ctx: CommandContext, given: string[]): Promise<string[]> {
  const { namesOrDefault } = await import('../commands/common.js');
  return namesOrDefault(ctx.store, given);
}
async function oneName(ctx: CommandContext, given: string[]): Promise<string> {
  const { oneNameOrDefault } = await import('../commands/common.js');
  return oneNameOrDefault(ctx.store, given);
}

const lifecycleCommand = (name: Action, description: string): CommandDef => ({
  name,
  description,
  args: MACHINES,
  completes: 'machines',
  run: async (ctx, [given]: [string[]]) => {
    const { lifecycle } = await import('../tasks/lifecycle.js');
    await lifecycle(ctx.store, await names(ctx, given), name, await lifecycleProgress());
  },
});

const infoCommand = (name: 'url' | 'status', description: string): CommandDef => ({
  name,
  description,
  args: MACHINE,
  completes: 'machines',
  run: async (ctx, [given]: [string[]]) => {
    const info = await import('../commands/info.js');
    out(await info[name](ctx.store, await oneName(ctx, given)));
  },
});

function createOptions(): Option[] {
  return [
    // No static default: create chooses (chooseDefaultDriver) and says which and why.
    new Option(
      '-d, --driver <driver>',
      'Driver to create machine with (default: qemu on Linux, else virtualbox; on Apple Silicon virtualbox only with VirtualBox 7.1+)',
    )
      .env('MACHINE_DRIVER')
      .choices(DRIVERS.map((d) => d.name)),
    new Option('--engine-env <env>', 'Specify environment variables to set in the engine (NAME=value, repeatable)').argParser(collect),
    new Option(
      '--engine-insecure-registry <registry>',
      'Specify insecure registries to allow with the created engine (repeatable)',
    ).argParser(collect),
    new Option('--engine-install-url <url>', 'Accepted for compatibility; boot2docker ignores it')
      .env('MACHINE_DOCKER_INSTALL_URL')
      .hideHelp(),
    new Option('--engine-label <label>', 'Specify labels for the created engine (repeatable)').argParser(collect),
    new Option(
      '--engine-opt <flag=value>',
      'Specify arbitrary flags to include with the created engine in the form flag=value (repeatable)',
    ).argParser(collect),
    new Option('--engine-registry-mirror <url>', 'Specify registry mirrors to use (repeatable)')
      .env('ENGINE_REGISTRY_MIRROR')
      .argParser(collect),
    new Option('--engine-storage-driver <driver>', 'Specify a storage driver to use with the engine'),
    new Option('--tls-san <san>', 'Support extra SANs for TLS certs (repeatable)').argParser(collect),
    new Option('--boot2docker-url <url>', 'The boot2docker ISO for any driver: a path, file:// or http(s):// URL').env(
      'MACHINE_BOOT2DOCKER_URL',
    ),
    isoMirrorOption(),
    new Option(
      '--share <hostdir[:guestdir]>',
      'Share a host folder with the machine (repeatable; default guest path: the same path)',
    ).argParser(collect),
    new Option('--import-host-ca [pem-file]', "Make the machine trust the host's CA certificates (system store, or a PEM file)").env(
      'MACHINE_IMPORT_HOST_CA',
    ),
    new Option('--no-port-forward', 'Do not forward published container ports to 127.0.0.1').env('MACHINE_NO_PORT_FORWARD'),
    new Option('--no-binfmt', "Do not run the other architecture's images (linux/amd64 on arm64 and back) through emulation").env(
      'MACHINE_NO_BINFMT',
    ),
    new Option('--keep-on-failure', 'Keep what a failed create made, for inspection (remove it with "machine rm -f")'),
    new Option('--activate', 'Make the new machine the docker CLI\'s current context, as "machine use NAME" does'),
    new Option('--format <format>', 'Print the result as json (progress goes to stderr as JSON lines)').choices(['json']),
    new Option('--swarm', 'Classic Swarm (not supported)').hideHelp(),
    new Option('--swarm-master', 'Classic Swarm (not supported)').hideHelp(),
    new Option('--swarm-discovery <url>', 'Classic Swarm (not supported)').hideHelp(),
    ...DRIVERS.flatMap((d) => d.flags).map(optionFromSpec),
  ];
}

const isoMirrorOption = () =>
  new Option(
    '--iso-mirror <url>',
    "Download released ISOs from this folder URL instead of the release host (<url>/<the ISO's file name>)",
  ).env('MACHINE_ISO_MIRROR');

function camel(flag: string): string {
  return flag.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

export const COMMANDS: CommandDef[] = [
  {
    name: 'create',
    description: 'Create a machine',
    args: [['[name...]', 'machine name']],
    options: createOptions,
    run: async (ctx, [given]: [string[]], opts: Record<string, unknown>) => {
      const { create } = await import('../commands/create.js');
      const driverFlags = Object.fromEntries([
        ...DRIVERS.flatMap((d) => d.flags).map((spec) => [spec.name, opts[camel(spec.name)]]),
        ['share', opts.share],
      ]) as Record<string, string | number | boolean | string[] | undefined>;
      const json = opts.format === 'json';
      const progress = json ? (await import('../output/listr.js')).jsonLinesProgress() : await terminalProgress();
      const result = await create(ctx.store, given, { ...(opts as never as CreateOptions), tls: ctx.tls }, driverFlags, progress);
      const { renderCreated } = await import('../output/create.js');
      out(json ? JSON.stringify(result, null, 2) : renderCreated(result, ctx.commandLine));
    },
  },
  {
    name: 'ls',
    description: 'List machines',
    options: () => [
      new Option('-q, --quiet', 'Enable quiet mode'),
      new Option('--filter <key=value>', 'Filter output based on conditions provided (driver, state, name, label; repeatable)').argParser(
        collect,
      ),
      timeoutOption(),
      new Option('-f, --format <format>', 'Pretty-print machines using a Go template, or "json"'),
    ],
    run: async (ctx, _args, opts: { quiet?: boolean; filter?: string[]; timeout: number; format?: string }) => {
      const { listMachines, listNames } = await import('../commands/ls.js');
      if (opts.quiet && !opts.filter?.length) return out((await listNames(ctx.store)).map((n) => `${n}\n`).join(''));
      const { renderLs } = await import('../output/ls.js');
      out(renderLs(await listMachines(ctx.store, opts), opts));
    },
  },
  {
    name: 'env',
    description: 'Display the commands to set up the environment for the Docker client',
    args: [['[name...]']],
    completes: 'machines',
    options: () => [
      new Option(
        '--shell <shell>',
        'Force environment to be configured for a specified shell: [bash, zsh, fish, powershell, pwsh, cmd, tcsh, csh, emacs, nushell], default is auto-detect',
      ),
      new Option('-u, --unset', 'Unset variables instead of setting them'),
      new Option('--no-proxy', 'Add machine IP to NO_PROXY environment variable'),
      new Option('--swarm', 'Display the Swarm config instead of the Docker daemon (not supported)').hideHelp(),
    ],
    run: async (ctx, [given]: [string[]], opts: { shell?: string; unset?: boolean; proxy?: boolean; swarm?: boolean }) => {
      const { env } = await import('../commands/env.js');
      const result = await env(
        ctx.store,
        given,
        { shell: opts.shell, unset: opts.unset, noProxy: opts.proxy === false, swarm: opts.swarm },
        warn,
      );
      if (result.notice) process.stderr.write(`${result.notice}\n\n`);
      const { renderEnv } = await import('../env/shells.js');
      out(renderEnv(result.shell, result.vars, ctx.commandLine));
    },
  },
  {
    name: 'ip',
    description: 'Get the IP address of a machine',
    args: MACHINES,
    completes: 'machines',
    run: async (ctx, [given]: [string[]]) => {
      const { ip } = await import('../commands/info.js');
      out((await ip(ctx.store, await names(ctx, given))).join('\n'));
    },
  },
  infoCommand('url', 'Get the URL of a machine'),
  infoCommand('status', 'Get the status of a machine'),
  {
    name: 'inspect',
    description: 'Inspect information about a machine',
    args: MACHINE,
    completes: 'machines',
    options: () => [new Option('-f, --format <format>', 'Format the output using the given Go template')],
    run: async (ctx, [given]: [string[]], opts: { format?: string }) => {
      const { inspect } = await import('../commands/info.js');
      const { config, warnings } = await inspect(ctx.store, await oneName(ctx, given));
      warnings.forEach(warn);
      if (!opts.format) return out(JSON.stringify(config, null, 4));
      const { renderTemplate } = await import('../output/template.js');
      out(renderTemplate(opts.format, config, { sortKeys: true }));
    },
  },
  {
    name: 'config',
    description: 'Print the connection config for machine',
    args: MACHINE,
    completes: 'machines',
    options: () => [new Option('--swarm', 'not supported').hideHelp()],
    run: async (ctx, [given]: [string[]]) => {
      const { config } = await import('../commands/info.js');
      out(await config(ctx.store, await oneName(ctx, given), warn));
    },
  },
  {
    name: 'ssh',
    description: 'Log into or run a command on a machine with SSH.',
    args: [['[name]'], ['[command...]']],
    completes: 'machines',
    configure: (cmd) => cmd.usage('[NAME] [--] [COMMAND...]').passThroughOptions().helpOption('-h, --help'),
    run: async (ctx, [name, command]: [string | undefined, string[]]) => {
      const { ssh } = await import('../commands/ssh.js');
      const stdio = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr };
      return ssh(ctx.store, await oneName(ctx, name ? [name] : []), command, stdio);
    },
  },
  {
    name: 'scp',
    description: 'Copy files between machines',
    args: [['<source>'], ['<destination>']],
    completes: 'scp',
    configure: (cmd) => cmd.usage('[-r] [[user@]machine:][path] [[user@]machine:][path]'),
    options: () => [
      new Option('-r, --recursive', 'Copy files recursively (required to copy directories)'),
      new Option('-d, --delta', 'Reduce amount of data sent over network by sending only the differences (not supported)'),
      new Option('-q, --quiet', 'Disables the progress meter as well as warning and diagnostic messages'),
    ],
    run: async (ctx, [src, dst]: [string, string], opts: { recursive?: boolean; delta?: boolean; quiet?: boolean }) => {
      const { scp } = await import('../commands/scp.js');
      await scp(ctx.store, src, dst, opts, warn);
    },
  },
  lifecycleCommand('start', 'Start a machine'),
  lifecycleCommand('stop', 'Stop a machine'),
  lifecycleCommand('restart', 'Restart a machine'),
  lifecycleCommand('kill', 'Kill a machine'),
  {
    name: 'rm',
    description: 'Remove a machine',
    args: MACHINES,
    completes: 'machines',
    options: () => [
      new Option('-f, --force', 'Remove local configuration even if machine cannot be removed, also implies an automatic yes (`-y`)'),
      new Option('-y', 'Assumes automatic yes to proceed with remove, without prompting further user confirmation'),
    ],
    run: async (ctx, [given]: [string[]], opts: { force?: boolean; y?: boolean }) => {
      const { MachineError } = await import('../core/errors.js');
      if (!given.length) throw new MachineError('Error: Expected to get one or more machine names as arguments');
      const unique = [...new Set(given)];
      line(`About to remove ${unique.join(', ')}`);
      line('WARNING: This action will delete both local reference and remote instance.');
      const { confirm } = await import('./prompt.js');
      if (!opts.force && !opts.y && !(await confirm('Are you sure? (y/n): ', '-y'))) return;
      const { rm } = await import('../tasks/rm.js');
      await rm(ctx.store, unique, { force: opts.force }, await terminalProgress()); // its notices go to stderr
    },
  },
  {
    name: 'regenerate-certs',
    description: 'Regenerate TLS Certificates for a machine',
    args: MACHINES,
    completes: 'machines',
    options: () => [
      new Option('-f, --force', 'Force rebuild and do not prompt'),
      new Option('--client-certs', 'Also regenerate client certificates and CA.'),
    ],
    run: async (ctx, [given]: [string[]], opts: { force?: boolean; clientCerts?: boolean }) => {
      const machines = await names(ctx, given);
      const { confirm } = await import('./prompt.js');
      if (!opts.force && !(await confirm('Regenerate TLS machine certs?  Warning: this is irreversible. (y/n): ', '-f'))) return;
      const { regenerateCerts } = await import('../tasks/reprovision.js');
      await regenerateCerts(ctx.store, machines, opts, await terminalProgress());
    },
  },
  {
    name: 'provision',
    description: 'Re-provision existing machines',
    args: MACHINES,
    completes: 'machines',
    options: () => [
      new Option(
        '--proxy-from-env',
        "Take this shell's HTTP_PROXY/HTTPS_PROXY/NO_PROXY into the machine's daemon (replacing those stored at create)",
      ),
    ],
    run: async (ctx, [given]: [string[]], opts: { proxyFromEnv?: boolean }) => {
      const { provision } = await import('../tasks/reprovision.js');
      await provision(ctx.store, await names(ctx, given), await terminalProgress(), opts);
    },
  },
  {
    name: 'upgrade',
    description: 'Upgrade a machine to the latest version of Docker (its boot2docker ISO)',
    args: MACHINES,
    completes: 'machines',
    options: () => [isoMirrorOption()],
    run: async (ctx, [given]: [string[]], opts: { isoMirror?: string }) => {
      const { upgrade } = await import('../tasks/reprovision.js');
      await upgrade(ctx.store, await names(ctx, given), await terminalProgress(), { mirror: opts.isoMirror || undefined });
    },
  },
  {
    name: 'active',
    description: 'Print which machine is active',
    options: () => [timeoutOption()],
    run: async (ctx, _args, opts: { timeout: number }) => {
      const { active } = await import('../commands/active.js');
      line(await active(ctx.store, opts.timeout));
    },
  },
  {
    name: 'version',
    description: 'Show the machine version or a machine docker version',
    args: [['[name]']],
    completes: 'machines',
    run: async (ctx, [name]: [string | undefined]) => {
      const { version } = await import('../commands/info.js');
      const { VERSION_LINE } = await import('./version.js');
      line(name === undefined ? VERSION_LINE : await version(ctx.store, name));
    },
  },
  {
    name: 'logs',
    description: "Show a machine's console output of its last boot",
    args: MACHINE,
    completes: 'machines',
    options: () => [new Option('--milestones', 'Only the boot milestones and their times')],
    run: async (ctx, [given]: [string[]], opts: { milestones?: boolean }) => {
      const { logs } = await import('../commands/logs.js');
      out(await logs(ctx.store, await oneName(ctx, given), opts));
    },
  },
  {
    name: 'ports',
    description: 'List the published container ports forwarded to 127.0.0.1, and those that could not be',
    args: MACHINE,
    completes: 'machines',
    options: () => [new Option('--format <format>', 'json for scripts')],
    run: async (ctx, [given]: [string[]], opts: { format?: string }) => {
      const { ports } = await import('../commands/ports.js');
      const result = await ports(ctx.store, await oneName(ctx, given));
      if (opts.format === 'json') return out(JSON.stringify(result, null, 2));
      const { renderPorts } = await import('../output/ports.js');
      out(renderPorts(result));
    },
  },
  {
    name: 'trim',
    description: 'Return the disk space freed in the machine to the host now (also done after images or volumes are removed)',
    args: MACHINE,
    completes: 'machines',
    run: async (ctx, [given]: [string[]]) => {
      const { trim } = await import('../commands/trim.js');
      const { renderTrim } = await import('../output/trim.js');
      out(renderTrim(await trim(ctx.store, await oneName(ctx, given))));
    },
  },
  {
    name: 'use',
    description: "Make a machine the docker CLI's current context (or go back to the default with --unset)",
    args: [['[name]', 'machine name (default: "default")']],
    completes: 'machines',
    options: () => [new Option('-u, --unset', 'Go back to the docker CLI\'s "default" context')],
    configure: (cmd) =>
      cmd.addHelpText(
        'after',
        `
Machine NAME gets the docker context "machine-NAME" ("default" is docker's own, reserved name), written
in the docker CLI's format with the machine's TLS certificates under $DOCKER_CONFIG (~/.docker), and
made current: every terminal's docker CLI then talks to the machine, no "machine env" needed.

  machine use default                      # docker now uses machine "default"
  docker --context machine-dev ps          # one command against another machine
  machine use --unset                      # back to docker's default context

"machine rm NAME" removes the context again. DOCKER_HOST, if set in a shell, wins over contexts.`,
      ),
    run: async (ctx, [name]: [string | undefined], opts: { unset?: boolean }) => {
      const { use } = await import('../commands/use.js');
      const { renderUse } = await import('../output/use.js');
      const rendered = renderUse(await use(ctx.store, name ? [name] : [], opts, warn));
      rendered.err.forEach(warn);
      rendered.out.forEach(line);
    },
  },
  {
    name: 'path',
    description: 'Print the path a host folder has in the VM, for "docker run -v" (C:\\Users\\me\\app is /c/Users/me/app)',
    args: [['<path...>', 'host paths (relative ones from the current folder)']],
    completes: 'files',
    options: () => [
      new Option('-m, --machine <name>', 'The machine whose shared folders to use (default: "default", or DOCKER_MACHINE_NAME)'),
    ],
    run: async (ctx, [paths]: [string[]], opts: { machine?: string }) => {
      const { vmPaths } = await import('../commands/path.js');
      const result = await vmPaths(ctx.store, paths, opts.machine);
      result.warnings.forEach(warn);
      out(result.paths.map((p) => `${p}\n`).join(''));
    },
  },
  {
    name: 'doctor',
    description: 'Check this computer for what machines need, one line per check with its verdict and fix (exit 1 if one fails)',
    args: [['[name...]', 'machines to check (default: all)']],
    completes: 'machines',
    options: () => [new Option('--format <format>', 'Print the checks as json').choices(['json'])],
    run: async (ctx, [given]: [string[]], opts: { format?: string }) => {
      const { runDoctor } = await import('../doctor/index.js');
      const { renderDoctor } = await import('../output/doctor.js');
      const report = await runDoctor(ctx.store, given);
      out(opts.format === 'json' ? `${JSON.stringify(report, null, 2)}\n` : renderDoctor(report, { color: Boolean(process.stdout.isTTY) }));
      return report.checks.some((c) => c.status === 'fail') ? 1 : 0;
    },
  },
  {
    name: 'completion',
    description: 'Print the shell completion script for bash, zsh, fish or powershell',
    args: [['<shell>', 'bash, zsh, fish or powershell']],
    completes: 'shells',
    configure: (cmd) =>
      cmd.addHelpText(
        'after',
        `
  bash:        echo 'source <(machine completion bash)' >> ~/.bashrc
  zsh:         echo 'source <(machine completion zsh)' >> ~/.zshrc      (after compinit)
  fish:        machine completion fish > ~/.config/fish/completions/machine.fish
  PowerShell:  machine completion powershell | Out-String | Invoke-Expression   (add it to $PROFILE)`,
      ),
    run: async (_ctx, [shell]: [string], _opts, program) => {
      const { completionScript, completionSpec } = await import('../env/completion.js');
      out(completionScript(completionSpec(program, argKindOf), shell));
    },
  },
  {
    name: 'quickstart',
    description: 'Create "default" if missing, start it, check its certificates and print how to reach it (what bin/quickstart runs)',
    args: [['[name]', 'machine name (default: DOCKER_MACHINE_NAME, else "default")']],
    completes: 'machines',
    run: async (ctx, [name]: [string | undefined]) => {
      const { quickstart } = await import('../tasks/quickstart.js');
      const { renderBanner } = await import('../output/quickstart.js');
      const result = await quickstart(ctx.store, name ?? (process.env.DOCKER_MACHINE_NAME || 'default'), await terminalProgress());
      out(renderBanner(result, { color: Boolean(process.stdout.isTTY) && !process.env.NO_COLOR }));
    },
  },
  {
    name: '__port-forwarder',
    description: 'The per-machine background process (port forwards)',
    hidden: true,
    args: [['<name>']],
    run: async (ctx, [name]: [string]) => {
      const { runForwarder } = await import('../forward/main.js');
      await runForwarder(ctx.store, name);
    },
  },
];

/** What a command's arguments complete to (shell completion). */
export function argKindOf(command: string): ArgKind {
  return COMMANDS.find((c) => c.name === command)?.completes ?? 'none';
}
