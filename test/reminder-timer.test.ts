import { describe, expect, expectTypeOf, it } from 'vitest';
import { actions, TaskState, type Task } from 'taskloom';
import { reminderTimer, type ReminderTimerResult } from 'taskloom/actions';
import { createActionManager, deferred, handMadeContext, pendingTimers } from './fixtures/actions-http.js';

describe('reminderTimer', () => {
  it('counts down with steady progress, then logs its message at info and returns it', async () => {
    const { manager, logs } = createActionManager();
    // Warm the worker, so that the countdown's timing is measured alone.
    await manager.waitFor(manager.createTask('Warm-up', actions.reminderTimer, { args: { durationSeconds: 0, message: 'warm' } }));
    const progress: number[] = [];
    manager.on('progress', (task) => progress.push(task.progress));

    const startedAt = Date.now();
    const id = manager.createTask('Reminder', actions.reminderTimer, { args: { durationSeconds: 0.3, message: 'Tea is ready' } });
    const task = (await manager.waitFor(id)) as Task<ReminderTimerResult>;

    expect(task.state, task.error).toBe(TaskState.COMPLETED);
    expect(task.progress).toBe(100);
    // 20 steps of 15 ms: the last may travel with the result rather than as an event.
    expect(progress.length).toBeGreaterThanOrEqual(19);
    expect(progress).toEqual([...new Set(progress)].sort((a, b) => a - b));
    expect(progress[0]).toBe(5);
    expect(task.result?.message).toBe('Tea is ready');
    const firedAt = Date.parse(task.result?.firedAt ?? '');
    expect(new Date(firedAt).toISOString()).toBe(task.result?.firedAt);
    expect(firedAt - startedAt).toBeGreaterThanOrEqual(300);
    const line = await logs.waitFor((entry) => entry.msg === 'Tea is ready');
    expect(line).toMatchObject({ level: 30, taskId: id, firedAt: task.result?.firedAt });
  });

  it('moves at least once a second on a long timer, and stops at once when cancelled early', async () => {
    const { manager, logs } = createActionManager({ cancelGraceMs: 15_000 });
    await manager.waitFor(manager.createTask('Warm-up', actions.reminderTimer, { args: { durationSeconds: 0, message: 'warm' } }));
    const firstStep = deferred<number>();
    manager.on('progress', (task) => firstStep.resolve(task.progress));

    const startedAt = performance.now();
    const id = manager.createTask('Long reminder', actions.reminderTimer, { args: { durationSeconds: 100, message: 'Too late' } });
    // 100 s in steps of one second: the first step is 1 %.
    expect(await firstStep.promise).toBe(1);
    expect(performance.now() - startedAt).toBeGreaterThanOrEqual(990);

    const cancelledAt = performance.now();
    expect(manager.cancelTask(id)).toBe(true);
    await manager.onIdle();
    expect(performance.now() - cancelledAt).toBeLessThan(5000);
    const task = manager.getTask(id);
    expect(task?.state).toBe(TaskState.CANCELLED);
    expect(task?.progress).toBe(1);
    // The worker is free and well: another timer runs on it.
    const next = await manager.waitFor(
      manager.createTask('Next', actions.reminderTimer, { args: { durationSeconds: 0.02, message: 'Next' } }),
    );
    expect(next.state).toBe(TaskState.COMPLETED);
    await logs.waitFor((line) => line.msg === 'Next');
    expect(logs.lines.some((line) => line.msg === 'Too late')).toBe(false);
  });

  it('can be called from any handler; an abort rejects with its reason and leaves no timer behind', async () => {
    const task = handMadeContext();
    const result = await reminderTimer(task, { durationSeconds: 0.05, message: 'Quick' });
    expectTypeOf(result).toEqualTypeOf<ReminderTimerResult>();
    expect(result.message).toBe('Quick');
    expect(task.progressHistory).toHaveLength(20);
    expect(task.progressHistory.at(-1)).toBe(100);
    expect(task.logged).toEqual([{ level: 'info', fields: { firedAt: result.firedAt, durationSeconds: 0.05 }, msg: 'Quick' }]);

    const immediate = handMadeContext();
    await reminderTimer(immediate, { durationSeconds: 0, message: 'Now' });
    expect(immediate.progressHistory).toEqual([100]);

    const controller = new AbortController();
    const cancelled = handMadeContext(controller.signal);
    const timersBefore = pendingTimers();
    const running = reminderTimer(cancelled, { durationSeconds: 60, message: 'Never' });
    expect(pendingTimers()).toBe(timersBefore + 1);
    const reason = new Error('changed my mind');
    controller.abort(reason);
    // At once: before this process's event loop even turns.
    const settled = await Promise.race([
      running.catch((error: unknown) => error),
      new Promise((resolve) => setImmediate(resolve, 'still running')),
    ]);
    expect(settled).toBe(reason);
    expect(pendingTimers()).toBeLessThanOrEqual(timersBefore);
    expect(cancelled.logged).toEqual([]);
  });

  it('rejects bad options with a TypeError or RangeError that names the option', async () => {
    const task = handMadeContext();
    await expect(reminderTimer(task, { durationSeconds: -1, message: 'x' })).rejects.toThrow(
      new RangeError('Expected `options.durationSeconds` to be a finite number >= 0, got `-1` (number)'),
    );
    await expect(reminderTimer(task, { durationSeconds: '5', message: 'x' } as never)).rejects.toThrow(
      new TypeError('Expected `options.durationSeconds` to be a finite number, got `"5"` (string)'),
    );
    await expect(reminderTimer(task, { durationSeconds: 1 } as never)).rejects.toThrow(
      new TypeError('Expected `options.message` to be a non-empty string, got `undefined` (undefined)'),
    );
    await expect(reminderTimer(task, { durationSeconds: 1, message: 'x', repeat: true } as never)).rejects.toThrow(
      new TypeError('Unknown option `options.repeat`: expected one of `durationSeconds`, `message`'),
    );
    expect(task.progressHistory).toEqual([]);
  });
});
