import { isMainThread } from 'node:worker_threads';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { ManagerStoppedError, TaskManager, TaskState, UnknownTaskError, type Task, type TaskId, type TaskStats } from 'taskloom';
import { createManager, fixture, REGISTER_TSX } from './helpers.js';

describe('createTask, getTask and waitFor', () => {
  it('runs a worker handler with its args and keeps its result and timestamps', async () => {
    const manager = createManager({ maxConcurrentTasks: 2, autoStart: true });
    const before = Date.now();
    const id = manager.createTask('Echo', fixture('echo'), { args: { numbers: [1, 2, 3], text: 'héllo' } });
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    const task = await manager.waitFor(id);
    expect(task).toMatchObject({ id, name: 'Echo', state: 'completed', priority: 0, error: undefined });
    expect(task.result).toEqual({ numbers: [1, 2, 3], text: 'héllo' });
    expect(task.createdAt.getTime()).toBeGreaterThanOrEqual(before);
    expect(task.startedAt!.getTime()).toBeGreaterThanOrEqual(task.createdAt.getTime());
    expect(task.completedAt!.getTime()).toBeGreaterThanOrEqual(task.startedAt!.getTime());
    expect(manager.getTask(id)).toEqual(task);
  });

  it('gives every task its own random version 4 UUID', async () => {
    const manager = createManager();
    // More than one draw of random bytes (256 ids each), none of them run.
    const ids = Array.from({ length: 2000 }, (_, i) => manager.createTask(`t${i}`, () => i));
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    // Every hex digit outside the version and variant turns up in every place: the bytes are spread, not fixed.
    for (const at of [0, 7, 9, 15, 20, 35]) expect(new Set(ids.map((id) => id[at])).size).toBe(16);
    await manager.stop();
  });

  it('gives the handler a context with the task id, name and a live signal', async () => {
    const manager = createManager({ autoStart: true });
    const id = manager.createTask('Who am I', fixture('describe'));
    const { result } = await manager.waitFor(id);
    expect(result).toEqual({ id, name: 'Who am I', aborted: false });
  });

  it('runs a plain function handler on the main thread with the same (task, args) call', async () => {
    const manager = createManager({ autoStart: true });
    const id = manager.createTask(
      'Main',
      (task, args: { a: number }) => {
        task.progress = 40;
        return Promise.resolve({ sum: args.a + 1, name: task.name, onMainThread: isMainThread });
      },
      { args: { a: 41 } },
    );
    const task = await manager.waitFor(id);
    expect(task.state).toBe('completed');
    expect(task.result).toEqual({ sum: 42, name: 'Main', onMainThread: true });
    expect(task.progress).toBe(40);
  });

  it('returns frozen snapshots that do not change when the task does', async () => {
    const manager = createManager();
    const id = manager.createTask('Later', fixture('echo'), { args: 1 });
    const pending = manager.getTask(id)!;
    expect(Object.isFrozen(pending)).toBe(true);
    void manager.runTasks();
    await manager.waitFor(id);
    expect(pending.state).toBe('pending');
    expect(manager.getTask(id)!.state).toBe('completed');
  });

  it('returns undefined for an unknown id, and waitFor rejects for one', async () => {
    const manager = createManager();
    expect(manager.getTask('no-such-task')).toBeUndefined();
    await expect(manager.waitFor('no-such-task')).rejects.toBeInstanceOf(UnknownTaskError);
    await expect(manager.waitFor('no-such-task')).rejects.toMatchObject({ code: 'TASKLOOM_UNKNOWN_TASK' });
  });

  it('resolves waitFor for a failed task instead of rejecting', async () => {
    const manager = createManager({ autoStart: true });
    const task = await manager.waitFor(manager.createTask('Fails', fixture('throwsSubclass')));
    expect(task.state).toBe('failed');
    expect(task.error).toBe('QuotaError: quota exceeded');
  });
});

