/**
 * Scenario 2, throughput: no-op tasks through each pool, all submitted at once, and through a
 * bounded window of tasks in flight; tasks per second. Main-thread work is compared with
 * p-queue at the same concurrency: taskloom with a function handler, p-queue with a function.
 * With --baseline, another build of taskloom runs next to the current one in every round.
 */
import { BASELINE_NAME, CURRENT, type TaskloomBuild } from './lib/builds.js';
import { checkTarget, FigureSet, type ScenarioResult, type Target } from './lib/figures.js';
import { PEERS } from './lib/peers.js';
import { managerOptions, openComparedPools, runWindowed } from './lib/pools.js';
import { goRound, PerRound, roundCount, type Visit } from './lib/rounds.js';
import { timed, type Scenario, type ScenarioContext } from './lib/scenario.js';
import { summarizePerRound } from './lib/stats.js';

const AT_ONCE = 'no-op tasks, all at once';
const windowed = (window: number): string => `no-op tasks, window of ${window}`;
const MAIN_THREAD = 'main-thread no-op tasks, all at once';

async function run(context: ScenarioContext): Promise<ScenarioResult> {
  const count = context.quick ? 5_000 : 50_000;
  const rounds = roundCount(context);
  const window = context.poolSize * 4;
  const figures = new FigureSet('throughput');
  const rate = (ms: number): number => (count / ms) * 1000;

  context.log('throughput: opening the pools');
  const pools = await openComparedPools(context.poolSize, context.baseline);
  const atOnce = new PerRound();
  const inWindow = new PerRound();
  try {
    const visits = pools.map((pool) => ({
      name: pool.name,
      async measure() {
        atOnce.add(pool.name, rate(await timed(() => pool.runAll('noop', undefined, count))));
        inWindow.add(pool.name, rate(await timed(() => runWindowed(pool, 'noop', undefined, count, window))));
      },
    }));
    await goRound(context, 'throughput: pools', rounds, visits);
  } finally {
    for (const pool of pools) pool.release();
  }
  for (const [name, samples] of atOnce.entries()) figures.add(AT_ONCE, name, 'tasks/s', 'higher', summarizePerRound(samples));
  for (const [name, samples] of inWindow.entries()) figures.add(windowed(window), name, 'tasks/s', 'higher', summarizePerRound(samples));

  // Main-thread work: a fresh manager or queue each round, as a user starts one.
  const mainThread = new PerRound();
  const noop = (): undefined => undefined;
  const manager = (build: TaskloomBuild): Visit => ({
    name: build.name,
    async measure() {
      const tasks = new build.TaskManager(managerOptions(context.poolSize));
      const ms = await timed(async () => {
        for (let i = 0; i < count; i++) tasks.createTask('noop', noop);
        await tasks.onIdle();
      });
      await tasks.stop();
      mainThread.add(build.name, rate(ms));
    },
  });
  const PQueue = PEERS['p-queue'];
  const pQueue: Visit[] =
    PQueue === undefined
      ? []
      : [
          {
            name: 'p-queue',
            async measure() {
              const queue = new PQueue({ concurrency: context.poolSize });
              const ms = await timed(async () => {
                for (let i = 0; i < count; i++) void queue.add(noop);
                await queue.onIdle();
              });
              mainThread.add('p-queue', rate(ms));
            },
          },
        ];
  const builds = context.baseline === undefined ? [CURRENT] : [CURRENT, context.baseline];
  const mainThreadVisits = [...builds.map(manager), ...pQueue];
  // The pools' rounds ran worker handlers only: one round first, not counted, warms up this path.
  await goRound(context, 'throughput: main thread, warm-up', 1, mainThreadVisits);
  mainThread.clear();
  await goRound(context, 'throughput: main thread', rounds, mainThreadVisits);
  for (const [name, samples] of mainThread.entries()) {
    figures.add(MAIN_THREAD, name, 'tasks/s', 'higher', summarizePerRound(samples), 'p-queue');
  }

  const targets: Target[] = [
    checkTarget(
      'no-op tasks all at once: at least 2x raw Piscina',
      `taskloom p50 ÷ Piscina p50, ${AT_ONCE}`,
      figures.compare(AT_ONCE, 'taskloom', 'piscina'),
      2,
      '×',
      'higher',
    ),
    checkTarget(
      'no-op tasks all at once: at least 1x poolifier',
      `taskloom p50 ÷ poolifier p50, ${AT_ONCE}`,
      figures.compare(AT_ONCE, 'taskloom', 'poolifier'),
      1,
      '×',
      'higher',
    ),
    checkTarget(
      `no-op tasks in a window of ${window}: at least 1x raw Piscina`,
      `taskloom p50 ÷ Piscina p50, ${windowed(window)}`,
      figures.compare(windowed(window), 'taskloom', 'piscina'),
      1,
      '×',
      'higher',
    ),
  ];
  if (context.baseline !== undefined) {
    for (const metric of [AT_ONCE, windowed(window), MAIN_THREAD]) {
      targets.push(
        checkTarget(
          'no-op throughput no worse than the baseline build',
          `taskloom p50 ÷ ${BASELINE_NAME} p50, ${metric}`,
          figures.compare(metric, 'taskloom', BASELINE_NAME),
          1,
          '×',
          'higher',
        ),
      );
    }
  }
  return {
    figures: figures.figures(),
    targets,
    checks: [],
    notes: [
      `${count.toLocaleString('en-US')} tasks per round, ${rounds} rounds, each visiting every pool (all kept open) in turn from a different start; ` +
        `p50 is the median of the rounds, spread their lowest to highest; pool size ${context.poolSize}; window ${window} tasks in flight`,
      'all at once: taskloom creates every task then awaits onIdle(); the others await Promise.all of every run',
      'poolifier runs with its defaults: no task queue, so it posts every task to a worker at once rather than one per free worker',
      'window: each of the window lanes awaits one task before submitting the next (taskloom: createTask then waitFor)',
      `main thread: taskloom runs a function handler with maxConcurrentTasks ${context.poolSize}; p-queue runs the same function with concurrency ${context.poolSize}; ` +
        'a new manager or queue each round, the rounds going round them likewise',
      ...(context.baseline === undefined
        ? []
        : [`${BASELINE_NAME}: the same as taskloom, on the baseline build's TaskManager and workerTask, with the same handler module`]),
    ],
  };
}

export const scenario: Scenario = { name: 'throughput', title: 'No-op throughput', run };
