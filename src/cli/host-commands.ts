import { type Command, Option } from 'commander';
import { action, line, out } from './action.js';

/**
 * Commands of the host experience (docker contexts, doctor, shell completion, quickstart, paths):
 * registered here, implemented in src/commands/.
 */
export function registerHostCommands(program: Command): void {
  program
    .command('use')
    .description("Make a machine the docker CLI's current context (or go back to the default with --unset)")
    .argument('[name]', 'machine name (default: "default")')
    .option('-u, --unset', 'Go back to the docker CLI\'s "default" context')
    .addHelpText(
      'after',
      `
Machine NAME gets the docker context "machine-NAME" ("default" is docker's own, reserved name), written
in the docker CLI's format with the machine's TLS certificates under $DOCKER_CONFIG (~/.docker), and
made current: every terminal's docker CLI then talks to the machine, no "machine env" needed.

  machine use default                      # docker now uses machine "default"
  docker --context machine-dev ps          # one command against another machine
  machine use --unset                      # back to docker's default context

"machine rm NAME" removes the context again. DOCKER_HOST, if set in a shell, wins over contexts.`,
    )
    .action(
      action(async (ctx, name: string | undefined, opts: { unset?: boolean }) => {
        const { use, renderUse } = await import('../commands/use.js');
        const rendered = renderUse(await use(ctx.store, name ? [name] : [], opts));
        for (const w of rendered.err) process.stderr.write(`${w}\n`);
        for (const l of rendered.out) line(l);
      }),
    );

  program
    .command('path')
    .description('Print the path a host folder has in the VM, for "docker run -v" (C:\\Users\\me\\app is /c/Users/me/app)')
    .argument('<path...>', 'host paths (relative ones from the current folder)')
    .option('-m, --machine <name>', 'The machine whose shared folders to use (default: "default", or DOCKER_MACHINE_NAME)')
    .action(
      action(async (ctx, paths: string[], opts: { machine?: string }) => {
        const { vmPaths } = await import('../commands/path.js');
        const result = await vmPaths(ctx.store, paths, opts.machine);
        for (const w of result.warnings) process.stderr.write(`${w}\n`);
        out(result.paths.map((p) => `${p}\n`).join(''));
      }),
    );

  program
    .command('doctor')
    .description('Check this computer for what machines need, one line per check with its verdict and fix (exit 1 if one fails)')
    .argument('[name...]', 'machines to check (default: all)')
    .addOption(new Option('--format <format>', 'Print the checks as json').choices(['json']))
    .action(
      action(async (ctx, names: string[], opts: { format?: string }) => {
        const { doctor, renderDoctor } = await import('../commands/doctor.js');
        const report = await doctor(ctx.store, names);
        out(
          opts.format === 'json' ? `${JSON.stringify(report, null, 2)}\n` : renderDoctor(report, { color: Boolean(process.stdout.isTTY) }),
        );
        return report.checks.some((c) => c.status === 'fail') ? 1 : 0;
      }),
    );

  program
    .command('completion')
    .description('Print the shell completion script for bash, zsh, fish or powershell')
    .argument('<shell>', 'bash, zsh, fish or powershell')
    .addHelpText(
      'after',
      `
  bash:        echo 'source <(machine completion bash)' >> ~/.bashrc
  zsh:         echo 'source <(machine completion zsh)' >> ~/.zshrc      (after compinit)
  fish:        machine completion fish > ~/.config/fish/completions/machine.fish
  PowerShell:  machine completion powershell | Out-String | Invoke-Expression   (add it to $PROFILE)`,
    )
    .action(
      action(async (_ctx, shell: string) => {
        const { completion } = await import('../commands/completion.js');
        out(completion(program, shell));
      }),
    );

  program
    .command('quickstart')
    .description('Create "default" if missing, start it, check its certificates and print how to reach it (what bin/quickstart runs)')
    .argument('[name]', 'machine name (default: DOCKER_MACHINE_NAME, else "default")')
    .action(
      action(async (ctx, name: string | undefined) => {
        const { quickstart, renderBanner } = await import('../commands/quickstart.js');
        const result = await quickstart(ctx.store, name ?? (process.env.DOCKER_MACHINE_NAME || 'default'));
        out(renderBanner(result, { color: Boolean(process.stdout.isTTY) && !process.env.NO_COLOR }));
      }),
    );
}
