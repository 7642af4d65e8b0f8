import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** The consumer project the packed package is installed into, once for every test. */
let dir = '';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'taskloom-pack-'));
  // `npm test` has just built dist; packing must not rebuild it under the other test files.
  await run('npm', ['pack', '--ignore-scripts', '--pack-destination', dir], { cwd: ROOT });
  const tarball = (await readdir(dir)).find((name) => name.endsWith('.tgz'));
  expect(tarball).toBeDefined();
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', join(dir, tarball!)], { cwd: dir });
}, 180_000);

afterAll(async () => {
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

/** Every file under `folder`, relative to it. */
async function listFiles(folder: string): Promise<string[]> {
  const entries = await readdir(folder, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => relative(folder, join(entry.parentPath, entry.name)));
}

describe('the published package', () => {
  it('installs from `npm pack` and runs a worker task whose entry resolves from dist', { timeout: 120_000 }, async () => {
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

  it(
    'runs `taskloom bench --quick` on plain Node against Piscina, listing the peer pools that are not installed',
    { timeout: 300_000 },
    async () => {
      const taskloom = join(dir, 'node_modules', '.bin', 'taskloom');
      const installed = join(dir, 'node_modules', 'taskloom');
      const filesBefore = await listFiles(installed);
      // Only taskloom and its dependencies are installed: no tinypool, workerpool, poolifier or p-queue, and no tsx.
      expect(existsSync(join(dir, 'node_modules', 'tsx'))).toBe(false);

      const bench = await run(taskloom, ['bench', '--quick', '--out', 'bench-results/quick.json'], {
        cwd: dir,
        timeout: 240_000,
        maxBuffer: 16 << 20,
      });

      // The same table as in a clone, with taskloom's and Piscina's rows, and every scenario ran.
      expect(bench.stdout).toMatch(/^Scenario\s+Metric\s+Subject\s+p50\s+spread\s+p99/m);
      expect(bench.stdout).toMatch(/^latency\s+submit → result on main\s+taskloom\s+\d/m);
      expect(bench.stdout).toMatch(/^latency\s+submit → result on main\s+piscina\s+\d/m);
      expect(bench.stdout).toMatch(/^throughput\s+no-op tasks, all at once\s+taskloom\s+[\d,]+/m);
      expect(bench.stdout).toMatch(/^throughput\s+no-op tasks, all at once\s+piscina\s+[\d,]+/m);
      expect(bench.stdout).not.toMatch(/^\S+\s+.+\s(tinypool|workerpool|poolifier)\s+[\d,.]+\s/m);
      expect(bench.stdout).toContain(
        'Not measured: tinypool (not installed), workerpool (not installed), poolifier (not installed), p-queue (not installed).',
      );
      expect(bench.stdout).toContain('npm install --save-dev tinypool workerpool poolifier p-queue');
      expect(bench.stderr).not.toContain('failed');

      // The report went where --out said, from the current directory, and names the package measured.
      const report = JSON.parse(await readFile(join(dir, 'bench-results', 'quick.json'), 'utf8')) as {
        mode: string;
        machine: { taskloom: string };
        scenarios: Record<string, { error?: string }>;
        skipped: { name: string; reason: string }[];
      };
      expect(report.mode).toBe('quick');
      expect(report.machine.taskloom).toMatch(/^taskloom@\d+\.\d+\.\d+.* \(installed package\)$/);
      expect(Object.values(report.scenarios).filter((scenario) => scenario.error !== undefined)).toEqual([]);
      expect(Object.keys(report.scenarios)).toEqual(
        expect.arrayContaining([
          'latency',
          'throughput',
          'cpu-scaling',
          'poolifier-workload',
          'priority-flood',
          'cancellation',
          'progress',
          'memory',
          'map',
        ]),
      );
      expect(report.skipped.map((peer) => peer.name)).toEqual(['tinypool', 'workerpool', 'poolifier', 'p-queue']);
      expect(await readFile(join(dir, 'bench-results', 'quick.md'), 'utf8')).toContain('<!-- bench:headline:start -->');

      // Without --out, an installed package prints only: nothing is written, least of all into node_modules.
      const printOnly = await run(taskloom, ['bench', '--quick', '--only', 'map'], { cwd: dir, timeout: 120_000 });
      expect(printOnly.stdout).toContain('wrote nothing (pass --out <file.json> to keep the report)');
      expect(await listFiles(installed)).toEqual(filesBefore);
    },
  );
});
