import { describe, expect, it } from 'vitest';
import { createGate, isOpen, waitGate } from './fixtures/gate.js';
import { createManager, fixture, nextEvent, recordEvents } from './helpers.js';

describe('cancelTask', () => {
  it('removes a pending task from the queue at once, with one cancelled event', async () => {
    const manager = createManager({ maxConcurrentTasks: 1 });
    const events = recordEvents(manager);
    const id = manager.createTask('Pending', fixture('echo'));
    const other = manager.createTask('Other', fixture('echo'));
    expect(manager.cancelTask(id)).toBe(true);
    expect(manager.getTask(id)).toMatchObject({ state: 'cancelled', error: undefined });
    expect(manager.getTask(id)!.completedAt).toBeInstanceOf(Date);
    expect(manager.getTask(id)!.startedAt).toBeUndefined();
    void manager.runTasks();
    await manager.onIdle();
    expect(manager.getTask(other)!.state).toBe('completed');
    expect(events.filter((e) => e.task.id === id).map((e) => e.event)).toEqual(['created', 'cancelled']);
  });

  it('aborts a cooperative running task through task.signal, well before the grace period', async () => {
    const manager = createManager({ autoStart: true, cancelGraceMs: 30_000 });
    const started = createGate();
    const aborted = createGate();
    const id = manager.createTask('Cooperative', fixture('untilAborted'), { args: { started, aborted } });
    await waitGate(started);
    const cancelled = nextEvent(manager, 'cancelled', id);
    expect(manager.cancelTask(id)).toBe(true);
    expect(manager.getTask(id)!.state).toBe('cancelled');
    await cancelled;
    // The handler saw the abort (it opens this gate only then), long before 30 s of grace.
    await waitGate(aborted, 5_000);
    await manager.onIdle();
    // The worker survived: a new task on the same manager runs.
    expect((await manager.waitFor(manager.createTask('After', fixture('echo'), { args: 1 }))).result).toBe(1);
  });

  it('terminates the worker of a CPU-bound task after the grace period, and the pool recovers', async () => {
    const manager = createManager({ autoStart: true, maxConcurrentTasks: 1, cancelGraceMs: 50 });
    const events = recordEvents(manager);
    const started = createGate();
    const id = manager.createTask('Spin', fixture('spin'), { args: { started } });
    const queued = manager.createTask('Queued', fixture('echo'), { args: 'after the spin' });
    await waitGate(started);
    expect(manager.cancelTask(id)).toBe(true);
    const next = await manager.waitFor(queued);
    expect(next.state).toBe('completed');
    expect(next.result).toBe('after the spin');
    expect(manager.getTask(id)!.state).toBe('cancelled');
    expect(events.filter((e) => e.task.id === id).map((e) => e.event)).toEqual(['created', 'started', 'cancelled']);
  });

  it('stops a task cancelled right after dispatch at once, not after the grace period', async () => {
    const manager = createManager({ autoStart: true, maxConcurrentTasks: 1, cancelGraceMs: 60_000 });
    // Warm the pool so that the next task is handed to a live worker at once.
    await manager.waitFor(manager.createTask('Warm-up', fixture('echo')));
    const started = createGate();
    const aborted = createGate();
    const id = manager.createTask('Cancelled on dispatch', fixture('untilAborted'), { args: { started, aborted } });
    await nextEvent(manager, 'started', id);
    expect(manager.cancelTask(id)).toBe(true);
    // With one slot and a minute of grace, the next task can only run if the abort reached the
    // worker at once: either the handler saw it, or it was never called at all.
    const next = await manager.waitFor(manager.createTask('Next', fixture('echo'), { args: 'ran' }));
    expect(next.result).toBe('ran');
    expect(!isOpen(started) || isOpen(aborted)).toBe(true);
  });

  it('delivers an abort sent before the task reached its worker (cancelled from a started listener)', async () => {
    const manager = createManager({ autoStart: true, maxConcurrentTasks: 1, cancelGraceMs: 60_000 });
    await manager.waitFor(manager.createTask('Warm-up', fixture('echo')));
    // The listener runs before the task is handed to Piscina, so the abort travels first.
    manager.on('started', (task) => {
      if (task.name === 'Doomed') manager.cancelTask(task.id);
    });
    const started = createGate();
    const aborted = createGate();
    const id = manager.createTask('Doomed', fixture('untilAborted'), { args: { started, aborted } });
    const next = await manager.waitFor(manager.createTask('Next', fixture('echo'), { args: 'ran' }));
    expect(next.result).toBe('ran');
    expect(manager.getTask(id)!.state).toBe('cancelled');
    // The handler was never called: the worker checks the signal before it starts work.
    expect(isOpen(started)).toBe(false);
  });

  it('reaches a worker that is still starting up when the task is cancelled', async () => {
    const manager = createManager({ autoStart: true, maxConcurrentTasks: 1, cancelGraceMs: 60_000 });
    const started = createGate();
    const aborted = createGate();
    // The pool is cold: the abort is sent before the worker has opened its control port.
    const id = manager.createTask('Cold start', fixture('untilAborted'), { args: { started, aborted } });
    await nextEvent(manager, 'started', id);
    expect(manager.cancelTask(id)).toBe(true);
    const next = await manager.waitFor(manager.createTask('Next', fixture('echo'), { args: 'ran' }));
    expect(next.result).toBe('ran');
  });

  it('keeps CANCELLED whatever the handler does afterwards, and returns false for later cancels', async () => {
    const manager = createManager({ autoStart: true, cancelGraceMs: 30_000 });
    const events = recordEvents(manager);
    let finish!: () => void;
    const id = manager.createTask(
      'Ignores its signal',
      (task) =>
        new Promise<string>((resolve) => {
          finish = () => resolve('done anyway');
          task.progress = 10;
        }),
    );
    await nextEvent(manager, 'started', id);
    expect(manager.cancelTask(id)).toBe(true);
    expect(manager.cancelTask(id)).toBe(false);
    finish();
    await manager.onIdle();
    expect(manager.getTask(id)).toMatchObject({ state: 'cancelled', result: undefined });
    expect(events.filter((e) => e.task.id === id && ['completed', 'failed', 'cancelled'].includes(e.event))).toHaveLength(1);
  });

  it('returns false for a finished or unknown task', async () => {
    const manager = createManager({ autoStart: true });
    const id = manager.createTask('Done', fixture('echo'));
    await manager.waitFor(id);
    expect(manager.cancelTask(id)).toBe(false);
    expect(manager.cancelTask('no-such-id')).toBe(false);
    expect(manager.getTask(id)!.state).toBe('completed');
  });

  it('frees the slot of a main-thread handler that ignores cancellation once the grace period ends', async () => {
    const manager = createManager({ autoStart: true, maxConcurrentTasks: 1, cancelGraceMs: 20 });
    const id = manager.createTask('Hangs', () => new Promise<never>(() => undefined));
    await nextEvent(manager, 'started', id);
    manager.cancelTask(id);
    const after = await manager.waitFor(manager.createTask('Next', fixture('echo'), { args: 2 }));
    expect(after.result).toBe(2);
  });
});
