import { describe, expect, expectTypeOf, it } from 'vitest';
import { QueueFullError, TaskTimeoutError, workerTask, type Task, type TaskFailure } from 'taskloom';
import { createGate, waitGate } from './fixtures/gate.js';
import { createManager, fixture, nextEvent, recordEvents } from './helpers.js';

describe('timeouts', () => {
  it('fails a task that runs too long, counting from its start, and aborts its signal with a TimeoutError', async () => {
    const manager = createManager({ autoStart: true, maxConcurrentTasks: 1 });
    let reason: unknown;
    // Queued behind a 150 ms task: a 100 ms limit counted from creation would expire while it waits.
    const first = manager.createTask('Before', fixture('sleeps'), { args: 150 });
    const limited = manager.createTask('Limited', fixture('sleeps'), { args: 50, timeoutMs: 100 });
    expect((await manager.waitFor(first)).state).toBe('completed');
    expect((await manager.waitFor(limited)).state).toBe('completed');
    const slow = manager.createTask(
      'Slow',
      async (task) => {
        await new Promise<void>((resolve) => task.signal.addEventListener('abort', () => resolve(), { once: true }));
        reason = task.signal.reason;
      },
      { timeoutMs: 30 },
    );
    const task = await manager.waitFor(slow);
    expect(task).toMatchObject({ state: 'failed', error: 'timed out after 30 ms', attempts: 1 });
    expect(reason).toBeInstanceOf(TaskTimeoutError);
    expect(reason).toMatchObject({ name: 'TimeoutError', code: 'TASKLOOM_TASK_TIMEOUT' });
  });

  it('hard-stops a CPU-bound task that times out, and the pool recovers', async () => {
    const manager = createManager({ autoStart: true, maxConcurrentTasks: 1, timeoutMs: 50, cancelGraceMs: 20 });
    const started = createGate();
    const spin = manager.createTask('Spin', fixture('spin'), { args: { started } });
    const next = manager.createTask('Next', fixture('echo'), { args: 'ok', timeoutMs: Infinity });
    expect(await manager.waitFor(spin)).toMatchObject({ state: 'failed', error: 'timed out after 50 ms' });
    expect(await manager.waitFor(next)).toMatchObject({ state: 'completed', result: 'ok' });
  });
});

