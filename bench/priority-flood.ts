/**
 * Scenario 5, priority under a flood: 100,000 low-priority tasks queued, each spinning for
 * TASK_MS, then one high-priority task; its wait from submission until its handler's first
 * line. It should start as soon as one running task ends: within TASK_MS plus 1 ms.
 *
 * Raw Piscina has no priorities: its high-priority task would wait for every task queued ahead
 * of it. The baseline is what a Piscina user builds instead: p-queue with priorities in front
 * of a Piscina pool, at the same concurrency (when p-queue is installed).
 *
 * Rounds go round both subjects, each visit a fresh flood: a new manager or pool, filled, probed,
 * then stopped with its queue.
 */
import { TaskManager } from 'taskloom';
import { wallNow } from './fixtures/work.js';
import { checkTarget, FigureSet, type ScenarioResult } from './lib/figures.js';
import { PEERS } from './lib/peers.js';
import { managerOptions, newPiscina, taskloomHandler } from './lib/pools.js';
import { goRound, PerRound, roundCount } from './lib/rounds.js';
import { delay, type Scenario, type ScenarioContext } from './lib/scenario.js';
import { summarizePerRound, summarizeRounds } from './lib/stats.js';

const TASK_MS = 5;
const WAIT = 'high-priority task: submit → first line';
const ENQUEUE = 'queue one low-priority task';
const BASELINE = 'p-queue → piscina';

interface Flood {
  /**
   * Queues `count` low-priority tasks and resolves, once the pool is busy with them, with the
   * milliseconds the queuing itself took (it is synchronous).
   */
  fill(count: number): Promise<number>;
  /** Submits one high-priority task and resolves with the time its first line ran. */
  urgent(): Promise<number>;
  close(): Promise<void>;
}

/** Resolves once `count` more calls of the returned `onStarted` have been made. */
function startedCounter(count: number): { onStarted: () => void; busy: Promise<void> } {
  let started = 0;
  let resolveBusy: (() => void) | undefined;
  const busy = new Promise<void>((resolve) => (resolveBusy = resolve));
  return {
    onStarted: () => {
      if (++started === count) resolveBusy?.();
    },
    busy,
  };
}

async function taskloomFlood(size: number): Promise<Flood> {
  const manager = new TaskManager(managerOptions(size));
  const spin = taskloomHandler('spinFor');
  const firstLine = taskloomHandler('firstLine');
  for (let i = 0; i < size * 8; i++) manager.createTask('warm-up', firstLine);
  await manager.onIdle();
  return {
    async fill(count) {
      // The flood is under way once every thread has started a second low-priority task.
      const { onStarted, busy } = startedCounter(size * 2);
      manager.on('started', onStarted);
      const started = performance.now();
      for (let i = 0; i < count; i++) manager.createTask('low', spin, { priority: 0, args: TASK_MS });
      const queuedMs = performance.now() - started;
      await busy;
      manager.off('started', onStarted);
      return queuedMs;
    },
    async urgent() {
      const task = await manager.waitFor(manager.createTask('high', firstLine, { priority: 1 }));
      if (task.state !== 'completed') throw new Error(`the high-priority task ended ${task.state}: ${task.error ?? ''}`);
      return task.result as number;
    },
    close: () => manager.stop(),
  };
}

async function piscinaBehindPQueue(PQueue: NonNullable<(typeof PEERS)['p-queue']>, size: number): Promise<Flood> {
  const piscina = newPiscina(size);
  const queue = new PQueue({ concurrency: size });
  await Promise.all(Array.from({ length: size * 8 }, () => piscina.run(undefined, { name: 'firstLine' })));
  return {
    async fill(count) {
      const { onStarted, busy } = startedCounter(size * 2);
      const low = (): Promise<unknown> => {
        onStarted();
        return piscina.run(TASK_MS, { name: 'spinFor' });
      };
      const started = performance.now();
      for (let i = 0; i < count; i++) void queue.add(low, { priority: 0 });
      const queuedMs = performance.now() - started;
      await busy;
      return queuedMs;
    },
    urgent: () => queue.add(() => piscina.run(undefined, { name: 'firstLine' }) as Promise<number>, { priority: 1 }),
    async close() {
      queue.clear();
      await queue.onIdle();
      await piscina.destroy();
    },
  };
}

async function measure(flood: Flood, count: number, probes: number): Promise<{ waits: number[]; enqueueUs: number }> {
  const enqueueUs = ((await flood.fill(count)) * 1000) / count;
  const waits: number[] = [];
  for (let i = 0; i < probes; i++) {
    // Land at a random point of the running tasks' spin.
    await delay(Math.random() * TASK_MS);
    const submittedAt = wallNow();
    const firstLineAt = await flood.urgent();
    waits.push(firstLineAt - submittedAt);
  }
  return { waits, enqueueUs };
}

async function run(context: ScenarioContext): Promise<ScenarioResult> {
  const count = context.quick ? 10_000 : 100_000;
  const probes = context.quick ? 10 : 50;
  const rounds = roundCount(context);
  const figures = new FigureSet('priority-flood');
  const PQueue = PEERS['p-queue'];
  const subjects: [string, () => Promise<Flood>][] = [['taskloom', () => taskloomFlood(context.poolSize)]];
  if (PQueue !== undefined) subjects.unshift([BASELINE, () => piscinaBehindPQueue(PQueue, context.poolSize)]);
  const waits = new PerRound<number[]>();
  const enqueue = new PerRound();
  const visits = subjects.map(([name, open]) => ({
    name,
    async measure() {
      const flood = await open();
      try {
        const measured = await measure(flood, count, probes);
        waits.add(name, measured.waits);
        enqueue.add(name, measured.enqueueUs);
      } finally {
        await flood.close();
      }
    },
  }));
  await goRound(context, 'priority-flood', rounds, visits);
  for (const [name, samples] of waits.entries()) figures.add(WAIT, name, 'ms', 'lower', summarizeRounds(samples), BASELINE);
  for (const [name, samples] of enqueue.entries()) figures.add(ENQUEUE, name, 'µs', 'lower', summarizePerRound(samples), BASELINE);
  return {
    figures: figures.figures(),
    targets: [
      checkTarget(
        'the high-priority task starts within one running task’s duration plus 1 ms, at p50',
        `taskloom p50 ${WAIT} (running tasks spin ${TASK_MS} ms)`,
        figures.median(WAIT, 'taskloom'),
        TASK_MS + 1,
        'ms',
        'lower',
      ),
      checkTarget(
        'the high-priority task starts within one running task’s duration plus 2 ms, at p99',
        `taskloom p99 ${WAIT} (running tasks spin ${TASK_MS} ms)`,
        figures.median(WAIT, 'taskloom', 'p99'),
        TASK_MS + 2,
        'ms',
        'lower',
      ),
    ],
    checks: [],
    notes: [
      `${count.toLocaleString('en-US')} low-priority tasks of ${TASK_MS} ms each queued on a pool of ${context.poolSize}, then ${probes} high-priority probes, one at a time, each at a random point of the running tasks; ` +
        `${rounds} rounds, each a fresh flood for every subject in turn; p50 and p99 are the medians of the rounds' own`,
      `baseline: p-queue (concurrency ${context.poolSize}, priorities) in front of Piscina; raw Piscina alone is FIFO, so its probe would wait for the whole queue (${((count * TASK_MS) / context.poolSize / 1000).toFixed(0)} s)`,
    ],
  };
}

export const scenario: Scenario = { name: 'priority-flood', title: 'Priority under a flood', run };
