import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Command, Option } from 'commander';
import { PROJECT_ROOT } from '../core/paths.js';
import { DRIVERS, defaultDriverName } from '../drivers/registry.js';
import { defaultStoragePath } from '../store/store.js';
import { action, line, out } from './action.js';
import { registerHostCommands } from './host-commands.js';
import type { CreateOptions } from '../commands/create.js';
import { collect, optionFromSpec, parseSeconds } from './options.js';

const VERSION = (JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
export const VERSION_LINE = `machine version ${VERSION}`;

export function buildProgram(): Command {
  const program = new Command('machine')
    .description('Create and manage machines running Docker.')
    .version(VERSION_LINE, '-v, --version', 'print the version')
    .enablePositionalOptions()
    .addOption(new Option('-s, --storage-path <path>', 'Configures storage path').env('MACHINE_STORAGE_PATH').default(defaultStoragePath()))
    .addOption(new Option('-D, --debug', 'Enable debug mode (or MACHINE_DEBUG=1)'))
    .addOption(new Option('--tls-ca-cert <file>', 'CA to verify remotes against').env('MACHINE_TLS_CA_CERT'))
    .addOption(new Option('--tls-ca-key <file>', 'Private key to generate certificates').env('MACHINE_TLS_CA_KEY'))
    .addOption(new Option('--tls-client-cert <file>', 'Client cert to use for TLS').env('MACHINE_TLS_CLIENT_CERT'))
    .addOption(new Option('--tls-client-key <file>', 'Private key used in client TLS auth').env('MACHINE_TLS_CLIENT_KEY'))
    .addOption(
      new Option('--native-ssh', 'Accepted for compatibility: machine always uses its built-in SSH client')
        .env('MACHINE_NATIVE_SSH')
        .hideHelp(),
    )
    .addOption(new Option('--github-api-token <token>', 'Accepted for compatibility; unused').env('MACHINE_GITHUB_API_TOKEN').hideHelp())
    .addOption(
      new Option('--bugsnag-api-token <token>', 'Accepted for compatibility; machine never sends crash reports')
        .env('MACHINE_BUGSNAG_API_TOKEN')
        .hideHelp(),
    );

  program.on('command:*', (operands: string[]) => {
    process.stderr.write(`machine: '${operands[0]}' is not a machine command. See 'machine --help'.\n`);
    process.exit(1);
  });

  const create = program
    .command('create')
    .description('Create a machine')
    .argument('[name...]', 'machine name')
    .addOption(
      new Option('-d, --driver <driver>', 'Driver to create machine with.')
        .env('MACHINE_DRIVER')
        .default(defaultDriverName())
        .choices(DRIVERS.map((d) => d.name)),
    )
    .option('--engine-env <env>', 'Specify environment variables to set in the engine (NAME=value, repeatable)', collect)
    .option('--engine-insecure-registry <registry>', 'Specify insecure registries to allow with the created engine (repeatable)', collect)
    .addOption(
      new Option('--engine-install-url <url>', 'Accepted for compatibility; boot2docker ignores it')
        .env('MACHINE_DOCKER_INSTALL_URL')
        .hideHelp(),
    )
    .option('--engine-label <label>', 'Specify labels for the created engine (repeatable)', collect)
    .option(
      '--engine-opt <flag=value>',
      'Specify arbitrary flags to include with the created engine in the form flag=value (repeatable)',
      collect,
    )
    .addOption(
      new Option('--engine-registry-mirror <url>', 'Specify registry mirrors to use (repeatable)')
        .env('ENGINE_REGISTRY_MIRROR')
        .argParser(collect),
    )
    .option('--engine-storage-driver <driver>', 'Specify a storage driver to use with the engine')
    .option('--tls-san <san>', 'Support extra SANs for TLS certs (repeatable)', collect)
    .addOption(
      new Option('--boot2docker-url <url>', 'The boot2docker ISO for any driver: a path, file:// or http(s):// URL').env(
        'MACHINE_BOOT2DOCKER_URL',
      ),
    )
    .addOption(
      new Option(
        '--share <hostdir[:guestdir]>',
        'Share a host folder with the machine (repeatable; default guest path: the same path)',
      ).argParser(collect),
    )
    .addOption(
      new Option('--import-host-ca [pem-file]', "Make the machine trust the host's CA certificates (system store, or a PEM file)").env(
        'MACHINE_IMPORT_HOST_CA',
      ),
    )
    .addOption(new Option('--no-port-forward', 'Do not forward published container ports to 127.0.0.1').env('MACHINE_NO_PORT_FORWARD'))
    .option('--keep-on-failure', 'Keep what a failed create made, for inspection (remove it with "machine rm -f")')
    .option('--activate', 'Make the new machine the docker CLI\'s current context, as "machine use NAME" does')
    .addOption(new Option('--format <format>', 'Print the result as json (progress goes to stderr)').choices(['json']))
    .addOption(new Option('--swarm', 'Classic Swarm (not supported)').hideHelp())
    .addOption(new Option('--swarm-master', 'Classic Swarm (not supported)').hideHelp())
    .addOption(new Option('--swarm-discovery <url>', 'Classic Swarm (not supported)').hideHelp());
  for (const def of DRIVERS) for (const spec of def.flags) create.addOption(optionFromSpec(spec));
  create.action(
    action(async (ctx, names: string[], opts: Record<string, unknown>) => {
      const { create: run } = await import('../commands/create.js');
      const driverFlags = Object.fromEntries([
        ...DRIVERS.flatMap((d) => d.flags).map((spec) => [spec.name, opts[camel(spec.name)]]),
        ['share', opts.share],
      ]) as Record<string, string | number | boolean | string[] | undefined>;
      const result = await run(ctx.store, names, { ...(opts as never as CreateOptions), tls: ctx.tls }, driverFlags);
      if (opts.format === 'json') return line(JSON.stringify(result, null, 2));
      line('Docker is up and running!');
      if (result.context) line(`Current context is now "${result.context}": the docker CLI uses machine "${result.name}"`);
      line(
        `To see how to connect your Docker Client to the Docker Engine running on this virtual machine, run: ${ctx.commandLine.split(' ')[0]} env ${result.name}`,
      );
    }),
  );

  program
    .command('ls')
    .description('List machines')
    .option('-q, --quiet', 'Enable quiet mode')
    .option('--filter <key=value>', 'Filter output based on conditions provided (driver, state, name, label; repeatable)', collect)
    .addOption(new Option('-t, --timeout <seconds>', 'Timeout in seconds, default to 10s').argParser(parseSeconds).default(10))
    .option('-f, --format <format>', 'Pretty-print machines using a Go template, or "json"')
    .action(
      action(async (ctx, opts: { quiet?: boolean; filter?: string[]; timeout: number; format?: string }) => {
        const { listMachines, listNames, renderLs } = await import('../commands/ls.js');
        if (opts.quiet && !opts.filter?.length) return out((await listNames(ctx.store)).map((n) => `${n}\n`).join(''));
        out(renderLs(await listMachines(ctx.store, opts), opts));
      }),
    );

  program
    .command('env')
    .description('Display the commands to set up the environment for the Docker client')
    .argument('[name...]')
    .option(
      '--shell <shell>',
      'Force environment to be configured for a specified shell: [bash, zsh, fish, powershell, pwsh, cmd, tcsh, csh, emacs, nushell], default is auto-detect',
    )
    .option('-u, --unset', 'Unset variables instead of setting them')
    .option('--no-proxy', 'Add machine IP to NO_PROXY environment variable')
    .addOption(new Option('--swarm', 'Display the Swarm config instead of the Docker daemon (not supported)').hideHelp())
    .action(
      action(async (ctx, names: string[], opts: { shell?: string; unset?: boolean; proxy?: boolean; swarm?: boolean }) => {
        const { env, renderEnvResult } = await import('../commands/env.js');
        const result = await env(ctx.store, names, {
          shell: opts.shell,
          unset: opts.unset,
          noProxy: opts.proxy === false,
          swarm: opts.swarm,
        });
        if (result.notice) process.stderr.write(`${result.notice}\n\n`);
        out(renderEnvResult(result, ctx.commandLine));
      }),
    );

  program
    .command('ip')
    .description('Get the IP address of a machine')
    .argument('[name...]')
    .action(
      action(async (ctx, names: string[]) => {
        const { ip } = await import('../commands/info.js');
        const { namesOrDefault } = await import('../commands/common.js');
        out((await ip(ctx.store, await namesOrDefault(ctx.store, names))).join('\n'));
      }),
    );

  for (const [name, description] of [
    ['url', 'Get the URL of a machine'],
    ['status', 'Get the status of a machine'],
  ] as const) {
    program
      .command(name)
      .description(description)
      .argument('[name...]')
      .action(
        action(async (ctx, names: string[]) => {
          const info = await import('../commands/info.js');
          const { oneNameOrDefault } = await import('../commands/common.js');
          out(await info[name](ctx.store, await oneNameOrDefault(ctx.store, names)));
        }),
      );
  }

  program
    .command('inspect')
    .description('Inspect information about a machine')
    .argument('[name...]')
    .option('-f, --format <format>', 'Format the output using the given Go template')
    .action(
      action(async (ctx, names: string[], opts: { format?: string }) => {
        const { inspect } = await import('../commands/info.js');
        const { oneNameOrDefault } = await import('../commands/common.js');
        out(await inspect(ctx.store, await oneNameOrDefault(ctx.store, names), opts.format));
      }),
    );

  program
    .command('config')
    .description('Print the connection config for machine')
    .argument('[name...]')
    .addOption(new Option('--swarm', 'not supported').hideHelp())
    .action(
      action(async (ctx, names: string[]) => {
        const { config } = await import('../commands/info.js');
        const { oneNameOrDefault } = await import('../commands/common.js');
        out(await config(ctx.store, await oneNameOrDefault(ctx.store, names)));
      }),
    );

  program
    .command('ssh')
    .description('Log into or run a command on a machine with SSH.')
    .usage('[NAME] [--] [COMMAND...]')
    .argument('[name]')
    .argument('[command...]')
    .passThroughOptions()
    .helpOption('-h, --help')
    .action(
      action(async (ctx, name: string | undefined, command: string[]) => {
        const { ssh } = await import('../commands/ssh.js');
        const { oneNameOrDefault } = await import('../commands/common.js');
        return ssh(ctx.store, await oneNameOrDefault(ctx.store, name ? [name] : []), command);
      }),
    );

  program
    .command('scp')
    .description('Copy files between machines')
    .usage('[-r] [[user@]machine:][path] [[user@]machine:][path]')
    .argument('<source>')
    .argument('<destination>')
    .option('-r, --recursive', 'Copy files recursively (required to copy directories)')
    .option('-d, --delta', 'Reduce amount of data sent over network by sending only the differences (not supported)')
    .option('-q, --quiet', 'Disables the progress meter as well as warning and diagnostic messages')
    .action(
      action(async (ctx, src: string, dst: string, opts: { recursive?: boolean; delta?: boolean; quiet?: boolean }) => {
        const { scp } = await import('../commands/scp.js');
        await scp(ctx.store, src, dst, opts);
      }),
    );

  for (const [name, description] of [
    ['start', 'Start a machine'],
    ['stop', 'Stop a machine'],
    ['restart', 'Restart a machine'],
    ['kill', 'Kill a machine'],
  ] as const) {
    program
      .command(name)
      .description(description)
      .argument('[name...]')
      .action(
        action(async (ctx, names: string[]) => {
          const { lifecycle } = await import('../commands/lifecycle.js');
          const { namesOrDefault } = await import('../commands/common.js');
          await lifecycle(ctx.store, await namesOrDefault(ctx.store, names), name, line);
        }),
      );
  }

  program
    .command('rm')
    .description('Remove a machine')
    .argument('[name...]')
    .option('-f, --force', 'Remove local configuration even if machine cannot be removed, also implies an automatic yes (`-y`)')
    .option('-y', 'Assumes automatic yes to proceed with remove, without prompting further user confirmation')
    .action(
      action(async (ctx, names: string[], opts: { force?: boolean; y?: boolean }) => {
        const { rm } = await import('../commands/rm.js');
        await rm(ctx.store, names, { force: opts.force, yes: opts.y }, { out: line, err: (l) => process.stderr.write(`${l}\n`) });
      }),
    );

  program
    .command('regenerate-certs')
    .description('Regenerate TLS Certificates for a machine')
    .argument('[name...]')
    .option('-f, --force', 'Force rebuild and do not prompt')
    .option('--client-certs', 'Also regenerate client certificates and CA.')
    .action(
      action(async (ctx, names: string[], opts: { force?: boolean; clientCerts?: boolean }) => {
        const { regenerateCerts } = await import('../commands/reprovision.js');
        const { namesOrDefault } = await import('../commands/common.js');
        await regenerateCerts(ctx.store, await namesOrDefault(ctx.store, names), opts, line);
      }),
    );

  program
    .command('provision')
    .description('Re-provision existing machines')
    .argument('[name...]')
    .option('--proxy-from-env', "Take this shell's HTTP_PROXY/HTTPS_PROXY/NO_PROXY into the machine's daemon (replacing those stored at create)")
    .action(
      action(async (ctx, names: string[], opts: { proxyFromEnv?: boolean }) => {
        const { provision } = await import('../commands/reprovision.js');
        const { namesOrDefault } = await import('../commands/common.js');
        await provision(ctx.store, await namesOrDefault(ctx.store, names), line, opts);
      }),
    );

  program
    .command('upgrade')
    .description('Upgrade a machine to the latest version of Docker (its boot2docker ISO)')
    .argument('[name...]')
    .action(
      action(async (ctx, names: string[]) => {
        const { upgrade } = await import('../commands/reprovision.js');
        const { namesOrDefault } = await import('../commands/common.js');
        await upgrade(ctx.store, await namesOrDefault(ctx.store, names), line);
      }),
    );

  program
    .command('active')
    .description('Print which machine is active')
    .addOption(new Option('-t, --timeout <seconds>', 'Timeout in seconds, default to 10s').argParser(parseSeconds).default(10))
    .action(
      action(async (ctx, opts: { timeout: number }) => {
        const { active } = await import('../commands/active.js');
        line(await active(ctx.store, opts.timeout));
      }),
    );

  program
    .command('version')
    .description('Show the machine version or a machine docker version')
    .argument('[name]')
    .action(
      action(async (ctx, name: string | undefined) => {
        const { version } = await import('../commands/info.js');
        line(await version(ctx.store, name, VERSION_LINE));
      }),
    );

  program
    .command('logs')
    .description("Show a machine's console output of its last boot")
    .argument('[name...]')
    .option('--milestones', 'Only the boot milestones and their times')
    .action(
      action(async (ctx, names: string[], opts: { milestones?: boolean }) => {
        const { logs } = await import('../commands/logs.js');
        const { oneNameOrDefault } = await import('../commands/common.js');
        out(await logs(ctx.store, await oneNameOrDefault(ctx.store, names), opts));
      }),
    );

  program
    .command('ports')
    .description('List the published container ports forwarded to 127.0.0.1, and those that could not be')
    .argument('[name...]')
    .option('--format <format>', 'json for scripts')
    .action(
      action(async (ctx, names: string[], opts: { format?: string }) => {
        const { ports, renderPorts } = await import('../commands/ports.js');
        const { oneNameOrDefault } = await import('../commands/common.js');
        const result = await ports(ctx.store, await oneNameOrDefault(ctx.store, names));
        out(opts.format === 'json' ? JSON.stringify(result, null, 2) : renderPorts(result));
      }),
    );

  program
    .command('__port-forwarder', { hidden: true })
    .argument('<name>')
    .action(
      action(async (ctx, name: string) => {
        const { runForwarder } = await import('../forward/main.js');
        await runForwarder(ctx.store, name);
      }),
    );

  registerHostCommands(program);
  return program;
}

function camel(flag: string): string {
  return flag.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

export async function main(argv = process.argv): Promise<void> {
  await buildProgram().parseAsync(argv);
}