describe('retries', () => {
  it('retries a failing task with the same id and priority, counting attempts and keeping every error', async () => {
    const manager = createManager({ autoStart: true });
    const events = recordEvents(manager);
    const counter = new Int32Array(new SharedArrayBuffer(4));
    const id = manager.createTask('Flaky', fixture('failsUntil'), {
      priority: 7,
      args: { counter, failures: 2 },
      retry: { attempts: 3, delayMs: 5 },
    });
    const task = await manager.waitFor(id);
    expect(task).toMatchObject({ id, state: 'completed', result: 3, attempts: 3, priority: 7 });
    expect(task.errors).toEqual(['attempt 1 failed', 'attempt 2 failed']);
    const sequence = events.filter((e) => e.task.id === id).map((e) => e.event);
    expect(sequence).toEqual(['created', 'started', 'retrying', 'started', 'retrying', 'started', 'completed']);
    const retrying = events.filter((e) => e.event === 'retrying').map((e) => e.task);
    expect(retrying.map((t: Task) => [t.state, t.attempts])).toEqual([
      ['pending', 1],
      ['pending', 2],
    ]);
  });

  it('fails for good once the attempts run out, with the manager default policy', async () => {
    const manager = createManager({ autoStart: true, retry: { attempts: 2 } });
    const counter = new Int32Array(new SharedArrayBuffer(4));
    const task = await manager.waitFor(manager.createTask('Hopeless', fixture('failsUntil'), { args: { counter, failures: 5 } }));
    expect(task).toMatchObject({
      state: 'failed',
      error: 'attempt 2 failed',
      attempts: 2,
      errors: ['attempt 1 failed', 'attempt 2 failed'],
    });
    expect(manager.getStats()).toMatchObject({ total: 1, failed: 1, pending: 0, running: 0 });
  });

  it('waits the backoff delay between attempts', async () => {
    const manager = createManager({ autoStart: true });
    const counter = new Int32Array(new SharedArrayBuffer(4));
    const starts: number[] = [];
    manager.on('started', () => starts.push(performance.now()));
    const task = await manager.waitFor(
      manager.createTask('Backoff', fixture('failsUntil'), {
        args: { counter, failures: 2 },
        retry: { attempts: 3, backoff: 'exponential', delayMs: 40, maxDelayMs: 60 },
      }),
    );
    expect(task.state).toBe('completed');
    expect(starts[1]! - starts[0]!).toBeGreaterThanOrEqual(38);
    expect(starts[2]! - starts[1]!).toBeGreaterThanOrEqual(58);
  });

  it('never retries a cancelled task, and retries a timed-out one only when told to', async () => {
    const manager = createManager({ autoStart: true, cancelGraceMs: 10 });
    const started = createGate();
    const aborted = createGate();
    const cancelled = manager.createTask('Cancelled', fixture('untilAborted'), { args: { started, aborted }, retry: { attempts: 5 } });
    await waitGate(started);
    manager.cancelTask(cancelled);
    await manager.onIdle();
    expect(manager.getTask(cancelled)).toMatchObject({ state: 'cancelled', attempts: 1 });

    const noRetry = manager.createTask('Times out', fixture('sleeps'), { args: 10_000, timeoutMs: 20, retry: { attempts: 3 } });
    expect(await manager.waitFor(noRetry)).toMatchObject({ state: 'failed', attempts: 1 });
    const retried = manager.createTask('Times out, retried', fixture('sleeps'), {
      args: 10_000,
      timeoutMs: 20,
      retry: { attempts: 3, retryOnTimeout: true },
    });
    expect(await manager.waitFor(retried)).toMatchObject({
      state: 'failed',
      attempts: 3,
      errors: ['timed out after 20 ms', 'timed out after 20 ms', 'timed out after 20 ms'],
    });
  });

  it('cancels a task that waits out a retry delay', async () => {
    const manager = createManager({ autoStart: true });
    const counter = new Int32Array(new SharedArrayBuffer(4));
    const id = manager.createTask('Delayed', fixture('failsUntil'), {
      args: { counter, failures: 9 },
      retry: { attempts: 3, delayMs: 60_000 },
    });
    await nextEvent(manager, 'retrying', id);
    expect(manager.getTask(id)!.state).toBe('pending');
    expect(manager.cancelTask(id)).toBe(true);
    await manager.onIdle();
    expect(manager.getTask(id)).toMatchObject({ state: 'cancelled', attempts: 1 });
  });
});

describe('resource limits', () => {
  it('fails a task that runs its worker out of memory, and the pool recovers', async () => {
    const manager = createManager({ autoStart: true, maxConcurrentTasks: 1, resourceLimits: { maxOldGenerationSizeMb: 32 } });
    const task = await manager.waitFor(manager.createTask('Hog', fixture('allocates')));
    expect(task.state).toBe('failed');
    expect(task.error).toMatch(/^worker ran out of memory/);
    expect((await manager.waitFor(manager.createTask('After', fixture('echo'), { args: 1 }))).result).toBe(1);
  });
});

describe('retention', () => {
  it('removes one finished task, or all of them, and refuses live ones', async () => {
    const manager = createManager({ maxConcurrentTasks: 1 });
    const done = manager.createTask('Done', fixture('echo'));
    const failed = manager.createTask('Failed', fixture('throwsString'));
    void manager.runTasks();
    await manager.onIdle();
    const pending = manager.createTask('Pending', fixture('echo'), { priority: 1 });
    expect(manager.removeTask(pending)).toBe(false);
    expect(manager.removeTask(done)).toBe(true);
    expect(manager.removeTask(done)).toBe(false);
    expect(manager.getTask(done)).toBeUndefined();
    await manager.waitFor(pending);
    expect(manager.clearFinished()).toBe(2);
    expect(manager.listTasks()).toEqual([]);
    expect(manager.getTask(failed)).toBeUndefined();
    expect(manager.getStats()).toMatchObject({ total: 3, completed: 2, failed: 1 });
  });
});