describe('runTasks and autoStart', () => {
  it('keeps tasks pending until runTasks() is called, as the seed did', async () => {
    const manager = createManager();
    const id = manager.createTask('Waits', fixture('echo'), { args: 'x' });
    await new Promise((resolve) => setImmediate(resolve));
    expect(manager.getTask(id)!.state).toBe('pending');
    const runner = manager.runTasks();
    expect(manager.runTasks()).toBe(runner);
    expect((await manager.waitFor(id)).state).toBe('completed');
    let stopped = false;
    void runner.then(() => (stopped = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(stopped).toBe(false);
    await manager.stop();
    await runner;
    expect(stopped).toBe(true);
  });

  it('starts dispatching at construction with autoStart', async () => {
    const manager = createManager({ autoStart: true });
    const task = await manager.waitFor(manager.createTask('Auto', fixture('echo'), { args: 5 }));
    expect(task.result).toBe(5);
  });
});

describe('listTasks and getStats', () => {
  it('lists tasks in creation order, optionally by state, and counts them', async () => {
    const manager = createManager({ maxConcurrentTasks: 1 });
    const ids = ['a', 'b', 'c', 'd'].map((name, i) =>
      manager.createTask(name, i === 3 ? fixture('throwsString') : fixture('echo'), { args: name, priority: i }),
    );
    expect(manager.listTasks().map((task) => task.name)).toEqual(['a', 'b', 'c', 'd']);
    expect(manager.listTasks(TaskState.PENDING)).toHaveLength(4);
    expect(manager.getStats()).toMatchObject({ total: 4, pending: 4, running: 0, completed: 0, failed: 0, cancelled: 0 });
    expect(manager.cancelTask(ids[1]!)).toBe(true);
    void manager.runTasks();
    await manager.onIdle();
    expect(manager.listTasks(TaskState.COMPLETED).map((task) => task.name)).toEqual(['a', 'c']);
    expect(manager.listTasks(TaskState.FAILED).map((task) => task.name)).toEqual(['d']);
    expect(manager.listTasks(TaskState.CANCELLED).map((task) => task.name)).toEqual(['b']);
    expect(manager.listTasks(TaskState.RUNNING)).toEqual([]);
    const stats = manager.getStats();
    expect(stats).toMatchObject({ total: 4, pending: 0, running: 0, completed: 2, failed: 1, cancelled: 1 });
    expectTypeOf(stats).toEqualTypeOf<TaskStats>();
  });

  it('keeps at most maxFinishedTasks finished tasks, dropping the oldest, while stats count them all', async () => {
    const manager = createManager({ autoStart: true, maxFinishedTasks: 3 });
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      ids.push(manager.createTask(`t${i}`, fixture('echo'), { args: i }));
      await manager.waitFor(ids[i]!);
    }
    expect(manager.listTasks().map((task) => task.name)).toEqual(['t3', 't4', 't5']);
    expect(manager.getTask(ids[0]!)).toBeUndefined();
    expect(manager.getStats()).toMatchObject({ total: 6, completed: 6 });
  });
});

describe('onIdle', () => {
  it('resolves at once when nothing is pending or running, and later once the queue drains', async () => {
    const manager = createManager({ autoStart: true, maxConcurrentTasks: 2 });
    await manager.onIdle();
    const ids = Array.from({ length: 10 }, (_, i) => manager.createTask(`t${i}`, fixture('echo'), { args: i }));
    await manager.onIdle();
    for (const id of ids) expect(manager.getTask(id)!.state).toBe('completed');
  });
});

describe('stop', () => {
  it('cancels pending and running tasks, may be called twice, and refuses new tasks', async () => {
    const manager = new TaskManager({ logger: false, maxConcurrentTasks: 1, autoStart: true, workerPreload: [REGISTER_TSX] });
    const { createGate, waitGate } = await import('./fixtures/gate.js');
    const started = createGate();
    const aborted = createGate();
    const running = manager.createTask('Running', fixture('untilAborted'), { args: { started, aborted } });
    const pending = manager.createTask('Pending', fixture('echo'));
    await waitGate(started);
    const first = manager.stop();
    expect(manager.stop()).toBe(first);
    await first;
    await waitGate(aborted);
    expect(manager.getTask(running)!.state).toBe('cancelled');
    expect(manager.getTask(pending)!.state).toBe('cancelled');
    expect(manager.getStats()).toMatchObject({ total: 2, pending: 0, running: 0, completed: 0, failed: 0, cancelled: 2 });
    expect(() => manager.createTask('Late', fixture('echo'))).toThrow(ManagerStoppedError);
    expect(() => manager.createTask('Late', fixture('echo'))).toThrow(/stopped/);
  });

  it('is what `await using` calls', async () => {
    let leaked: TaskManager | undefined;
    {
      await using manager = new TaskManager({ logger: false, autoStart: true, workerPreload: [REGISTER_TSX] });
      leaked = manager;
      await manager.waitFor(manager.createTask('Scoped', fixture('echo')));
    }
    expect(() => leaked.createTask('After', fixture('echo'))).toThrow(ManagerStoppedError);
  });
});

describe('public types', () => {
  it('narrows task state as a string union', () => {
    expectTypeOf<Task['state']>().toEqualTypeOf<'pending' | 'running' | 'completed' | 'failed' | 'cancelled'>();
    // An id is a string that also carries the result type for the compiler (see typed-tasks.test.ts).
    expectTypeOf<TaskManager['createTask']>().returns.toEqualTypeOf<TaskId>();
    expectTypeOf<TaskId>().toExtend<string>();
    expectTypeOf<TaskManager['waitFor']>().returns.resolves.toEqualTypeOf<Task>();
    expect(Object.values(TaskState)).toEqual(['pending', 'running', 'completed', 'failed', 'cancelled']);
  });
});
