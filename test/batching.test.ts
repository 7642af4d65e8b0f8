/**
 * Adaptive batch dispatch: when more tasks are pending than slots are free, a free worker takes
 * several in one run, and every task keeps its own record, events, time limit, cancellation and
 * outcome. `stretchId` tells batches apart: the tasks of one batch whose handlers return at once
 * run in one synchronous stretch of their worker, and separate runs never share one.
 */
import { describe, expect, it } from 'vitest';
import type { Task, TaskManager } from 'taskloom';
import type { BatchItemArgs } from './fixtures/tasks.js';
import { createGate, isOpen, openGate, waitGate } from './fixtures/gate.js';
import { createManager, fixture, nextEvent, recordEvents, type RecordedEvent } from './helpers.js';

const FINAL = new Set(['completed', 'failed', 'cancelled']);

/**
 * A budget that the batches of these tests always fit in, whatever the machine's load does to
 * the estimates: a test that needs a batch of a given size gets it.
 */
const SURE = 1000;

/**
 * Runs tasks of `exportName` until the handler's estimate has settled: then it can be batched. A
 * handler's first runs are slow (its code is not compiled yet), so the first batches are small.
 */
async function warmUp(manager: TaskManager, exportName: string, args?: unknown): Promise<void> {
  for (const count of [1, 20, 20]) {
    const ids = Array.from({ length: count }, () => manager.createTask('Warm-up', fixture(exportName), { args }));
    await manager.onIdle();
    for (const id of ids) expect(manager.getTask(id)!.state).toBe('completed');
  }
}

/** Every task's events, in order: created, started, progress..., one final event, nothing after. */
function expectEachTasksEventsInOrder(events: RecordedEvent[], ids: readonly string[]): void {
  for (const id of ids) {
    const sequence = events.filter((e) => e.task.id === id).map((e) => e.event);
    expect(sequence[0], `first event of ${id}`).toBe('created');
    expect(
      sequence.filter((e) => FINAL.has(e)),
      `final events of ${id}`,
    ).toHaveLength(1);
    expect(FINAL.has(sequence.at(-1)!), `last event of ${id}`).toBe(true);
    const body = sequence.slice(1, -1);
    // Each attempt: started, then progress; a retry goes back to pending.
    for (const [i, event] of body.entries()) {
      if (event === 'started') expect(i === 0 || body[i - 1] === 'retrying').toBe(true);
      if (event === 'progress' || event === 'retrying') expect(i).toBeGreaterThan(0);
    }
  }
}

/**
 * Checks that the task `id`, created in this tick, was handed to a worker in a batch: still
 * pending, yet no longer in the queue, so that setPriority refuses it. Dispatch runs on a
 * microtask, so the check comes before any result could have arrived.
 */
async function expectHandedOut(manager: TaskManager, id: string): Promise<void> {
  await Promise.resolve();
  expect(manager.getTask(id)!.state).toBe('pending');
  expect(manager.setPriority(id, 0)).toBe(false);
}

const items = (count: number, runs: Int32Array, extra: (index: number) => Partial<BatchItemArgs> = () => ({})): BatchItemArgs[] =>
  Array.from({ length: count }, (_, index) => ({ index, runs, ...extra(index) }));

