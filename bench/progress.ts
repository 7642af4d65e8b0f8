/**
 * Scenario 7, progress: a worker sets progress in a tight loop, yielding a microtask between
 * settings so that each one is sent, then waits until the main thread has received them all
 * (the main thread says so through a SharedArrayBuffer). Figures: progress events per second
 * received on the main thread, and the main thread's busy time per event (event-loop
 * utilisation, which counts the main thread only).
 *
 * Checks that no progress event arrives after a task's final event: for loops that return as
 * soon as they have sent their last update (whatever is still in flight is dropped, since the
 * outcome carries the final progress), and for a loop cancelled mid-stream.
 *
 * Baseline: what a raw Piscina user writes: a MessagePort passed in with the task, one
 * postMessage per update, counted by a listener on the main thread.
 */
import { MessageChannel } from 'node:worker_threads';
import { TaskManager, type Task } from 'taskloom';
import { release } from './fixtures/work.js';
import { FigureSet, type Check, type ScenarioResult } from './lib/figures.js';
import { managerOptions, newPiscina, taskloomHandler } from './lib/pools.js';
import { goRound, PerRound, roundCount } from './lib/rounds.js';
import { delay, type Scenario, type ScenarioContext } from './lib/scenario.js';
import { summarizePerRound } from './lib/stats.js';

const RATE = 'progress events received';
const COST = 'main-thread busy time per event';
/** How long to keep listening after a task's final event for a straggling progress event. */
const LATE_WINDOW_MS = 100;

interface Round {
  readonly events: number;
  readonly ms: number;
  readonly busyMs: number;
}

/** Runs `once` (one task that sends `count` updates) and measures the main thread around it. */
async function measureRound(once: (received: SharedArrayBuffer) => Promise<number>): Promise<Round> {
  const received = new SharedArrayBuffer(4);
  const elu = performance.eventLoopUtilization();
  const started = performance.now();
  const events = await once(received);
  const ms = performance.now() - started;
  return { events, ms, busyMs: performance.eventLoopUtilization(elu).active };
}

/** A subject of the scenario: `once` runs one task that sends `updates` progress updates. */
interface Subject {
  readonly name: string;
  once(updates: number, received: SharedArrayBuffer): Promise<number>;
  close(): Promise<void>;
}

function piscinaSubject(size: number): Subject {
  const piscina = newPiscina(size);
  return {
    name: 'piscina',
    async once(updates, received) {
      const { port1, port2 } = new MessageChannel();
      let events = 0;
      port1.on('message', () => {
        if (++events === updates) release(received);
      });
      const isReceived: unknown = await piscina.run(
        { port: port2, count: updates, received },
        { name: 'progressLoop', transferList: [port2] },
      );
      port1.close();
      if (isReceived !== true) throw new Error(`piscina: the main thread received ${events} of ${updates} progress messages`);
      return events;
    },
    close: () => piscina.destroy(),
  };
}

/** taskloom, with a watch for progress events after a task's final event, which `check` reports. */
function taskloomSubject(size: number): Subject & { check(count: number): Promise<Check> } {
  const manager = new TaskManager(managerOptions(size));
  const loop = taskloomHandler('progressLoop');
  const finalStates = new Map<string, string>();
  const late: string[] = [];
  const counted = new Map<string, { events: number; updates: number; received: SharedArrayBuffer }>();
  manager.on('progress', (task: Task) => {
    if (finalStates.has(task.id)) late.push(`${task.name} (${task.id}) after it was ${finalStates.get(task.id) ?? ''}`);
    const tally = counted.get(task.id);
    if (tally === undefined) return;
    if (++tally.events === tally.updates) release(tally.received);
  });
  const onFinal = (task: Task): void => {
    finalStates.set(task.id, task.state);
  };
  manager.on('completed', onFinal).on('failed', onFinal).on('cancelled', onFinal);
  return {
    name: 'taskloom',
    async once(updates, received) {
      const id = manager.createTask('progress', loop, { args: { count: updates, received } });
      const tally = { events: 0, updates, received };
      counted.set(id, tally);
      const task = await manager.waitFor(id);
      counted.delete(id);
      if (task.state !== 'completed' || task.result !== true) {
        throw new Error(
          `taskloom: the progress task ended ${task.state}, having delivered ${tally.events} of ${updates} updates ${task.error ?? ''}`,
        );
      }
      return tally.events;
    },
    // The drop path: loops that end without waiting, so that updates are still in flight when
    // their outcome arrives, and a loop cancelled once a tenth of its updates have arrived.
    async check(count) {
      for (let i = 0; i < 3; i++) await manager.waitFor(manager.createTask('progress, unacknowledged', loop, { args: { count } }));
      const id = manager.createTask('progress, cancelled', loop, { args: { count: count * 10 } });
      await new Promise<void>((resolve) => {
        let seen = 0;
        const listener = (task: Task): void => {
          if (task.id !== id || ++seen < count / 10) return;
          manager.off('progress', listener);
          resolve();
        };
        manager.on('progress', listener);
      });
      manager.cancelTask(id);
      await manager.onIdle();
      await delay(LATE_WINDOW_MS);
      return {
        check: 'no progress event after a task’s final event',
        passed: late.length === 0,
        detail:
          late.length === 0
            ? `none for ${finalStates.size} tasks (3 ending with updates in flight, 1 cancelled mid-stream), listening ${LATE_WINDOW_MS} ms past the end`
            : `${late.length} late: ${late.slice(0, 3).join('; ')}`,
      };
    },
    close: () => manager.stop(),
  };
}

async function run(context: ScenarioContext): Promise<ScenarioResult> {
  const count = context.quick ? 20_000 : 200_000;
  const rounds = roundCount(context);
  const figures = new FigureSet('progress');
  const piscina = piscinaSubject(context.poolSize);
  const taskloom = taskloomSubject(context.poolSize);
  const measured = new PerRound<Round>();
  let check: Check;
  try {
    const subjects = [piscina, taskloom];
    // Warm up each path, then go round.
    for (const subject of subjects) await subject.once(100, new SharedArrayBuffer(4));
    const visits = subjects.map((subject) => ({
      name: subject.name,
      async measure() {
        measured.add(subject.name, await measureRound((received) => subject.once(count, received)));
      },
    }));
    await goRound(context, 'progress', rounds, visits);
    check = await taskloom.check(count);
  } finally {
    await piscina.close();
    await taskloom.close();
  }
  for (const [subject, results] of measured.entries()) {
    figures.add(RATE, subject, 'events/s', 'higher', summarizePerRound(results.map((round) => (round.events / round.ms) * 1000)));
  }
  for (const [subject, results] of measured.entries()) {
    figures.add(COST, subject, 'µs', 'lower', summarizePerRound(results.map((round) => (round.busyMs / round.events) * 1000)));
  }
  return {
    figures: figures.figures(),
    targets: [],
    checks: [check],
    notes: [
      `${count.toLocaleString('en-US')} updates per task; ${rounds} rounds, each running one task on each subject in turn from a different start, ` +
        'timed from submission until its result, which the worker sends once the main thread has received every update; each figure is the median of its rounds',
      "taskloom's figures include building each event's task snapshot for the listener",
    ],
  };
}

export const scenario: Scenario = { name: 'progress', title: 'Progress messages', run };
