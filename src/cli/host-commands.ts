import type { Command } from 'commander';

/**
 * Commands of the host experience (docker contexts, doctor, shell completion): registered here,
 * implemented in src/commands/.
 */
export function registerHostCommands(program: Command): void {
  void program;
}