describe('batch dispatch', () => {
  it('gives a free worker many pending tasks in one run, each with its own record and events', async () => {
    const manager = createManager({ autoStart: true, maxConcurrentTasks: 1 });
    await warmUp(manager, 'stretchId');
    const events = recordEvents(manager);
    const ids = Array.from({ length: 200 }, (_, i) => manager.createTask(`t${i}`, fixture('stretchId')));
    await manager.onIdle();
    const tasks = ids.map((id) => manager.getTask(id)!);
    const stretches = new Set(tasks.map((task) => task.result));
    // At most 64 a batch: at least 4 runs, and far fewer than one per task.
    expect(stretches.size).toBeGreaterThanOrEqual(4);
    expect(stretches.size).toBeLessThan(40);
    for (const task of tasks) {
      expect(task).toMatchObject({ state: 'completed', attempts: 1 });
      expect(task.startedAt!.getTime()).toBeLessThanOrEqual(task.completedAt!.getTime());
    }
    expectEachTasksEventsInOrder(events, ids);
    // One task ends before the next one starts: started, completed, started, completed...
    const lifecycle = events.filter((e) => e.event !== 'created').map((e) => e.event);
    expect(lifecycle).toEqual(ids.flatMap(() => ['started', 'completed']));
    expect(manager.getStats()).toMatchObject({ total: 241, completed: 241, pending: 0, running: 0 });
  });

  it('runs one task per run with batchBudgetMs: 0, as before', async () => {
    const manager = createManager({ autoStart: true, maxConcurrentTasks: 1, batchBudgetMs: 0 });
    await warmUp(manager, 'stretchId');
    const ids = Array.from({ length: 50 }, (_, i) => manager.createTask(`t${i}`, fixture('stretchId')));
    await manager.onIdle();
    expect(new Set(ids.map((id) => manager.getTask(id)!.result)).size).toBe(50);
  });

  it('never puts more than maxBatchSize tasks in a batch, nor a task with no estimate yet', async () => {
    const manager = createManager({ autoStart: true, maxConcurrentTasks: 1, maxBatchSize: 4, batchBudgetMs: SURE });
    const ids = Array.from({ length: 40 }, (_, i) => manager.createTask(`t${i}`, fixture('stretchId')));
    await manager.onIdle();
    const results = ids.map((id) => manager.getTask(id)!.result as string);
    // The first task ran alone: its handler had never run.
    expect(results.filter((result) => result === results[0])).toHaveLength(1);
    const sizes = new Map<string, number>();
    for (const result of results) sizes.set(result, (sizes.get(result) ?? 0) + 1);
    expect(Math.max(...sizes.values())).toBe(4);
  });

  it("never batches a slow handler's tasks", async () => {
    // spinFor-like: each task takes 5 ms, five times the budget.
    const manager = createManager({ autoStart: true, maxConcurrentTasks: 1 });
    await warmUp(manager, 'sleeps', 5);
    const started: Task[] = [];
    manager.on('started', (task) => started.push(task));
    const ids = Array.from({ length: 6 }, (_, i) => manager.createTask(`t${i}`, fixture('sleeps'), { args: 5 }));
    await new Promise((resolve) => setImmediate(resolve));
    // Tasks handed out in a batch are no longer pending for setPriority; these are all still queued.
    for (const id of ids.slice(1)) expect(manager.setPriority(id, 1)).toBe(true);
    await manager.onIdle();
    expect(started).toHaveLength(6);
  });

  it('keeps priority order across batches, and a new urgent task waits at most for the rest of a batch', async () => {
    const manager = createManager({ autoStart: true, maxConcurrentTasks: 1, maxBatchSize: 8, batchBudgetMs: SURE });
    const runs = new Int32Array(new SharedArrayBuffer(4 * 200));
    const order = new Int32Array(new SharedArrayBuffer(4 * 201));
    await warmUp(manager, 'batchItem', { index: 199, runs });
    // Queued in one tick, in mixed priorities: they run highest first, in creation order among equals.
    const plan = items(120, runs, () => ({ order })).map((args, i) => ({ args, priority: (i * 7) % 5 }));
    const urgentAt = new Promise<number>((resolve) => {
      manager.on('completed', function onCompleted() {
        manager.off('completed', onCompleted);
        resolve(Atomics.load(order, 0));
      });
    });
    const ids = plan.map(({ args, priority }) => manager.createTask(`t${args.index}`, fixture('batchItem'), { args, priority }));
    const expected = [...plan].sort((a, b) => b.priority - a.priority || a.args.index - b.args.index).map((p) => p.args.index);
    // The top 8 are handed out together.
    await expectHandedOut(manager, ids[expected[7]!]!);
    // Created once the worker has run some of them: it must not wait for the rest of the queue.
    const ranBefore = await urgentAt;
    const urgent = manager.createTask('urgent', fixture('batchItem'), { args: { index: 120, runs, order }, priority: 100 });
    await manager.onIdle();
    const ranOrder = Array.from(order.subarray(1, 1 + Atomics.load(order, 0)));
    const withoutUrgent = ranOrder.filter((index) => index !== 120);
    expect(withoutUrgent).toEqual(expected);
    // The urgent task ran after at most the rest of the batch that was running when it came.
    expect(ranOrder.indexOf(120)).toBeLessThanOrEqual(ranBefore + 8);
    expect(manager.getTask(urgent)!.state).toBe('completed');
  });
});

