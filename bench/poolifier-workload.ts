/**
 * Scenario 4, the workload of poolifier's benchmark: 100,000 tasks of BigInt factorial(1000),
 * all submitted at once, to each pool in its own process (bench/fixtures/workload-process.ts);
 * the wall time from the first submission to the last result, and the whole process's. Rounds
 * go round every pool, a fresh process for each visit.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { checkTarget, FigureSet, type ScenarioResult } from './lib/figures.js';
import { fixture } from './lib/paths.js';
import { availablePools } from './lib/pools.js';
import { goRound, PerRound, roundCount } from './lib/rounds.js';
import type { Scenario, ScenarioContext } from './lib/scenario.js';
import { summarizePerRound } from './lib/stats.js';

const execFileAsync = promisify(execFile);
const N = 1000;

interface ChildReport {
  readonly runMs: number;
}

async function runInProcess(name: string, size: number, tasks: number): Promise<{ runMs: number; processMs: number }> {
  const started = performance.now();
  const { stdout } = await execFileAsync(
    process.execPath,
    [...process.execArgv, fileURLToPath(fixture('workload-process')), name, String(size), String(tasks), String(N)],
    { maxBuffer: 1 << 20 },
  );
  const processMs = performance.now() - started;
  const line = stdout.trim().split('\n').at(-1) ?? '';
  const report = JSON.parse(line) as ChildReport;
  return { runMs: report.runMs, processMs };
}

async function run(context: ScenarioContext): Promise<ScenarioResult> {
  const tasks = context.quick ? 1_000 : 100_000;
  const rounds = roundCount(context);
  const figures = new FigureSet('poolifier-workload');
  const runMetric = `${tasks.toLocaleString('en-US')} × factorial(${N}), wall time`;
  const processMetric = `${tasks.toLocaleString('en-US')} × factorial(${N}), whole process`;
  const runs = new PerRound();
  const processes = new PerRound();
  const visits = availablePools().map((name) => ({
    name,
    async measure() {
      const { runMs, processMs } = await runInProcess(name, context.poolSize, tasks);
      runs.add(name, runMs);
      processes.add(name, processMs);
    },
  }));
  await goRound(context, 'poolifier-workload', rounds, visits);
  for (const [name, samples] of runs.entries()) figures.add(runMetric, name, 'ms', 'lower', summarizePerRound(samples));
  for (const [name, samples] of processes.entries()) figures.add(processMetric, name, 'ms', 'lower', summarizePerRound(samples));
  return {
    figures: figures.figures(),
    targets: [
      checkTarget(
        "poolifier's own workload: wall time no worse than poolifier's",
        `taskloom p50 ÷ poolifier p50, ${runMetric}`,
        figures.compare(runMetric, 'taskloom', 'poolifier'),
        1,
        '×',
        'lower',
      ),
    ],
    checks: [],
    notes: [
      `each pool in its own process, pool size ${context.poolSize}; ${rounds} rounds, each running every pool once in turn from a different start; ` +
        'wall time counts from the first submission to the last result, the pool already started; each figure is the median of its rounds',
      'whole process: from spawning the child to its exit, pool start-up and module loading included',
      'poolifier runs with its defaults: no task queue, so every task is posted to a worker at once',
    ],
  };
}

export const scenario: Scenario = { name: 'poolifier-workload', title: "poolifier's benchmark workload", run };