describe('maxPendingTasks and whenReady', () => {
  it('refuses tasks at the bound with a clear error, and lets a producer wait for room', async () => {
    const manager = createManager({ maxConcurrentTasks: 1, maxPendingTasks: 3 });
    for (let i = 0; i < 3; i++) manager.createTask(`t${i}`, fixture('echo'), { args: i });
    expect(() => manager.createTask('one too many', fixture('echo'))).toThrow(QueueFullError);
    expect(() => manager.createTask('one too many', fixture('echo'))).toThrow(/3 tasks are already pending \(maxPendingTasks\)/);
    let ready = false;
    const waiting = manager.whenReady().then(() => (ready = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(ready).toBe(false);
    void manager.runTasks();
    await waiting;
    expect(manager.getStats().pending).toBeLessThan(3);
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      await manager.whenReady();
      ids.push(manager.createTask(`p${i}`, fixture('echo'), { args: i }));
    }
    await manager.onIdle();
    expect(manager.getStats()).toMatchObject({ total: 23, completed: 23 });
  });
});

describe('failure', () => {
  it("keeps a failed task's error with its class name and stack, beside the message", async () => {
    const manager = createManager({ autoStart: true });
    const task = await manager.waitFor(manager.createTask('Fails', fixture('throwsSubclass')));
    expect(task).toMatchObject({ state: 'failed', error: 'QuotaError: quota exceeded' });
    expect(task.failure).toMatchObject({ name: 'QuotaError', message: 'quota exceeded' });
    expect(task.failure!.stack).toMatch(/QuotaError: quota exceeded\n\s+at throwsSubclass/);
    expect(manager.getTask(task.id)!.failure).toEqual(task.failure);
  });

  it('gives a timeout its code', async () => {
    const manager = createManager({ autoStart: true });
    const task = await manager.waitFor(manager.createTask('Slow', fixture('sleeps'), { args: 10_000, timeoutMs: 20 }));
    expect(task).toMatchObject({ state: 'failed', error: 'timed out after 20 ms' });
    expect(task.failure).toMatchObject({ name: 'TimeoutError', code: 'TASKLOOM_TASK_TIMEOUT', message: 'timed out after 20 ms' });
  });

  it('says what happened when the worker died under the task', async () => {
    const manager = createManager({ autoStart: true, maxConcurrentTasks: 1 });
    const task = await manager.waitFor(manager.createTask('Exits', fixture('exits')));
    expect(task.error).toBe('the worker thread exited with code 3 while running the task');
    expect(task.failure).toMatchObject({
      name: 'WorkerExitedError',
      code: 'TASKLOOM_WORKER_EXITED',
      message: 'the worker thread exited with code 3 while running the task',
    });
  });

  it("keeps a main-thread handler's error, and a failed map batch's, with their class", async () => {
    const manager = createManager({ autoStart: true });
    const main = await manager.waitFor(
      manager.createTask('Main', () => {
        throw new RangeError('bad range');
      }),
    );
    expect(main.failure).toMatchObject({ name: 'RangeError', message: 'bad range' });
    const batch = manager.map(workerTask(new URL('./fixtures/map-tasks.ts', import.meta.url), 'failsOn13'), [12, 13, 14]);
    await expect(batch.toArray()).rejects.toThrow(/item 1 failed/);
    expect(manager.getTask(batch.id)!.failure).toMatchObject({ name: 'MapItemError', code: 'TASKLOOM_MAP_ITEM_FAILED' });
  });

  it('is undefined on a task that did not fail, retried or not', async () => {
    const manager = createManager({ autoStart: true });
    const counter = new Int32Array(new SharedArrayBuffer(4));
    const retried = await manager.waitFor(
      manager.createTask('Flaky', fixture('failsUntil'), { args: { counter, failures: 1 }, retry: { attempts: 2 } }),
    );
    expect(retried).toMatchObject({ state: 'completed', errors: ['attempt 1 failed'], failure: undefined });
    const pending = manager.createTask('Cancelled', fixture('echo'), { priority: -1 });
    manager.cancelTask(pending);
    expect(manager.getTask(pending)!.failure).toBeUndefined();
    expectTypeOf<Task['failure']>().toEqualTypeOf<TaskFailure | undefined>();
  });
});
