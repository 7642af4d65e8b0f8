import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const dirs: string[] = [];

afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

describe('the published package', () => {
  it('installs from `npm pack` and runs a worker task whose entry resolves from dist', { timeout: 180_000 }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'taskloom-pack-'));
    dirs.push(dir);
    // `npm test` has just built dist; packing must not rebuild it under the other test files.
    await run('npm', ['pack', '--ignore-scripts', '--pack-destination', dir], { cwd: ROOT });
    const tarball = (await readdir(dir)).find((name) => name.endsWith('.tgz'));
    expect(tarball).toBeDefined();
    await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', join(dir, tarball!)], { cwd: dir });
    await writeFile(join(dir, 'square.mjs'), 'export function square(task, n) { task.progress = 100; return n * n; }\n');
    await writeFile(
      join(dir, 'main.mjs'),
      [
        "import { TaskManager, workerTask } from 'taskloom';",
        'const manager = new TaskManager({ maxConcurrentTasks: 2, autoStart: true });',
        "const id = manager.createTask('Square', workerTask(new URL('./square.mjs', import.meta.url), 'square'), { args: 12 });",
        'const task = await manager.waitFor(id);',
        'await manager.stop();',
        'console.log(JSON.stringify({ state: task.state, result: task.result, progress: task.progress }));',
      ].join('\n'),
    );
    const { stdout } = await run(process.execPath, ['main.mjs'], { cwd: dir, timeout: 60_000 });
    expect(JSON.parse(stdout.trim())).toEqual({ state: 'completed', result: 144, progress: 100 });
    // The command is installed too, and runs a job file from the installed package.
    await writeFile(
      join(dir, 'jobs.json'),
      JSON.stringify([{ name: 'Square', handler: { module: './square.mjs', export: 'square' }, args: 9 }]),
    );
    const cli = await run(join(dir, 'node_modules', '.bin', 'taskloom'), ['run', 'jobs.json', '--json'], { cwd: dir, timeout: 60_000 });
    expect(cli.stdout).toContain('"result": 81');
  });
});
