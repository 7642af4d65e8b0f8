/**
 * Scenario 8, memory: heap bytes per pending task, at 100,000 and (full runs only) 1,000,000
 * pending tasks. Each measurement runs in a fresh process with --expose-gc
 * (bench/fixtures/memory-process.ts): heapUsed after full GCs, before and after queuing tasks
 * that cannot start. Baselines: raw Piscina's queue (every thread held) and p-queue's (paused).
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { checkTarget, FigureSet, type ScenarioResult, type Target } from './lib/figures.js';
import { fixture } from './lib/pools.js';
import type { Scenario, ScenarioContext } from './lib/scenario.js';
import { summarize } from './lib/stats.js';

const execFileAsync = promisify(execFile);
const SUBJECTS = ['piscina', 'taskloom', 'p-queue'] as const;
const KIB = 1024;

async function measure(subject: string, count: number, threads: number): Promise<number> {
  const execArgv = process.execArgv.includes('--expose-gc') ? process.execArgv : [...process.execArgv, '--expose-gc'];
  const { stdout } = await execFileAsync(
    process.execPath,
    [...execArgv, fileURLToPath(fixture('memory-process.ts')), subject, String(count), String(threads)],
    {
      maxBuffer: 1 << 20,
    },
  );
  const line = stdout.trim().split('\n').at(-1) ?? '';
  return (JSON.parse(line) as { bytesPerTask: number }).bytesPerTask;
}

async function run(context: ScenarioContext): Promise<ScenarioResult> {
  // At a million, p-queue is left out: it is not a worker pool, and each measurement takes seconds.
  const sizes: [count: number, repeats: number, subjects: readonly string[]][] = context.quick
    ? [[100_000, 1, SUBJECTS]]
    : [
        [100_000, 2, SUBJECTS],
        [1_000_000, 1, ['piscina', 'taskloom']],
      ];
  const figures = new FigureSet('memory');
  const targets: Target[] = [];
  for (const [count, repeats, subjects] of sizes) {
    const metric = `heap per pending task, ${count.toLocaleString('en-US')} pending`;
    for (const subject of subjects) {
      context.log(`memory: ${subject}, ${count.toLocaleString('en-US')} pending`);
      const samples: number[] = [];
      for (let i = 0; i < repeats; i++) samples.push(await measure(subject, count, context.poolSize));
      figures.add(metric, subject, 'B', 'lower', summarize(samples));
    }
    targets.push(
      checkTarget(
        'under 1 KiB of heap per pending task',
        `taskloom p50 ${metric}`,
        figures.find(metric, 'taskloom')?.p50,
        KIB,
        'B',
        'lower',
      ),
    );
  }
  return {
    figures: figures.figures(),
    targets,
    checks: [],
    notes: [
      'each figure from a fresh process: heapUsed after three full GCs, before and after queuing the tasks, over their number',
      'taskloom: autoStart false, a worker handler, a number as args, the returned ids dropped; piscina: every thread held, run() promises dropped; p-queue: paused, add() promises dropped',
    ],
  };
}

export const scenario: Scenario = { name: 'memory', title: 'Memory per pending task', run };
