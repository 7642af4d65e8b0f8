/**
 * What an event listener may do to the task it hears of, or to the manager, at any event: each
 * task still ends exactly once, the counts add up, and nothing waits forever.
 */
import { describe, expect, it } from 'vitest';
import { workerTask, type TaskManager } from 'taskloom';
import { collectGarbage, createManager, fixture, recordEvents } from './helpers.js';

const MAP_TASKS = new URL('./fixtures/map-tasks.ts', import.meta.url);

function expectCountsToAddUp(manager: TaskManager): void {
  const { total, pending, running, completed, failed, cancelled } = manager.getStats();
  expect(pending + running + completed + failed + cancelled).toBe(total);
  expect(Math.min(pending, running)).toBeGreaterThanOrEqual(0);
}

describe('a listener that cancels', () => {
  it("cancels a task from its own 'created' listener: it never starts, and it ends once", async () => {
    const manager = createManager({ autoStart: true });
    const events = recordEvents(manager);
    const answers: boolean[] = [];
    manager.on('created', (task) => answers.push(manager.cancelTask(task.id)));
    const id = manager.createTask('Cancelled at once', fixture('echo'), { args: 1 });
    expect(answers).toEqual([true]);
    expect(await manager.waitFor(id)).toMatchObject({ state: 'cancelled', attempts: 0, startedAt: undefined });
    await manager.onIdle();
    expect(events.map((e) => e.event)).toEqual(['created', 'cancelled']);
    expect(manager.getStats()).toMatchObject({ total: 1, pending: 0, running: 0, cancelled: 1 });
  });

  it.each([0, 20])("cancels a task from its 'retrying' listener, with a retry delay of %i ms: no attempt follows", async (delayMs) => {
    const manager = createManager({ autoStart: true });
    const events = recordEvents(manager);
    manager.on('retrying', (task) => manager.cancelTask(task.id));
    const counter = new Int32Array(new SharedArrayBuffer(4));
    const id = manager.createTask('Fails', fixture('failsUntil'), {
      args: { counter, failures: 5 },
      retry: { attempts: 3, delayMs },
    });
    expect(await manager.waitFor(id)).toMatchObject({ state: 'cancelled', attempts: 1 });
    await manager.onIdle();
    expect(Atomics.load(counter, 0)).toBe(1);
    expect(events.map((e) => e.event)).toEqual(['created', 'started', 'retrying', 'cancelled']);
    expectCountsToAddUp(manager);
    expect(manager.getStats()).toMatchObject({ total: 1, cancelled: 1 });
  });

  it("stops the manager from a 'created' or a 'retrying' listener: stop() resolves, and the task is cancelled", async () => {
    for (const event of ['created', 'retrying'] as const) {
      const manager = createManager({ autoStart: true });
      let stopped: Promise<void> | undefined;
      manager.on(event, () => (stopped ??= manager.stop()));
      const counter = new Int32Array(new SharedArrayBuffer(4));
      const id = manager.createTask('Stops', fixture('failsUntil'), {
        args: { counter, failures: 5 },
        retry: { attempts: 3, delayMs: 20 },
      });
      await expect(manager.waitFor(id)).resolves.toMatchObject({ state: 'cancelled' });
      await stopped;
      expectCountsToAddUp(manager);
      expect(manager.getStats()).toMatchObject({ total: 1, pending: 0, running: 0, cancelled: 1 });
    }
  });

  it("cancels a map from its 'created' listener: the iteration ends with an error that names it", async () => {
    const manager = createManager({ autoStart: true });
    manager.on('created', (task) => manager.cancelTask(task.id));
    const run = manager.map<number, number>(workerTask(MAP_TASKS, 'square'), [1, 2, 3]);
    await expect(run.toArray()).rejects.toMatchObject({
      name: 'AbortError',
      message: expect.stringContaining(`Task ${run.id} was cancelled`) as unknown,
    });
    expect(manager.getTask(run.id)?.state).toBe('cancelled');
  });
});

describe('a listener that forgets', () => {
  it.each(['removeTask', 'clearFinished'] as const)('forgets a task with %s from its final listener: it is held nowhere', async (how) => {
    const manager = createManager({ autoStart: true, maxFinishedTasks: Infinity });
    const refs: WeakRef<object>[] = [];
    manager.on('completed', (task) => {
      refs.push(new WeakRef(task.result as object));
      if (how === 'removeTask') expect(manager.removeTask(task.id)).toBe(true);
      else expect(manager.clearFinished()).toBe(1);
    });
    const ids = Array.from({ length: 3 }, (_, i) =>
      manager.createTask(`t${i}`, fixture('echo'), { args: { i, bytes: new Uint8Array(1024) } }),
    );
    // Not through waitFor: its snapshot would be one more holder.
    await manager.onIdle();
    await collectGarbage();
    expect(refs).toHaveLength(3);
    for (const id of ids) expect(manager.getTask(id)).toBeUndefined();
    expect(manager.listTasks()).toEqual([]);
    for (const ref of refs) expect(ref.deref()).toBeUndefined();
    expect(manager.getStats()).toMatchObject({ total: 3, completed: 3 });
  });
});

describe('ends that come without a start', () => {
  it('resolves runTasks() called after stop() on a manager never started', async () => {
    const manager = createManager();
    manager.createTask('Never runs', fixture('echo'));
    await manager.stop();
    await expect(manager.runTasks()).resolves.toBeUndefined();
  });

  it('starts a map whose input is empty before it completes, and wakes a producer waiting for room', async () => {
    const manager = createManager({ autoStart: true, maxPendingTasks: 1 });
    const events = recordEvents(manager);
    const run = manager.map<number, number>(workerTask(MAP_TASKS, 'square'), []);
    // The map's own task fills the queue until it ends.
    expect(manager.getStats().pending).toBe(1);
    const ready = manager.whenReady();
    expect(await run.toArray()).toEqual([]);
    await ready;
    expect(events.map((e) => e.event)).toEqual(['created', 'started', 'completed']);
    expect(manager.getTask(run.id)).toMatchObject({ state: 'completed', progress: 100 });
  });
});
