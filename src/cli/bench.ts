/**
 * `taskloom bench [args...]`: runs the benchmark runner, `bench/run.ts`, under tsx, with the
 * arguments passed through. The benchmarks live in the repository, not in the published
 * package, so this works in a clone after `npm install`.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { ExitCode } from './exit-codes.js';

/** The package's root: dist/cli/ is two folders down. */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const RUNNER = join('bench', 'run.ts');

/**
 * Runs the benchmark runner and resolves with its exit code. While it runs, Ctrl-C is left
 * to the runner.
 */
export async function benchCommand(args: readonly string[]): Promise<number> {
  const runner = join(ROOT, RUNNER);
  if (!existsSync(runner)) {
    process.stderr.write(
      `taskloom bench: the benchmark runner ${RUNNER} was not found in ${ROOT}.\n` +
        'The benchmarks run from a clone of the taskloom repository, after npm install.\n',
    );
    return ExitCode.BAD_INPUT;
  }
  try {
    createRequire(join(ROOT, 'package.json')).resolve('tsx');
  } catch {
    process.stderr.write('taskloom bench: the benchmarks need tsx, a development dependency: run npm install in the repository first.\n');
    return ExitCode.BAD_INPUT;
  }
  const child = spawn(process.execPath, ['--import', 'tsx', runner, ...args], { cwd: ROOT, stdio: 'inherit' });
  // The terminal sends Ctrl-C to the runner too: let it decide, and report how it ended.
  const ignore = (): void => {
    // Nothing: the runner handles it.
  };
  process.on('SIGINT', ignore);
  try {
    return await new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code, signal) => resolve(code ?? (signal === 'SIGINT' ? ExitCode.INTERRUPTED : ExitCode.TASK_FAILED)));
    });
  } finally {
    process.off('SIGINT', ignore);
  }
}
