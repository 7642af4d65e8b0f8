/**
 * Scenario 2, throughput: no-op tasks through each pool, all submitted at once, and through a
 * bounded window of tasks in flight; tasks per second. Main-thread work is compared with
 * p-queue at the same concurrency: taskloom with a function handler, p-queue with a function.
 */
import PQueue from 'p-queue';
import { TaskManager } from 'taskloom';
import { checkTarget, FigureSet, type ScenarioResult, type Target } from './lib/figures.js';
import { managerOptions, openPool, POOL_NAMES, runWindowed, type BenchPool, type PoolName } from './lib/pools.js';
import { timed, type Scenario, type ScenarioContext } from './lib/scenario.js';
import { summarize } from './lib/stats.js';

const AT_ONCE = 'no-op tasks, all at once';
const windowed = (window: number): string => `no-op tasks, window of ${window}`;
const MAIN_THREAD = 'main-thread no-op tasks, all at once';

async function run(context: ScenarioContext): Promise<ScenarioResult> {
  const count = context.quick ? 5_000 : 100_000;
  const rounds = context.quick ? 1 : 2;
  const window = context.poolSize * 4;
  const figures = new FigureSet('throughput');
  const rate = (ms: number): number => (count / ms) * 1000;

  // Every pool stays open and the rounds go round the pools, in a rotating order, so that a busy
  // patch of a shared machine falls on every pool alike rather than on whichever ran then.
  context.log(`throughput: opening ${POOL_NAMES.join(', ')}`);
  const pools: BenchPool[] = [];
  for (const name of POOL_NAMES) pools.push(await openPool(name, context.poolSize));
  const atOnce = new Map<PoolName, number[]>(POOL_NAMES.map((name) => [name, []]));
  const inWindow = new Map<PoolName, number[]>(POOL_NAMES.map((name) => [name, []]));
  try {
    for (let round = 0; round < rounds; round++) {
      for (let turn = 0; turn < pools.length; turn++) {
        const pool = pools[(round + turn) % pools.length] as BenchPool;
        context.log(`throughput: round ${round + 1} of ${rounds}, ${pool.name}`);
        atOnce.get(pool.name)?.push(rate(await timed(() => pool.runAll('noop', undefined, count))));
        inWindow.get(pool.name)?.push(rate(await timed(() => runWindowed(pool, 'noop', undefined, count, window))));
      }
    }
  } finally {
    for (const pool of pools) pool.release();
  }
  for (const [name, samples] of atOnce) figures.add(AT_ONCE, name, 'tasks/s', 'higher', summarize(samples));
  for (const [name, samples] of inWindow) figures.add(windowed(window), name, 'tasks/s', 'higher', summarize(samples));

  context.log('throughput: main thread, taskloom and p-queue');
  const mainThread = { taskloom: [] as number[], 'p-queue': [] as number[] };
  const noop = (): void => {};
  for (let round = 0; round < rounds; round++) {
    const manager = new TaskManager(managerOptions(context.poolSize));
    mainThread.taskloom.push(
      rate(
        await timed(async () => {
          for (let i = 0; i < count; i++) manager.createTask('noop', noop);
          await manager.onIdle();
        }),
      ),
    );
    await manager.stop();
    const queue = new PQueue({ concurrency: context.poolSize });
    mainThread['p-queue'].push(
      rate(
        await timed(async () => {
          for (let i = 0; i < count; i++) void queue.add(noop);
          await queue.onIdle();
        }),
      ),
    );
  }
  figures.add(MAIN_THREAD, 'taskloom', 'tasks/s', 'higher', summarize(mainThread.taskloom), 'p-queue');
  figures.add(MAIN_THREAD, 'p-queue', 'tasks/s', 'higher', summarize(mainThread['p-queue']), 'p-queue');

  const targets: Target[] = [];
  for (const metric of [AT_ONCE, windowed(window)]) {
    const taskloom = figures.find(metric, 'taskloom');
    const piscina = figures.find(metric, 'piscina');
    targets.push(
      checkTarget(
        'no-op throughput at least 0.9x of raw Piscina',
        `taskloom p50 ÷ Piscina p50, ${metric}`,
        taskloom !== undefined && piscina !== undefined ? taskloom.p50 / piscina.p50 : undefined,
        0.9,
        '×',
        'higher',
      ),
    );
    const peers = (['tinypool', 'workerpool', 'poolifier'] as const).map((peer) => ({ peer, summary: figures.find(metric, peer) }));
    const best = peers.reduce((a, b) => ((b.summary?.p50 ?? 0) > (a.summary?.p50 ?? 0) ? b : a));
    targets.push(
      checkTarget(
        'no-op throughput ahead of tinypool, workerpool and poolifier',
        `taskloom p50 ÷ the fastest of them (${best.peer}) p50, ${metric}`,
        taskloom !== undefined && best.summary !== undefined ? taskloom.p50 / best.summary.p50 : undefined,
        1,
        '×',
        'higher',
      ),
    );
  }
  return {
    figures: figures.figures(),
    targets,
    checks: [],
    notes: [
      `${count.toLocaleString('en-US')} tasks per round, ${rounds} round(s) going round every pool (all kept open); pool size ${context.poolSize}; window ${window} tasks in flight`,
      'all at once: taskloom creates every task then awaits onIdle(); the others await Promise.all of every run',
      'poolifier runs with its defaults: no task queue, so it posts every task to a worker at once rather than one per free worker',
      'window: each of the window lanes awaits one task before submitting the next (taskloom: createTask then waitFor)',
      `main thread: taskloom runs a function handler with maxConcurrentTasks ${context.poolSize}; p-queue runs the same function with concurrency ${context.poolSize}`,
    ],
  };
}

export const scenario: Scenario = { name: 'throughput', title: 'No-op throughput', run };
