/**
 * The fault matrix: one row per way a task can go wrong. After every row the task's final
 * state and error are checked, the stats must add up, no unhandled rejection or process
 * warning may have been raised, and a new task on the same manager must still complete.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { workerTask, type TaskManager, type TaskManagerOptions } from 'taskloom';
import { createGate, waitGate } from './fixtures/gate.js';
import { createManager, fixture, REGISTER_TSX } from './helpers.js';

interface Expected {
  readonly id: string;
  readonly state: 'completed' | 'failed' | 'cancelled';
  readonly error?: string | RegExp;
  /** The `code` of the task's `failure`, when it is one of taskloom's. */
  readonly code?: string;
}

interface Row {
  readonly name: string;
  readonly options?: TaskManagerOptions;
  /** What the manager's logger must have written (at warn or above) by the end of the row. */
  readonly logs?: readonly RegExp[];
  /** Whether a new task on the same manager can complete afterwards (default true). */
  readonly recovers?: boolean;
  readonly run: (manager: TaskManager) => Promise<Expected[]>;
}

const worker =
  (exportName: string) =>
  async (manager: TaskManager): Promise<Expected[]> => {
    const id = manager.createTask(exportName, fixture(exportName));
    await manager.waitFor(id);
    return [{ id, state: 'failed' }];
  };

const failsWith =
  (exportName: string, error: string | RegExp, code?: string) =>
  async (manager: TaskManager): Promise<Expected[]> => {
    const [row] = await worker(exportName)(manager);
    return [{ ...row!, error, ...(code === undefined ? {} : { code }) }];
  };

