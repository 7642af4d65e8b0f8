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

interface Measured {
  readonly runMs: number;
  readonly processMs: number;
}

async function runInProcess(name: string, size: number, tasks: number): Promise<Measured> {
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

/** How a child process that failed ended: its exit code or signal, and the end of what it printed. */
function describeFailure(error: unknown): string {
  const { code, signal, stdout, stderr } = error as { code?: unknown; signal?: unknown; stdout?: unknown; stderr?: unknown };
  const tail = (text: unknown): string =>
    typeof text === 'string' && text.trim() !== '' ? text.trim().split('\n').slice(-3).join(' | ') : 'nothing';
  return `exit code ${String(code)}, signal ${String(signal)}; stdout: ${tail(stdout)}; stderr: ${tail(stderr)}`;
}

/**
 * Measures one pool in a fresh process, and once more if that process fails: a pool's process
 * that dies now and then (a peer's, once in a CI run, with no word on stderr) costs one
 * measurement, not the scenario. A second failure is thrown. Each retry is logged and noted.
 */
async function measureRetrying(name: string, size: number, tasks: number, context: ScenarioContext, retries: string[]): Promise<Measured> {
  try {
    return await runInProcess(name, size, tasks);
  } catch (error) {
    const failure = `${name}'s process failed (${describeFailure(error)}) and was run again`;
    context.log(`poolifier-workload: ${failure}`);
    retries.push(failure);
    return runInProcess(name, size, tasks);
  }
}

async function run(context: ScenarioContext): Promise<ScenarioResult> {
  const tasks = context.quick ? 1_000 : 100_000;
  const rounds = roundCount(context);
  const figures = new FigureSet('poolifier-workload');
  const runMetric = `${tasks.toLocaleString('en-US')} × factorial(${N}), wall time`;
  const processMetric = `${tasks.toLocaleString('en-US')} × factorial(${N}), whole process`;
  const runs = new PerRound();
  const processes = new PerRound();
  const retries: string[] = [];
  const visits = availablePools().map((name) => ({
    name,
    async measure() {
      const { runMs, processMs } = await measureRetrying(name, context.poolSize, tasks, context, retries);
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
      ...retries,
    ],
  };
}

export const scenario: Scenario = { name: 'poolifier-workload', title: "poolifier's benchmark workload", run };
