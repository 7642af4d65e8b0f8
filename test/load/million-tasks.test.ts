/**
 * The load test: TASKLOOM_LOAD_TASKS no-op tasks (1,000,000 by default) through a 2-thread
 * pool. Every task must be accounted for, and memory must stay bounded by retention: the
 * producer waits for room with whenReady(), and finished tasks beyond maxFinishedTasks are
 * dropped. Run it with `npm run test:load`; .ci/run runs a smaller count.
 */
import { describe, expect, it } from 'vitest';
import { TaskManager } from 'taskloom';
import { fixture, REGISTER_TSX } from '../helpers.js';

const TOTAL = Number(process.env.TASKLOOM_LOAD_TASKS ?? 1_000_000);
const MAX_PENDING = 5_000;
const MAX_FINISHED = 10_000;

function heapAfterGc(): number {
  globalThis.gc?.();
  return process.memoryUsage().heapUsed;
}

describe(`load: ${TOTAL.toLocaleString('en')} tasks`, () => {
  it('completes every task with bounded memory', { timeout: 30 * 60_000 }, async () => {
    const manager = new TaskManager({
      maxConcurrentTasks: 2,
      autoStart: true,
      logger: false,
      maxPendingTasks: MAX_PENDING,
      maxFinishedTasks: MAX_FINISHED,
      workerPreload: [REGISTER_TSX],
    });
    const handler = fixture('echo');
    let completedEvents = 0;
    let finalEvents = 0;
    manager.on('completed', () => {
      completedEvents++;
    });
    for (const event of ['completed', 'failed', 'cancelled'] as const) {
      manager.on(event, () => {
        finalEvents++;
      });
    }

    const started = performance.now();
    const checkpoint = Math.floor(TOTAL / 10);
    let heapAtCheckpoint = 0;
    let peakHeap = 0;
    for (let i = 0; i < TOTAL; i++) {
      if (manager.getStats().pending >= MAX_PENDING) await manager.whenReady();
      manager.createTask('noop', handler, { args: i });
      if (i === checkpoint) heapAtCheckpoint = heapAfterGc();
      if (i % 50_000 === 0) peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
    }
    await manager.onIdle();
    const seconds = (performance.now() - started) / 1000;
    const heapAtEnd = heapAfterGc();
    const stats = manager.getStats();
    await manager.stop();

    console.log(
      JSON.stringify({
        tasks: TOTAL,
        seconds: Number(seconds.toFixed(1)),
        tasksPerSecond: Math.round(TOTAL / seconds),
        heapMiB: { atTenPercent: mib(heapAtCheckpoint), atEnd: mib(heapAtEnd), peakSampled: mib(peakHeap) },
        retained: manager.listTasks().length,
      }),
    );
    // The counts, exactly; getStats() also carries timing figures, which the load does not fix.
    const { total, pending, running, completed, failed, cancelled } = stats;
    expect({ total, pending, running, completed, failed, cancelled }).toEqual({
      total: TOTAL,
      pending: 0,
      running: 0,
      completed: TOTAL,
      failed: 0,
      cancelled: 0,
    });
    expect(completedEvents).toBe(TOTAL);
    expect(finalEvents).toBe(TOTAL);
    expect(manager.listTasks()).toHaveLength(Math.min(TOTAL, MAX_FINISHED));
    // Bounded: the heap at the end is close to the heap a tenth of the way in, not ten times it.
    // (Unbounded retention would hold every task record: hundreds of MiB for a million tasks.)
    expect(heapAtEnd).toBeLessThan(heapAtCheckpoint + 64 * 1024 * 1024);
  });
});

function mib(bytes: number): number {
  return Math.round((bytes / 1024 / 1024) * 10) / 10;
}