describe('a batch that runs past its budget', () => {
  it('gives back the tasks it has not started, so that tasks that must run together do', async () => {
    const manager = createManager({ autoStart: true, maxConcurrentTasks: 2 });
    const cell = new Int32Array(new SharedArrayBuffer(4));
    await warmUp(manager, 'barrier', { cell: new Int32Array(new SharedArrayBuffer(4)), parties: 1, timeoutMs: 0 });
    // One thread is held: the two barrier tasks are more than the free slots, and are batched.
    const started = createGate();
    const release = createGate();
    const runs = new Int32Array(new SharedArrayBuffer(4 * 2));
    const holder = manager.createTask('holder', fixture('batchItem'), { args: { index: 0, runs, mode: 'gated', started, release } });
    await waitGate(started);
    const args = { cell, parties: 2, timeoutMs: 5_000 };
    const ids = [manager.createTask('first', fixture('barrier'), { args }), manager.createTask('second', fixture('barrier'), { args })];
    await expectHandedOut(manager, ids[1]!);
    // The first blocks its worker until the second checks in: the second must be taken back and
    // run on the other thread, once the holder lets it go.
    openGate(release);
    await manager.waitFor(holder);
    const [first, second] = await Promise.all(ids.map((id) => manager.waitFor(id)));
    expect(first).toMatchObject({ state: 'completed', result: true });
    expect(second).toMatchObject({ state: 'completed', result: true });
  });
});

describe('a long task of a batch', () => {
  it('reads running once its batch has run past its budget, before it ends', async () => {
    const manager = createManager({ autoStart: true, maxConcurrentTasks: 1 });
    const runs = new Int32Array(new SharedArrayBuffer(4 * 100));
    await warmUp(manager, 'batchItem', { index: 99, runs });
    const started = createGate();
    const release = createGate();
    const ids = items(5, runs, (index) => (index === 0 ? { mode: 'gated', started, release } : {})).map((args) =>
      manager.createTask(`t${args.index}`, fixture('batchItem'), { args }),
    );
    await expectHandedOut(manager, ids[1]!);
    // Nothing tells the main thread it started but the batch overrunning: the test waits for that.
    const task = await nextEvent(manager, 'started', ids[0]);
    expect(task.state).toBe('running');
    expect(Atomics.load(runs, 1)).toBe(0);
    openGate(release);
    await manager.onIdle();
    for (const id of ids) expect(manager.getTask(id)!.state).toBe('completed');
  });
});

