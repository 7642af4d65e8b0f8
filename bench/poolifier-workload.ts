/**
 * Scenario 4, the workload of poolifier's benchmark: 100,000 tasks of BigInt factorial(1000),
 * all submitted at once, to each pool in its own process (bench/fixtures/workload-process.ts);
 * the wall time from the first submission to the last result, and the whole process's.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { FigureSet, type ScenarioResult } from './lib/figures.js';
import { fixture, POOL_NAMES, type PoolName } from './lib/pools.js';
import type { Scenario, ScenarioContext } from './lib/scenario.js';
import { summarize } from './lib/stats.js';

const execFileAsync = promisify(execFile);
const N = 1000;

interface ChildReport {
  readonly runMs: number;
}

async function runInProcess(name: PoolName, size: number, tasks: number): Promise<{ runMs: number; processMs: number }> {
  const started = performance.now();
  const { stdout } = await execFileAsync(
    process.execPath,
    [...process.execArgv, fileURLToPath(fixture('workload-process.ts')), name, String(size), String(tasks), String(N)],
    { maxBuffer: 1 << 20 },
  );
  const processMs = performance.now() - started;
  const line = stdout.trim().split('\n').at(-1) ?? '';
  const report = JSON.parse(line) as ChildReport;
  return { runMs: report.runMs, processMs };
}

async function run(context: ScenarioContext): Promise<ScenarioResult> {
  const tasks = context.quick ? 1_000 : 100_000;
  const figures = new FigureSet('poolifier-workload');
  const runMetric = `${tasks.toLocaleString('en-US')} × factorial(${N}), wall time`;
  const processMetric = `${tasks.toLocaleString('en-US')} × factorial(${N}), whole process`;
  const results = new Map<PoolName, { runMs: number; processMs: number }>();
  for (const name of POOL_NAMES) {
    context.log(`poolifier-workload: ${name}`);
    results.set(name, await runInProcess(name, context.poolSize, tasks));
  }
  for (const [name, { runMs }] of results) figures.add(runMetric, name, 'ms', 'lower', summarize([runMs]));
  for (const [name, { processMs }] of results) figures.add(processMetric, name, 'ms', 'lower', summarize([processMs]));
  return {
    figures: figures.figures(),
    targets: [],
    checks: [],
    notes: [
      `each pool in its own process, pool size ${context.poolSize}, one run each (a full run of the five takes minutes); wall time counts from the first submission to the last result, the pool already started`,
      'whole process: from spawning the child (node --import tsx) to its exit, pool start-up and module loading included',
      'poolifier runs with its defaults: no task queue, so every task is posted to a worker at once',
    ],
  };
}

export const scenario: Scenario = { name: 'poolifier-workload', title: "poolifier's benchmark workload", run };
