/**
 * Scenario 1, scheduling latency: one task at a time on an idle pool. For each subject, the time
 * from submitting a task to its handler's first line in the worker, and to its result back on
 * the main thread. Both ends read performance.timeOrigin + performance.now() on their own thread.
 * Baselines: a postMessage round trip on a bare worker, and raw Piscina run().
 */
import { Worker } from 'node:worker_threads';
import { Bench } from 'tinybench';
import { wallNow } from './fixtures/work.js';
import { checkTarget, FigureSet, type ScenarioResult } from './lib/figures.js';
import { TaskManager } from 'taskloom';
import { fixture, managerOptions, openPool, POOL_NAMES, taskloomHandler, type BenchPool } from './lib/pools.js';
import type { Scenario, ScenarioContext } from './lib/scenario.js';
import { summarize } from './lib/stats.js';

const TO_FIRST_LINE = 'submit → handler first line';
const TO_RESULT = 'submit → result on main';

interface Subject {
  readonly name: string;
  /** Runs `firstLine` once and resolves with the time the handler's first line ran. */
  readonly firstLine: () => Promise<number>;
  readonly close: () => Promise<void>;
}

async function bareWorker(): Promise<Subject> {
  const worker = new Worker(fixture('bare-worker.ts'));
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
    close: async () => {
      pool.release();
    },
  };
}

interface Samples {
  readonly toFirstLine: number[];
  readonly toResult: number[];
}

/** One tinybench pass over `subject`; its timed samples are added to `samples`. */
async function pass(subject: Subject, context: ScenarioContext, passes: number, samples: Samples): Promise<void> {
  let toFirstLine: number[] = [];
  let toResult: number[] = [];
  const bench = new Bench({
    name: `latency: ${subject.name}`,
    time: (context.quick ? 300 : 3000) / passes,
    iterations: (context.quick ? 100 : 1000) / passes,
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
  samples.toFirstLine.push(...toFirstLine);
  samples.toResult.push(...toResult);
}

async function run(context: ScenarioContext): Promise<ScenarioResult> {
  const figures = new FigureSet('latency');
  const passes = context.quick ? 1 : 3;
  const subjects: Subject[] = [];
  const samples = new Map<Subject, Samples>();
  try {
    subjects.push(await bareWorker());
    for (const name of POOL_NAMES) subjects.push(poolSubject(await openPool(name, context.poolSize)));
    subjects.push(await taskloomWithManagerChannel(context.poolSize));
    // Every subject stays open and the passes go round them in a rotating order, so that a busy
    // patch of a shared machine falls on every subject alike.
    for (const subject of subjects) samples.set(subject, { toFirstLine: [], toResult: [] });
    for (let round = 0; round < passes; round++) {
      for (let turn = 0; turn < subjects.length; turn++) {
        const subject = subjects[(round + turn) % subjects.length] as Subject;
        context.log(`latency: pass ${round + 1} of ${passes}, ${subject.name}`);
        await pass(subject, context, passes, samples.get(subject) as Samples);
      }
    }
  } finally {
    for (const subject of subjects) await subject.close();
  }
  for (const [subject, { toFirstLine }] of samples) figures.add(TO_FIRST_LINE, subject.name, 'ms', 'lower', summarize(toFirstLine));
  for (const [subject, { toResult }] of samples) figures.add(TO_RESULT, subject.name, 'ms', 'lower', summarize(toResult));
  const taskloom = figures.find(TO_FIRST_LINE, 'taskloom');
  const piscina = figures.find(TO_FIRST_LINE, 'piscina');
  const ratio = taskloom !== undefined && piscina !== undefined ? taskloom.p50 / piscina.p50 : undefined;
  return {
    figures: figures.figures(),
    targets: [
      checkTarget(
        'scheduling latency p50 within 1.25x of raw Piscina run()',
        `taskloom p50 ÷ Piscina p50, ${TO_FIRST_LINE}`,
        ratio,
        1.25,
        '×',
        'lower',
      ),
    ],
    checks: [],
    notes: [
      `pool size ${context.poolSize}; one task at a time, driven by tinybench in ${passes} pass(es) going round every subject; clock performance.timeOrigin + performance.now() on both threads`,
      'taskloom: createTask then waitFor; Piscina and tinypool: run(); workerpool: exec(); poolifier: execute(); bare worker: postMessage and one reply',
      'taskloom, manager channel open: the same, on a manager whose every worker has first opened its channel to the manager (task.manager); the handler measured does not use it',
    ],
  };
}

export const scenario: Scenario = { name: 'latency', title: 'Scheduling latency', run };
