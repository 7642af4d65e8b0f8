/**
 * Scenario 8, memory: heap bytes per pending task, at 100,000 and (full runs only) 1,000,000
 * pending tasks. Each measurement runs in a fresh process with --expose-gc
 * (bench/fixtures/memory-process.ts): heapUsed after full GCs, before and after queuing tasks
 * that cannot start. Baselines: raw Piscina's queue (every thread held) and p-queue's (paused),
 * when p-queue is installed.
 *
 * At 100,000 the rounds go round every subject, a fresh process for each visit. At 1,000,000
 * each subject is measured once: heap bytes per task count allocations, not time, so they move
 * by well under 1% from one process to the next (the rounds at 100,000 show it), and each such
 * process takes seconds.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { checkTarget, FigureSet, type ScenarioResult, type Target } from './lib/figures.js';
import { fixture } from './lib/paths.js';
import { PEERS } from './lib/peers.js';
import { goRound, PerRound, roundCount } from './lib/rounds.js';
import type { Scenario, ScenarioContext } from './lib/scenario.js';
import { summarize, summarizePerRound } from './lib/stats.js';

const execFileAsync = promisify(execFile);
const KIB = 1024;

async function measure(subject: string, count: number, threads: number): Promise<number> {
  const execArgv = process.execArgv.includes('--expose-gc') ? process.execArgv : [...process.execArgv, '--expose-gc'];
  const { stdout } = await execFileAsync(
    process.execPath,
    [...execArgv, fileURLToPath(fixture('memory-process')), subject, String(count), String(threads)],
    {
      maxBuffer: 1 << 20,
    },
  );
  const line = stdout.trim().split('\n').at(-1) ?? '';
  return (JSON.parse(line) as { bytesPerTask: number }).bytesPerTask;
}

async function run(context: ScenarioContext): Promise<ScenarioResult> {
  const rounds = roundCount(context);
  const subjects = PEERS['p-queue'] === undefined ? ['piscina', 'taskloom'] : ['piscina', 'taskloom', 'p-queue'];
  const figures = new FigureSet('memory');
  const targets: Target[] = [];
  const metric = (count: number): string => `heap per pending task, ${count.toLocaleString('en-US')} pending`;

  const perTask = new PerRound();
  const visits = subjects.map((subject) => ({
    name: subject,
    async measure() {
      perTask.add(subject, await measure(subject, 100_000, context.poolSize));
    },
  }));
  await goRound(context, 'memory: 100,000 pending', rounds, visits);
  for (const [subject, samples] of perTask.entries()) figures.add(metric(100_000), subject, 'B', 'lower', summarizePerRound(samples));
  const counts = [100_000];
  // At a million, p-queue is left out: it is not a worker pool, and each measurement takes seconds.
  if (!context.quick) {
    for (const subject of ['piscina', 'taskloom']) {
      context.log(`memory: ${subject}, 1,000,000 pending`);
      figures.add(metric(1_000_000), subject, 'B', 'lower', summarize([await measure(subject, 1_000_000, context.poolSize)]));
    }
    counts.push(1_000_000);
  }
  for (const count of counts) {
    targets.push(
      checkTarget(
        'under 1 KiB of heap per pending task',
        `taskloom p50 ${metric(count)}`,
        figures.median(metric(count), 'taskloom'),
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
      'each figure from a fresh process: heapUsed after three full GCs, before and after queuing the tasks, over their number; ' +
        `at 100,000 pending, ${rounds} rounds going round every subject, each figure the median of its rounds; at 1,000,000, one process per subject`,
      'taskloom: autoStart false, a worker handler, a number as args, the returned ids dropped; piscina: every thread held, run() promises dropped; p-queue: paused, add() promises dropped',
    ],
  };
}

export const scenario: Scenario = { name: 'memory', title: 'Memory per pending task', run };