const rows: Row[] = [
  { name: 'the handler throws a string', run: failsWith('throwsString', 'a non-Error value was thrown: "plain string"') },
  { name: 'the handler throws undefined', run: failsWith('throwsUndefined', 'a non-Error value was thrown: undefined') },
  { name: 'the handler throws an Error subclass', run: failsWith('throwsSubclass', 'QuotaError: quota exceeded') },
  { name: 'the handler rejects after a delay', run: failsWith('rejectsLater', 'rejected after a delay') },
  {
    name: 'the handler returns a function',
    run: failsWith(
      'returnsFunction',
      "TypeError: The handler's result cannot be cloned to the main thread: result is a function",
      'TASKLOOM_NOT_CLONEABLE',
    ),
  },
  {
    name: 'the handler returns a symbol',
    run: failsWith(
      'returnsSymbol',
      "TypeError: The handler's result cannot be cloned to the main thread: result is a symbol",
      'TASKLOOM_NOT_CLONEABLE',
    ),
  },
  {
    name: 'the handler returns a symbol deep inside its result',
    run: failsWith(
      'returnsNestedSymbol',
      "TypeError: The handler's result cannot be cloned to the main thread: result.deep.value is a symbol",
      'TASKLOOM_NOT_CLONEABLE',
    ),
  },
  {
    name: 'the handler calls process.exit(3)',
    run: failsWith('exits', 'the worker thread exited with code 3 while running the task', 'TASKLOOM_WORKER_EXITED'),
  },
  {
    name: 'the handler throws from a timer after it returned',
    logs: [/the task threw an uncaught exception after it had ended/, /thrown by a timer after the task returned/],
    // One thread, so that the next task runs on the worker that holds the stray timer. An idle
    // worker sleeps in Atomics.wait, so the timer fires only once a task lets the event loop turn.
    options: { maxConcurrentTasks: 1 },
    run: async (manager) => {
      const id = manager.createTask('late throw', fixture('throwsFromTimerAfterReturn'));
      expect((await manager.waitFor(id)).result).toBe('returned');
      const next = manager.createTask('yields', fixture('sleeps'), { args: 5 });
      expect((await manager.waitFor(next)).state).toBe('completed');
      return [
        { id, state: 'completed' },
        { id: next, state: 'completed' },
      ];
    },
  },
  {
    name: 'the handler throws from a callback while it runs',
    run: failsWith('throwsInCallback', 'thrown by a callback of the running task'),
  },
  {
    name: 'an endless synchronous loop is cancelled',
    options: { cancelGraceMs: 20 },
    run: async (manager) => {
      const started = createGate();
      const id = manager.createTask('spin', fixture('spin'), { args: { started } });
      await waitGate(started);
      expect(manager.cancelTask(id)).toBe(true);
      await manager.onIdle();
      return [{ id, state: 'cancelled' }];
    },
  },
  {
    name: 'an endless synchronous loop times out',
    options: { cancelGraceMs: 20 },
    run: async (manager) => {
      const id = manager.createTask('spin', fixture('spin'), { args: { started: createGate() }, timeoutMs: 40 });
      await manager.waitFor(id);
      return [{ id, state: 'failed', error: 'timed out after 40 ms', code: 'TASKLOOM_TASK_TIMEOUT' }];
    },
  },
  {
    name: 'the handler allocates until it runs out of memory under resourceLimits',
    options: { resourceLimits: { maxOldGenerationSizeMb: 32 } },
    run: failsWith('allocates', /^worker ran out of memory/, 'TASKLOOM_WORKER_OUT_OF_MEMORY'),
  },
  {
    name: 'the module lacks the named export',
    run: failsWith('missingExport', /has no function export named `missingExport` \(found no such export\)/, 'TASKLOOM_HANDLER_NOT_FOUND'),
  },
  {
    name: 'the export is not a function',
    run: failsWith('notAFunction', /has no function export named `notAFunction` \(found a number\)/, 'TASKLOOM_HANDLER_NOT_FOUND'),
  },
  {
    name: 'the module throws when imported',
    run: async (manager) => {
      const id = manager.createTask('bad module', workerTask(new URL('./fixtures/throws-on-import.ts', import.meta.url)));
      await manager.waitFor(id);
      return [
        {
          id,
          state: 'failed',
          error: /Could not load worker module .*throws-on-import\.ts: this module fails when imported/,
          code: 'TASKLOOM_MODULE_LOAD_FAILED',
        },
      ];
    },
  },
  {
    name: 'the arguments cannot be cloned to the worker',
    run: async (manager) => {
      const id = manager.createTask('bad args', fixture('echo'), { args: { callback: () => 1 } });
      await manager.waitFor(id);
      return [{ id, state: 'failed', error: /could not be cloned between threads/, code: 'TASKLOOM_DATA_CLONE_FAILED' }];
    },
  },
  {
    name: 'a main-thread handler throws synchronously',
    run: async (manager) => {
      const id = manager.createTask('sync throw', () => {
        throw new RangeError('bad range');
      });
      await manager.waitFor(id);
      return [{ id, state: 'failed', error: 'RangeError: bad range' }];
    },
  },
  {
    name: 'a worker preload fails',
    recovers: false,
    options: { workerPreload: [REGISTER_TSX, new URL('./fixtures/throws-on-import.ts', import.meta.url)] },
    run: failsWith('echo', /Worker preload .*throws-on-import\.ts failed: this module fails when imported/, 'TASKLOOM_PRELOAD_FAILED'),
  },
  {
    name: 'an event callback throws',
    logs: [/a task event listener failed/, /callback failure/, /listener failure/],
    run: async (manager) => {
      manager.addEventCallback(() => {
        throw new Error('callback failure');
      });
      manager.on('completed', () => Promise.reject(new Error('listener failure')));
      const id = manager.createTask('watched', fixture('echo'));
      await manager.waitFor(id);
      return [{ id, state: 'completed' }];
    },
  },
  {
    name: 'stop() while 1,000 tasks are pending and 4 are running, called twice',
    recovers: false,
    options: { maxConcurrentTasks: 4, cancelGraceMs: 50 },
    run: async (manager) => {
      const gates = Array.from({ length: 4 }, () => ({ started: createGate(), aborted: createGate() }));
      const running = gates.map((args, i) => manager.createTask(`running ${i}`, fixture('untilAborted'), { args, priority: 1 }));
      const pending = Array.from({ length: 1000 }, (_, i) => manager.createTask(`pending ${i}`, fixture('echo')));
      await Promise.all(gates.map((g) => waitGate(g.started)));
      expect(manager.getStats()).toMatchObject({ running: 4, pending: 1000 });
      const stopping = manager.stop();
      expect(manager.stop()).toBe(stopping);
      await stopping;
      return [...running, ...pending].map((id) => ({ id, state: 'cancelled' as const }));
    },
  },
  {
    name: 'cancel right after create, after completion, and twice',
    run: async (manager) => {
      const early = manager.createTask('early', fixture('echo'));
      expect(manager.cancelTask(early)).toBe(true);
      expect(manager.cancelTask(early)).toBe(false);
      const done = manager.createTask('done', fixture('echo'), { args: 'x' });
      await manager.waitFor(done);
      expect(manager.cancelTask(done)).toBe(false);
      return [
        { id: early, state: 'cancelled' },
        { id: done, state: 'completed' },
      ];
    },
  },
  {
    name: 'setPriority on a running or finished task',
    run: async (manager) => {
      const started = createGate();
      const release = createGate();
      const running = manager.createTask('running', fixture('waitForGate'), { args: { started, release } });
      await waitGate(started);
      expect(manager.setPriority(running, 50)).toBe(false);
      Atomics.store(release, 0, 1);
      Atomics.notify(release, 0);
      await manager.waitFor(running);
      expect(manager.setPriority(running, 50)).toBe(false);
      expect(manager.getTask(running)!.priority).toBe(0);
      return [{ id: running, state: 'completed' }];
    },
  },
];