describe('a task waiting in a batch', () => {
  /** A batch on one worker: item 0 holds the worker (gated or spinning), the others wait behind it. */
  async function heldBatch(
    mode: 'gated' | 'spin',
    options: { cancelGraceMs?: number; count?: number } = {},
  ): Promise<{ manager: TaskManager; ids: string[]; runs: Int32Array; started: Int32Array; release: Int32Array; events: RecordedEvent[] }> {
    // A long budget: the batch does not overrun (and give back what it holds) while the test looks at it.
    const manager = createManager({
      autoStart: true,
      maxConcurrentTasks: 1,
      batchBudgetMs: 10_000,
      cancelGraceMs: options.cancelGraceMs ?? 60_000,
    });
    const runs = new Int32Array(new SharedArrayBuffer(4 * 100));
    const started = createGate();
    const release = createGate();
    await warmUp(manager, 'batchItem', { index: 99, runs });
    const events = recordEvents(manager);
    const ids = items(options.count ?? 10, runs, (index) => (index === 0 ? { mode, started, release } : {})).map((args) =>
      manager.createTask(`t${args.index}`, fixture('batchItem'), { args }),
    );
    await expectHandedOut(manager, ids.at(-1)!);
    await waitGate(started);
    return { manager, ids, runs, started, release, events };
  }

  it('is still pending, and setPriority refuses it: it is no longer in the queue', async () => {
    const { manager, ids, release } = await heldBatch('gated');
    expect(manager.getTask(ids[3]!)!.state).toBe('pending');
    expect(manager.setPriority(ids[3]!, 10)).toBe(false);
    expect(manager.getTask(ids[3]!)!.priority).toBe(0);
    openGate(release);
    await manager.onIdle();
    expect(manager.getTask(ids[3]!)!.state).toBe('completed');
  });

  it('is cancelled at once, with no grace period, and never starts', async () => {
    const { manager, ids, runs, release, events } = await heldBatch('gated');
    expect(manager.cancelTask(ids[3]!)).toBe(true);
    expect(manager.getTask(ids[3]!)).toMatchObject({ state: 'cancelled', startedAt: undefined, attempts: 0 });
    expect(manager.cancelTask(ids[3]!)).toBe(false);
    openGate(release);
    await manager.onIdle();
    expect(Atomics.load(runs, 3)).toBe(0);
    expect(events.filter((e) => e.task.id === ids[3]).map((e) => e.event)).toEqual(['created', 'cancelled']);
    for (const id of ids.filter((_, i) => i !== 3)) expect(manager.getTask(id)!.state).toBe('completed');
    expectEachTasksEventsInOrder(events, ids);
  });

  it('is cancelled cooperatively once it has started on its worker, and the batch goes on', async () => {
    const { manager, ids, runs, events } = await heldBatch('gated');
    // The main thread has not heard that item 0 started: the cancel finds out, and it starts then.
    expect(manager.getTask(ids[0]!)!.state).toBe('pending');
    expect(manager.cancelTask(ids[0]!)).toBe(true);
    const first = events.filter((e) => e.task.id === ids[0]).map((e) => e.event);
    expect(first).toEqual(['created', 'started', 'cancelled']);
    expect(manager.getTask(ids[0]!)!.attempts).toBe(1);
    await manager.onIdle();
    for (const id of ids.slice(1)) expect(manager.getTask(id)!.state).toBe('completed');
    expect(Array.from(runs.subarray(0, 10))).toEqual(Array.from({ length: 10 }, () => 1));
  });

  it('goes back to the queue when a hard cancel ends its worker, and runs later: none is lost', async () => {
    const { manager, ids, runs, events } = await heldBatch('spin', { cancelGraceMs: 30 });
    expect(manager.cancelTask(ids[0]!)).toBe(true);
    await manager.onIdle();
    expect(manager.getTask(ids[0]!)!.state).toBe('cancelled');
    for (const id of ids.slice(1)) expect(manager.getTask(id)).toMatchObject({ state: 'completed', attempts: 1 });
    // Those behind it had not started: each ran exactly once, on the next worker.
    expect(Array.from(runs.subarray(1, 10))).toEqual(Array.from({ length: 9 }, () => 1));
    expectEachTasksEventsInOrder(events, ids);
  });

  it('that is stopped is heard to end as soon as it returns, though the items after it never pause: none runs twice', async () => {
    const cancelGraceMs = 200;
    const manager = createManager({ autoStart: true, maxConcurrentTasks: 1, cancelGraceMs, batchBudgetMs: SURE });
    const runs = new Int32Array(new SharedArrayBuffer(4 * 100));
    await warmUp(manager, 'batchItem', { index: 99, runs });
    const thread = (await manager.waitFor(manager.createTask('Thread', fixture('threadId')))).result;
    const gates = [0, 1].map(() => ({ started: createGate(), release: createGate() }));
    const ids = items(6, runs, (index) => (index < 2 ? { mode: 'hold', ...gates[index] } : {})).map((args) =>
      manager.createTask(`t${args.index}`, fixture('batchItem'), { args }),
    );
    await expectHandedOut(manager, ids.at(-1)!);
    await waitGate(gates[0]!.started);
    expect(manager.cancelTask(ids[0]!)).toBe(true);
    // Item 0 returns well within its grace period, and item 1 starts at once, in the same
    // synchronous stretch, where the worker reads no message: the cancel's abort is never read.
    openGate(gates[0]!.release);
    await waitGate(gates[1]!.started);
    // Had the main thread not heard that item 0 ended, the grace period would end its worker now.
    await new Promise((resolve) => setTimeout(resolve, 3 * cancelGraceMs));
    openGate(gates[1]!.release);
    await manager.onIdle();
    expect(manager.getTask(ids[0]!)!.state).toBe('cancelled');
    for (const id of ids.slice(1)) expect(manager.getTask(id)).toMatchObject({ state: 'completed', attempts: 1 });
    expect(Array.from(runs.subarray(0, 6))).toEqual([1, 1, 1, 1, 1, 1]);
    // The same worker ran them all, and runs the next task too.
    expect((await manager.waitFor(manager.createTask('Thread', fixture('threadId')))).result).toBe(thread);
  });

  it('that had finished when its worker was terminated runs again, alone; those behind run once', async () => {
    const manager = createManager({ autoStart: true, maxConcurrentTasks: 1, cancelGraceMs: 30, batchBudgetMs: SURE });
    const runs = new Int32Array(new SharedArrayBuffer(4 * 100));
    const started = createGate();
    await warmUp(manager, 'batchItem', { index: 99, runs });
    const events = recordEvents(manager);
    const ids = items(8, runs, (index) => (index === 3 ? { mode: 'spin', started } : {})).map((args) =>
      manager.createTask(`t${args.index}`, fixture('batchItem'), { args }),
    );
    await expectHandedOut(manager, ids.at(-1)!);
    await waitGate(started);
    expect(manager.cancelTask(ids[3]!)).toBe(true);
    await manager.onIdle();
    for (const [i, id] of ids.entries()) expect(manager.getTask(id)!.state).toBe(i === 3 ? 'cancelled' : 'completed');
    // 0 to 2 had finished, but their outcomes went down with the worker: they ran again.
    expect(Array.from(runs.subarray(0, 8))).toEqual([2, 2, 2, 1, 1, 1, 1, 1]);
    expectEachTasksEventsInOrder(events, ids);
    expect(manager.getStats()).toMatchObject({ total: 49, completed: 48, cancelled: 1, pending: 0, running: 0 });
  });
});

