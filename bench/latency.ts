/**
 * Scenario 1, scheduling latency: one task at a time on an idle pool. For each subject, the time
 * from submitting a task to its handler's first line in the worker, and to its result back on
 * the main thread. Both ends read performance.timeOrigin + performance.now() on their own thread.
 * Baselines: a postMessage round trip on a bare worker, and raw Piscina run(); with --baseline,
 * also another build of taskloom. Every subject stays open and each round visits every one.
 */
import { Worker } from 'node:worker_threads';
import { Bench } from 'tinybench';
import { wallNow } from './fixtures/work.js';
import { BASELINE_NAME } from './lib/builds.js';
import { checkTarget, FigureSet, type ScenarioResult, type Target } from './lib/figures.js';
import { TaskManager } from 'taskloom';
import { fixture } from './lib/paths.js';
import { managerOptions, openComparedPools, taskloomHandler, type BenchPool } from './lib/pools.js';
import { roundCount } from './lib/rounds.js';
import type { Scenario, ScenarioContext } from './lib/scenario.js';
import { summarizeRounds } from './lib/stats.js';

const TO_FIRST_LINE = 'submit → handler first line';
const TO_RESULT = 'submit → result on main';

interface Subject {
  readonly name: string;
  /** Runs `firstLine` once and resolves with the time the handler's first line ran. */
  readonly firstLine: () => Promise<number>;
  readonly close: () => Promise<void>;
}

async function bareWorker(): Promise<Subject> {
  const worker = new Worker(fixture('bare-worker'));
  const firstLine = (): Promise<number> =>
    new Promise((resolve) => {
      worker.once('message', resolve);
      worker.postMessage(0);
    });
  for (let i = 0; i < 50; i++) await firstLine();
  return {
    name: 'bare worker',
    firstLine,
    close: async () => {
      await worker.terminate();
    },
  };
}

/**
 * taskloom after every worker has opened its channel to the manager (task.manager): the
 * channel must cost nothing to handlers that do not use it.
 */
async function taskloomWithManagerChannel(size: number): Promise<Subject> {
  const manager = new TaskManager(managerOptions(size));
  const touch = taskloomHandler('touchManager');
  const firstLine = taskloomHandler('firstLine');
  // Enough runs that every worker has opened its channel.
  await Promise.all(Array.from({ length: size * 8 }, () => manager.waitFor(manager.createTask('touch', touch))));
  return {
    name: 'taskloom, manager channel open',
    firstLine: async () => (await manager.waitFor(manager.createTask('firstLine', firstLine))).result as number,
    close: () => manager.stop(),
  };
}

function poolSubject(pool: BenchPool): Subject {
  return {
    name: pool.name,
    firstLine: async () => (await pool.run('firstLine')) as number,
    close: () => {
      pool.release();
      return Promise.resolve();
    },
  };
}

interface Samples {
  readonly toFirstLine: number[];
  readonly toResult: number[];
}

/** One subject's samples, one array per round. */
interface RoundSamples {
  readonly toFirstLine: number[][];
  readonly toResult: number[][];
}

/** One round's tinybench pass over `subject`: its timed samples. */
async function pass(subject: Subject, context: ScenarioContext, rounds: number): Promise<Samples> {
  let toFirstLine: number[] = [];
  let toResult: number[] = [];
  const bench = new Bench({
    name: `latency: ${subject.name}`,
    time: (context.quick ? 300 : 3000) / rounds,
    iterations: Math.ceil((context.quick ? 100 : 1000) / rounds),
    warmupTime: context.quick ? 100 : 200,
    warmupIterations: 50,
    throws: true,
  });
  bench.add(
    subject.name,
    async () => {
      const submittedAt = wallNow();
      const firstLineAt = await subject.firstLine();
      const resultAt = wallNow();
      toFirstLine.push(firstLineAt - submittedAt);
      toResult.push(resultAt - submittedAt);
      return { overriddenDuration: resultAt - submittedAt };
    },
    {
      // Only the timed phase's samples count, not the warm-up's.
      beforeAll: () => {
        toFirstLine = [];
        toResult = [];
      },
    },
  );
  await bench.run();
  return { toFirstLine, toResult };
}

