/**
 * `taskloom bench [options]`: runs the benchmark runner with the options passed through. The
 * runner is compiled into the package (dist/bench/run.js) and runs on plain Node, from an
 * installed package as from a clone; it measures taskloom against Piscina and against each
 * peer pool installed next to it. In a clone whose dist holds no compiled benchmark, the runner
 * runs from its sources, bench/run.ts, under tsx.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ExitCode } from './exit-codes.js';

/** The package's root: dist/cli/ is two folders down. */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const COMPILED_RUNNER = fileURLToPath(new URL('../bench/run.js', import.meta.url));
const SOURCE_RUNNER = join(ROOT, 'bench', 'run.ts');

/** How to start the runner: Node's arguments, or why it cannot be started. */
function runnerArguments(): { readonly argv: string[] } | { readonly problem: string } {
  if (existsSync(COMPILED_RUNNER)) return { argv: [COMPILED_RUNNER] };
  if (!existsSync(SOURCE_RUNNER)) {
    return { problem: `the benchmark runner was not found: this build of taskloom has no ${join('dist', 'bench', 'run.js')}.` };
  }
  try {
    createRequire(join(ROOT, 'package.json')).resolve('tsx');
  } catch {
    return { problem: 'the benchmarks are not built, and running them from their sources needs tsx: run npm install, then npm run build.' };
  }
  return { argv: ['--import', 'tsx', SOURCE_RUNNER] };
}

/**
 * Runs the benchmark runner in the current directory (a relative `--out` is taken from it) and
 * resolves with its exit code. While it runs, Ctrl-C is left to the runner.
 */
export async function benchCommand(args: readonly string[]): Promise<number> {
  const runner = runnerArguments();
  if ('problem' in runner) {
    process.stderr.write(`taskloom bench: ${runner.problem}\n`);
    return ExitCode.BAD_INPUT;
  }
  const child = spawn(process.execPath, [...runner.argv, ...args], { stdio: 'inherit' });
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
