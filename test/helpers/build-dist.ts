import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/**
 * Vitest's globalSetup: bin/machine and the tests' child node processes run dist/, so it is brought
 * up to date once before any test, never tested stale. `tsc -b` keeps its build info in
 * dist/tsconfig.tsbuildinfo (git-ignored) and takes about a second when nothing changed.
 */
export default function buildDist(): void {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const root = fileURLToPath(new URL('../..', import.meta.url));
  try {
    execFileSync(process.execPath, [tsc, '-b', 'tsconfig.json'], { cwd: root, encoding: 'utf8', stdio: 'pipe' });
  } catch (err) {
    const { stdout = '', stderr = '' } = err as { stdout?: string; stderr?: string };
    throw new Error(`tsc -b tsconfig.json failed (the tests run dist/, built from these sources):\n${stdout}${stderr}`);
  }
}