async function run(context: ScenarioContext): Promise<ScenarioResult> {
  const figures = new FigureSet('latency');
  const rounds = roundCount(context);
  const subjects: Subject[] = [];
  const samples = new Map<Subject, RoundSamples>();
  try {
    subjects.push(await bareWorker());
    for (const pool of await openComparedPools(context.poolSize, context.baseline)) subjects.push(poolSubject(pool));
    subjects.push(await taskloomWithManagerChannel(context.poolSize));
    // Every subject stays open and each round visits every one, starting one subject further
    // along each time, so that a busy patch of a shared machine falls on every subject alike.
    for (const subject of subjects) samples.set(subject, { toFirstLine: [], toResult: [] });
    for (let round = 0; round < rounds; round++) {
      for (let turn = 0; turn < subjects.length; turn++) {
        const subject = subjects[(round + turn) % subjects.length] as Subject;
        context.log(`latency: round ${round + 1} of ${rounds}, ${subject.name}`);
        const { toFirstLine, toResult } = await pass(subject, context, rounds);
        const ofSubject = samples.get(subject) as RoundSamples;
        ofSubject.toFirstLine.push(toFirstLine);
        ofSubject.toResult.push(toResult);
      }
    }
  } finally {
    for (const subject of subjects) await subject.close();
  }
  for (const [subject, { toFirstLine }] of samples) figures.add(TO_FIRST_LINE, subject.name, 'ms', 'lower', summarizeRounds(toFirstLine));
  for (const [subject, { toResult }] of samples) figures.add(TO_RESULT, subject.name, 'ms', 'lower', summarizeRounds(toResult));
  // Sequential latency: createTask then waitFor, one task at a time, as Piscina's run() is awaited.
  const targets: Target[] = [
    checkTarget(
      'sequential latency: p50 at most 1.15x raw Piscina',
      `taskloom p50 ÷ Piscina p50, ${TO_RESULT}`,
      figures.compare(TO_RESULT, 'taskloom', 'piscina'),
      1.15,
      '×',
      'lower',
    ),
    checkTarget(
      'sequential latency: p99 at most 1.5x raw Piscina',
      `taskloom p99 ÷ Piscina p99, ${TO_RESULT}`,
      figures.compare(TO_RESULT, 'taskloom', 'piscina', 'p99'),
      1.5,
      '×',
      'lower',
    ),
  ];
  if (context.baseline !== undefined) {
    for (const metric of [TO_FIRST_LINE, TO_RESULT]) {
      targets.push(
        checkTarget(
          'scheduling latency no worse than the baseline build',
          `taskloom p50 ÷ ${BASELINE_NAME} p50, ${metric}`,
          figures.compare(metric, 'taskloom', BASELINE_NAME),
          1,
          '×',
          'lower',
        ),
      );
    }
  }
  return {
    figures: figures.figures(),
    targets,
    checks: [],
    notes: [
      `pool size ${context.poolSize}; one task at a time, driven by tinybench in ${rounds} rounds, each visiting every subject in turn from a different start; ` +
        "p50 and p99 are the medians of the rounds' own; clock performance.timeOrigin + performance.now() on both threads",
      'taskloom: createTask then waitFor; Piscina and tinypool: run(); workerpool: exec(); poolifier: execute(); bare worker: postMessage and one reply',
      'taskloom, manager channel open: the same, on a manager whose every worker has first opened its channel to the manager (task.manager); the handler measured does not use it',
      ...(context.baseline === undefined
        ? []
        : [`${BASELINE_NAME}: the same as taskloom, on the baseline build's TaskManager and workerTask, with the same handler module`]),
    ],
  };
}

export const scenario: Scenario = { name: 'latency', title: 'Scheduling latency', run };
