import type { Command } from 'commander';
import { completionScript, completionSpec } from '../env/completion.js';

/** `machine completion SHELL`: the script for bash, zsh, fish or powershell, from the CLI's own commands. */
export function completion(program: Command, shell: string): string {
  return completionScript(completionSpec(program), shell);
}
