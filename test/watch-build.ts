/**
 * Vitest's global setup. The tests import the built package from dist, so in watch mode
 * (`npm run test:watch`) the compiler runs in watch mode beside Vitest: a saved source file is
 * rebuilt into dist, and Vitest reruns the tests that import it. `vitest run` builds nothing here.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';
import type { TestProject } from 'vitest/node';

const TSC = createRequire(import.meta.url).resolve('typescript/bin/tsc');

export default async function setup(project: TestProject): Promise<(() => void) | undefined> {
  if (!project.vitest.config.watch) return undefined;
  const tsc = spawn(process.execPath, [TSC, '-p', 'tsconfig.build.json', '--watch', '--preserveWatchOutput'], {
    cwd: project.vitest.config.root,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  // Print the compiler's errors, and start the tests once its first build is written.
  const firstBuild = new Promise<void>((resolve, reject) => {
    tsc.once('error', reject);
    tsc.once('exit', (code) => {
      reject(new Error(`tsc --watch exited with code ${String(code)} before its first build`));
    });
    createInterface({ input: tsc.stdout }).on('line', (line) => {
      if (line.includes('error TS')) process.stderr.write(`${line}\n`);
      if (line.includes('Watching for file changes')) resolve();
    });
  });
  await firstBuild;
  return () => {
    tsc.kill();
  };
}