describe('fault matrix', () => {
  const raised: string[] = [];
  const onRejection = (reason: unknown): void => {
    raised.push(`unhandledRejection: ${String(reason)}`);
  };
  const onWarning = (warning: Error): void => {
    raised.push(`warning: ${warning.name}: ${warning.message}`);
  };

  beforeEach(() => {
    raised.length = 0;
    process.on('unhandledRejection', onRejection);
    process.on('warning', onWarning);
  });

  afterEach(() => {
    process.off('unhandledRejection', onRejection);
    process.off('warning', onWarning);
  });

  for (const row of rows) {
    it(row.name, async () => {
      let logged = '';
      let onLog: (() => void) | undefined;
      const logger = pino(
        { level: 'warn' },
        new Writable({
          write: (chunk: Buffer, _encoding, done) => {
            logged += chunk.toString();
            onLog?.();
            done();
          },
        }),
      );
      const manager = createManager({ autoStart: true, maxConcurrentTasks: 2, logger, ...row.options });
      const expectations = await row.run(manager);
      for (const { id, state, error, code } of expectations) {
        const task = manager.getTask(id);
        if (code !== undefined) expect(task?.failure?.code, `failure code of ${task?.name}`).toBe(code);
        expect(task?.state, `state of ${task?.name}`).toBe(state);
        if (typeof error === 'string') expect(task?.error).toBe(error);
        else if (error instanceof RegExp) expect(task?.error).toMatch(error);
        if (state !== 'failed') expect(task?.error).toBeUndefined();
      }
      const stats = manager.getStats();
      expect(stats.total).toBe(stats.pending + stats.running + stats.completed + stats.failed + stats.cancelled);
      expect(stats.total).toBe(new Set(expectations.map((e) => e.id)).size);
      if (row.recovers !== false) {
        const next = await manager.waitFor(manager.createTask('next', fixture('echo'), { args: 'still fine' }));
        expect(next).toMatchObject({ state: 'completed', result: 'still fine' });
        // A second task on the worker that may have a stray timer pending.
        const again = await manager.waitFor(manager.createTask('again', fixture('echo'), { args: 2 }));
        expect(again.state).toBe('completed');
      }
      await new Promise((resolve) => setImmediate(resolve));
      expect(raised).toEqual([]);
      if (row.logs !== undefined) {
        const patterns = row.logs;
        const allLogged = (): boolean => patterns.every((pattern) => pattern.test(logged));
        // Worker log lines travel on their own port: wait for the lines rather than for time.
        await new Promise<void>((resolve) => {
          onLog = () => allLogged() && resolve();
          onLog();
        });
        expect(allLogged()).toBe(true);
      } else if (row.recovers !== false) {
        expect(logged).toBe('');
      }
    });
  }
});
