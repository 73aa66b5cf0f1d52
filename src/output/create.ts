import type { CreateResult } from '../tasks/create.js';

/** docker-machine's closing lines of a create, and the context made current, if any. */
export function renderCreated(result: CreateResult, commandLine: string): string {
  return [
    'Docker is up and running!',
    ...(result.context ? [`Current context is now "${result.context}": the docker CLI uses machine "${result.name}"`] : []),
    `To see how to connect your Docker Client to the Docker Engine running on this virtual machine, run: ${commandLine.split(' ')[0]} env ${result.name}`,
  ].join('\n');
}