describe('the tasks of a batch', () => {
  it('count their time limits from their own starts', async () => {
    const manager = createManager({ autoStart: true, maxConcurrentTasks: 1, batchBudgetMs: SURE });
    await warmUp(manager, 'sleeps', 1);
    const first = manager.createTask('150 ms', fixture('sleeps'), { args: 150 });
    // Behind 150 ms in the same batch: a limit counted from the batch's start would have passed.
    const inTime = manager.createTask('50 ms of 200', fixture('sleeps'), { args: 50, timeoutMs: 200 });
    const late = manager.createTask('300 ms of 100', fixture('sleeps'), { args: 300, timeoutMs: 100 });
    await expectHandedOut(manager, late);
    expect((await manager.waitFor(first)).state).toBe('completed');
    expect((await manager.waitFor(inTime)).state).toBe('completed');
    expect(await manager.waitFor(late)).toMatchObject({ state: 'failed', error: 'timed out after 100 ms' });
  });

  it('report progress in order, after their start', async () => {
    const manager = createManager({ autoStart: true, maxConcurrentTasks: 1, batchBudgetMs: SURE });
    const runs = new Int32Array(new SharedArrayBuffer(4 * 100));
    await warmUp(manager, 'batchItem', { index: 99, runs });
    const events = recordEvents(manager);
    const release = createGate();
    manager.on('progress', () => openGate(release));
    const ids = items(6, runs, (index) => (index === 3 ? { mode: 'progress', release } : {})).map((args) =>
      manager.createTask(`t${args.index}`, fixture('batchItem'), { args }),
    );
    await expectHandedOut(manager, ids.at(-1)!);
    await manager.onIdle();
    expectEachTasksEventsInOrder(events, ids);
    expect(events.filter((e) => e.task.id === ids[3]).map((e) => e.event)).toEqual(['created', 'started', 'progress', 'completed']);
    // Items 0 to 2 had ended before item 3's progress arrived.
    const progressAt = events.findIndex((e) => e.event === 'progress');
    for (const id of ids.slice(0, 3)) expect(events.findIndex((e) => e.task.id === id && e.event === 'completed')).toBeLessThan(progressAt);
  });

  it('are retried alone, each by its own policy', async () => {
    const manager = createManager({ autoStart: true, maxConcurrentTasks: 1, batchBudgetMs: SURE });
    await warmUp(manager, 'failsUntil', { counter: new Int32Array(new SharedArrayBuffer(4)), failures: 0 });
    const events = recordEvents(manager);
    const ids = Array.from({ length: 20 }, (_, i) =>
      manager.createTask(`t${i}`, fixture('failsUntil'), {
        args: { counter: new Int32Array(new SharedArrayBuffer(4)), failures: i % 2 },
        retry: { attempts: 2 },
      }),
    );
    await expectHandedOut(manager, ids.at(-1)!);
    await manager.onIdle();
    for (const [i, id] of ids.entries()) {
      expect(manager.getTask(id)).toMatchObject({ state: 'completed', attempts: 1 + (i % 2), result: 1 + (i % 2) });
    }
    expectEachTasksEventsInOrder(events, ids);
  });

  it('fail alone when one ends its worker: those before keep their outcomes, those after run once', async () => {
    const manager = createManager({ autoStart: true, maxConcurrentTasks: 1, batchBudgetMs: SURE });
    const runs = new Int32Array(new SharedArrayBuffer(4 * 100));
    await warmUp(manager, 'batchItem', { index: 99, runs });
    const events = recordEvents(manager);
    const ids = items(8, runs, (index) => (index === 3 ? { mode: 'exit' } : {})).map((args) =>
      manager.createTask(`t${args.index}`, fixture('batchItem'), { args }),
    );
    await expectHandedOut(manager, ids.at(-1)!);
    await manager.onIdle();
    expect(manager.getTask(ids[3]!)).toMatchObject({
      state: 'failed',
      error: 'the worker thread exited with code 3 while running the task',
    });
    for (const [i, id] of ids.entries()) if (i !== 3) expect(manager.getTask(id)!.state).toBe('completed');
    // The worker reported what it had done as it exited: nothing ran twice.
    expect(Array.from(runs.subarray(0, 8))).toEqual([1, 1, 1, 1, 1, 1, 1, 1]);
    expectEachTasksEventsInOrder(events, ids);
  });

  it('fail alone when a callback of their own throws', async () => {
    const manager = createManager({ autoStart: true, maxConcurrentTasks: 1, batchBudgetMs: SURE });
    const runs = new Int32Array(new SharedArrayBuffer(4 * 100));
    await warmUp(manager, 'batchItem', { index: 99, runs });
    const ids = items(6, runs, (index) => (index === 2 ? { mode: 'stray' } : {})).map((args) =>
      manager.createTask(`t${args.index}`, fixture('batchItem'), { args }),
    );
    await expectHandedOut(manager, ids.at(-1)!);
    await manager.onIdle();
    expect(manager.getTask(ids[2]!)).toMatchObject({ state: 'failed', error: 'thrown by a callback of item 2' });
    for (const [i, id] of ids.entries()) if (i !== 2) expect(manager.getTask(id)!.state).toBe('completed');
  });

  it('may call the manager: the tasks they create have them as parent', async () => {
    const manager = createManager({ autoStart: true, maxConcurrentTasks: 1, batchBudgetMs: SURE });
    await warmUp(manager, 'createsChild', fixture('echo'));
    const parents = Array.from({ length: 10 }, (_, i) =>
      manager.createTask(`parent ${i}`, fixture('createsChild'), { args: fixture('echo') }),
    );
    await expectHandedOut(manager, parents.at(-1)!);
    await manager.onIdle();
    for (const parent of parents) {
      const task = manager.getTask(parent)!;
      expect(task.state).toBe('completed');
      expect(manager.getTask(task.result as string)).toMatchObject({ parentId: parent, state: 'completed', result: 'from a parent' });
    }
  });

  it('all end cancelled on stop(), whether waiting in a batch or running', async () => {
    const manager = createManager({ autoStart: true, maxConcurrentTasks: 2, cancelGraceMs: 30, batchBudgetMs: SURE });
    const runs = new Int32Array(new SharedArrayBuffer(4 * 400));
    await warmUp(manager, 'batchItem', { index: 399, runs });
    const started = createGate();
    const events = recordEvents(manager);
    const ids = items(300, runs, (index) => (index === 150 ? { mode: 'spin', started } : {})).map((args) =>
      manager.createTask(`t${args.index}`, fixture('batchItem'), { args }),
    );
    await expectHandedOut(manager, ids[10]!);
    await waitGate(started);
    await manager.stop();
    expectEachTasksEventsInOrder(events, ids);
    const stats = manager.getStats();
    expect(stats.pending + stats.running).toBe(0);
    expect(stats.completed + stats.cancelled).toBe(341);
    expect(isOpen(started)).toBe(true);
    // Nothing that completed ran twice, and nothing cancelled while it waited ever ran.
    for (const [i, id] of ids.entries()) {
      const { state, startedAt } = manager.getTask(id)!;
      if (state === 'completed') expect(Atomics.load(runs, i)).toBe(1);
      if (startedAt === undefined) expect(Atomics.load(runs, i)).toBe(0);
    }
  });

  it("emit 'started' with the start on the worker's clock", async () => {
    const manager = createManager({ autoStart: true, maxConcurrentTasks: 1, batchBudgetMs: SURE });
    await warmUp(manager, 'sleeps', 1);
    const first = manager.createTask('First', fixture('sleeps'), { args: 40 });
    const second = manager.createTask('Second', fixture('sleeps'), { args: 30 });
    await expectHandedOut(manager, second);
    await manager.onIdle();
    const [one, two] = [manager.getTask(first)!, manager.getTask(second)!];
    // It started once the first had ended, on the worker: not when the main thread heard, at its end.
    expect(two.startedAt!.getTime()).toBeGreaterThanOrEqual(one.startedAt!.getTime() + 39);
    expect(two.startedAt!.getTime()).toBeLessThanOrEqual(two.completedAt!.getTime() - 29);
  });
});
