/**
 * getStats()'s timing figures: wait and run times of recent tasks, utilization and throughput.
 * Tasks run main-thread handlers that each hold their slot until the test lets them go, so the
 * durations are the test's own doing; figures are checked against the test's own clock.
 */
import { describe, expect, it } from 'vitest';
import { TaskState, workerTask, type TaskStats, type TimingFigures } from 'taskloom';
import { createManager, fixture, nextEvent, work } from './helpers.js';

function expectOrdered(figures: TimingFigures): void {
  expect(figures.p50).toBeLessThanOrEqual(figures.p99);
  expect(figures.p99).toBeLessThanOrEqual(figures.max);
  expect(figures.mean).toBeLessThanOrEqual(figures.max);
}

describe('getStats timing figures', () => {
  it('are zero before any task, beside the counts, which stay as they are', () => {
    const manager = createManager({ maxConcurrentTasks: 2 });
    const stats = manager.getStats();
    expect(stats).toMatchObject({ total: 0, pending: 0, running: 0, completed: 0, failed: 0, cancelled: 0 });
    expect(stats.waitTime).toEqual({ p50: 0, p99: 0, mean: 0, max: 0 });
    expect(stats.runTime).toEqual({ p50: 0, p99: 0, mean: 0, max: 0 });
    expect(stats.utilization).toBe(0);
    expect(stats.throughput).toBe(0);
  });

  it('measure how long tasks ran and how long they waited for a slot', async () => {
    const manager = createManager({ maxConcurrentTasks: 1 });
    const ids = ['first', 'second', 'third'].map((name) => manager.createTask(name, work(40)));
    const started = performance.now();
    void manager.runTasks();
    await manager.onIdle();
    const elapsed = performance.now() - started;
    const { runTime, waitTime } = manager.getStats();
    // The figures are differences of Date.now() stamps, whole milliseconds, so each can read up to
    // 1 ms more than the time it spans on the test's own (sub-millisecond) clock.
    const stampMs = 1;
    // Each ran about 40 ms; timers fire late, never early.
    expect(runTime.p50).toBeGreaterThanOrEqual(39);
    expect(runTime.max).toBeLessThanOrEqual(elapsed + stampMs);
    expect(runTime.mean * 3).toBeLessThanOrEqual(elapsed + 3 * stampMs);
    expectOrdered(runTime);
    // The third waited for the first two to run.
    expect(waitTime.max).toBeGreaterThanOrEqual(78);
    expect(waitTime.max).toBeLessThanOrEqual(elapsed + stampMs);
    expectOrdered(waitTime);
    expect(ids.map((id) => manager.getTask(id)!.state)).toEqual(['completed', 'completed', 'completed']);
  });

  it('cover a sliding window of the last 1,000 tasks', async () => {
    const manager = createManager({ maxConcurrentTasks: 2, autoStart: true });
    await manager.waitFor(manager.createTask('slow', work(50)));
    expect(manager.getStats().runTime.max).toBeGreaterThanOrEqual(49);
    const noop = (): undefined => undefined;
    for (let i = 0; i < 999; i++) manager.createTask('quick', noop);
    await manager.onIdle();
    // 1,000 runs: the slow one is still in.
    expect(manager.getStats().runTime.max).toBeGreaterThanOrEqual(49);
    await manager.waitFor(manager.createTask('quick', noop));
    // 1,001: it has left the window.
    expect(manager.getStats().runTime.max).toBeLessThan(49);
  });

  it('count failed attempts, retries and cancelled runs too', async () => {
    const manager = createManager({ maxConcurrentTasks: 2, autoStart: true });
    const failing = manager.createTask('fails twice', fixture('throwsString'), { retry: { attempts: 2 } });
    const running = manager.createTask('cancelled', work(10_000));
    await nextEvent(manager, 'started', running);
    manager.cancelTask(running);
    await manager.waitFor(failing);
    await manager.onIdle();
    expect(manager.getTask(failing)!.attempts).toBe(2);
    const { runTime, waitTime, cancelled, failed } = manager.getStats();
    expect({ cancelled, failed }).toEqual({ cancelled: 1, failed: 1 });
    expectOrdered(runTime);
    expectOrdered(waitTime);
    expect(runTime.max).toBeGreaterThan(0);
  });

  it('report utilization as Piscina does: run time over capacity since the manager was created', async () => {
    const before = performance.now();
    const manager = createManager({ maxConcurrentTasks: 2, autoStart: true });
    await Promise.all([manager.waitFor(manager.createTask('a', work(100))), manager.waitFor(manager.createTask('b', work(100)))]);
    const { utilization, runTime } = manager.getStats();
    const capacity = (performance.now() - before) * 2;
    // Both slots were busy for the whole life of the manager but a few milliseconds.
    expect(utilization).toBeGreaterThan(0.5);
    expect(utilization).toBeLessThanOrEqual(1);
    expect(utilization).toBeGreaterThanOrEqual((runTime.mean * 2) / capacity - 0.01);
    // With one slot in use out of four, it is at most a quarter.
    const wide = createManager({ maxConcurrentTasks: 4, autoStart: true });
    await wide.waitFor(wide.createTask('alone', work(100)));
    expect(wide.getStats().utilization).toBeLessThanOrEqual(0.25);
    expect(wide.getStats().utilization).toBeGreaterThan(0.1);
  });

  it('report throughput as tasks finished per second over the last 10 s', async () => {
    const started = performance.now();
    const manager = createManager({ maxConcurrentTasks: 2, autoStart: true });
    const noop = (): undefined => undefined;
    for (let i = 0; i < 40; i++) manager.createTask('quick', noop);
    manager.cancelTask(manager.createTask('never runs', noop));
    await manager.onIdle();
    const { throughput } = manager.getStats();
    // 41 finished tasks over the life of the manager, counted as at least one second.
    const span = Math.max(1000, performance.now() - started);
    expect(throughput).toBeLessThanOrEqual(41_000 / Math.max(1000, performance.now() - started - 50));
    expect(throughput).toBeGreaterThanOrEqual(41_000 / (span + 50) - 0.5);
  });

  it('are plain data once copied: JSON and structured clones hold the figures', async () => {
    const manager = createManager({ maxConcurrentTasks: 1, autoStart: true });
    await manager.waitFor(manager.createTask('one', work(5)));
    const stats = manager.getStats();
    const copy = structuredClone(stats);
    expect(copy.runTime).toEqual(stats.runTime);
    expect(copy).toMatchObject({ total: 1, completed: 1 });
    const parsed = JSON.parse(JSON.stringify(stats)) as typeof stats;
    expect(Object.keys(parsed).sort()).toEqual(
      ['total', 'pending', 'running', 'completed', 'failed', 'cancelled', 'waitTime', 'runTime', 'utilization', 'throughput'].sort(),
    );
    expect(parsed.runTime.p50).toBeGreaterThanOrEqual(4);
    expect(manager.getTask(manager.listTasks()[0]!.id)!.state).toBe(TaskState.COMPLETED);
  });

  it('reach a worker thread through task.manager.getStats()', async () => {
    const manager = createManager({ maxConcurrentTasks: 2, autoStart: true });
    await manager.waitFor(manager.createTask('warm-up', work(5)));
    const id = manager.createTask('reads stats', workerTask(new URL('./fixtures/clients.ts', import.meta.url), 'inspectManager'));
    const { stats } = (await manager.waitFor(id)).result as { stats: TaskStats };
    expect(stats).toMatchObject({ total: 2, completed: 1, running: 1 });
    expect(stats.runTime.p50).toBeGreaterThanOrEqual(4);
    expect(stats.waitTime.max).toBeGreaterThanOrEqual(0);
  });
});
