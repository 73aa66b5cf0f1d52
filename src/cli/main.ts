import { Command, Option } from 'commander';
import { defaultStoragePath } from '../store/store.js';
import { action } from './action.js';
import { COMMANDS } from './commands.js';
import { VERSION_LINE } from './version.js';

/** The program: docker-machine's global options, then every command of the table in cli/commands. */
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

  for (const def of COMMANDS) {
    const cmd = program.command(def.name, { hidden: def.hidden }).description(def.description);
    for (const [syntax, description] of def.args ?? []) cmd.argument(syntax, description);
    for (const option of def.options?.() ?? []) cmd.addOption(option);
    def.configure?.(cmd, program);
    cmd.action(action((ctx, ...args) => def.run(ctx, args.slice(0, -1) as never, args[args.length - 1] as never, program)));
  }
  return program;
}

export async function main(argv = process.argv): Promise<void> {
  await buildProgram().parseAsync(argv);
}
