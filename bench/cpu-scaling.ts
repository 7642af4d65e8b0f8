/**
 * Scenario 3, CPU scaling: a CPU-bound task (sha256 over a 64 KiB buffer, chained, calibrated
 * to take about TASK_MS here) run many times with pool sizes from 1 to os.availableParallelism().
 * Speedup is the throughput at size n over the throughput at size 1, in the same round;
 * efficiency is speedup / n.
 *
 * Efficiency also falls when other processes take the cores, which a shared machine's do. So
 * each round also reports utilisation: the time the workers spent inside the task, over pool
 * size × wall time. It falls only when the pool leaves a worker idle between tasks.
 */
import { sha256Rounds } from './fixtures/work.js';
import { checkTarget, FigureSet, type ScenarioResult } from './lib/figures.js';
import { openPool, type BenchPool, type PoolName } from './lib/pools.js';
import { roundCount } from './lib/rounds.js';
import type { Scenario, ScenarioContext } from './lib/scenario.js';
import { summarizePerRound } from './lib/stats.js';

const TASK_MS = 8;
const SUBJECTS: readonly PoolName[] = ['piscina', 'taskloom'];

/** How many sha256 rounds take about TASK_MS on this machine, measured on the main thread. */
function calibrate(): { rounds: number; taskMs: number } {
  const probe = 20;
  sha256Rounds(probe);
  // The fastest of a few: on a shared machine the others include time stolen by other processes.
  const perRound = Math.min(...Array.from({ length: 7 }, () => sha256Rounds(probe))) / probe;
  const rounds = Math.max(10, Math.ceil(TASK_MS / perRound));
  return { rounds, taskMs: sha256Rounds(rounds) };
}

interface Sample {
  /** Tasks per second. */
  readonly rate: number;
  /** Time inside the task over pool size × wall time. */
  readonly utilization: number;
}

async function measure(pool: BenchPool, size: number, tasks: number, hashRounds: number): Promise<Sample> {
  const started = performance.now();
  const durations = (await Promise.all(Array.from({ length: tasks }, () => pool.run('sha256', hashRounds)))) as number[];
  const wallMs = performance.now() - started;
  const busyMs = durations.reduce((sum, ms) => sum + ms, 0);
  return { rate: (tasks / wallMs) * 1000, utilization: busyMs / (size * wallMs) };
}

async function run(context: ScenarioContext): Promise<ScenarioResult> {
  const maxSize = context.poolSize;
  const tasks = context.quick ? 16 * maxSize : 40 * maxSize;
  const rounds = roundCount(context);
  const { rounds: hashRounds, taskMs } = calibrate();
  const figures = new FigureSet('cpu-scaling');
  const efficiencyMetric = `efficiency at pool size ${maxSize}`;

  // Every (pool, size) stays open and each round goes round all of them, so that a busy patch of
  // a shared machine hits every pool and size alike; speedups pair sizes within one round.
  const pools: { pool: BenchPool; size: number; samples: Sample[] }[] = [];
  try {
    for (const name of SUBJECTS) {
      for (let size = 1; size <= maxSize; size++) {
        context.log(`cpu-scaling: opening ${name}, pool size ${size}`);
        const pool = await openPool(name, size);
        pools.push({ pool, size, samples: [] });
        await pool.runAll('sha256', hashRounds, size);
      }
    }
    for (let round = 0; round < rounds; round++) {
      context.log(`cpu-scaling: round ${round + 1} of ${rounds}`);
      for (let turn = 0; turn < pools.length; turn++) {
        const entry = pools[(round + turn) % pools.length];
        entry?.samples.push(await measure(entry.pool, entry.size, tasks, hashRounds));
      }
    }
  } finally {
    for (const { pool } of pools) pool.release();
  }

  for (const name of SUBJECTS) {
    const ofSize = (size: number): Sample[] => pools.find((entry) => entry.pool.name === name && entry.size === size)?.samples ?? [];
    const single = ofSize(1);
    for (let size = 1; size <= maxSize; size++) {
      const samples = ofSize(size);
      figures.add(
        `sha256 tasks/s at pool size ${size}`,
        name,
        'tasks/s',
        'higher',
        summarizePerRound(samples.map((sample) => sample.rate)),
      );
      figures.add(
        `worker utilisation at pool size ${size}`,
        name,
        '',
        'higher',
        summarizePerRound(samples.map((sample) => sample.utilization)),
      );
      if (size === 1) continue;
      // Each round's speedup pairs that round's rates at size n and at size 1.
      const speedups = samples.map((sample, round) => sample.rate / (single[round]?.rate ?? Number.NaN));
      figures.add(`speedup at pool size ${size}`, name, '×', 'higher', summarizePerRound(speedups));
      figures.add(`efficiency at pool size ${size}`, name, '', 'higher', summarizePerRound(speedups.map((speedup) => speedup / size)));
    }
  }

  return {
    figures: figures.figures(),
    targets: [
      checkTarget(
        'CPU efficiency at least 0.9 with the pool as large as the machine’s cores',
        `taskloom p50 ${efficiencyMetric}`,
        maxSize === 1 ? 1 : figures.median(efficiencyMetric, 'taskloom'),
        0.9,
        '',
        'higher',
      ),
    ],
    checks: [],
    notes: [
      `task: sha256 over 64 KiB chained ${hashRounds} times, ${taskMs.toFixed(1)} ms on the main thread; ${tasks} tasks per round, all submitted at once, ${rounds} rounds going round every pool and size (all kept open); ` +
        'each figure is the median of its rounds, its spread their lowest to highest; a speedup pairs the rates of one round',
      `pool sizes 1 to ${maxSize} (os.availableParallelism()); the main thread and any other process share the same cores`,
      'utilisation: the sum of the tasks’ own durations (measured in the worker) over pool size × wall time',
    ],
  };
}

export const scenario: Scenario = { name: 'cpu-scaling', title: 'CPU scaling', run };
