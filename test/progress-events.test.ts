import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { Writable } from 'node:stream';
import type { TaskEventType } from 'taskloom';
import { createGate, openGate } from './fixtures/gate.js';
import { createManager, fixture, nextEvent, recordEvents } from './helpers.js';

const FINAL = new Set(['completed', 'failed', 'cancelled']);

describe('progress', () => {
  it('reports progress set in a worker, in order, and keeps the last value', async () => {
    const manager = createManager({ autoStart: true });
    const events = recordEvents(manager);
    const steps = [10, 35.5, 60, 99];
    const seen = steps.map(() => createGate());
    // The handler waits after each step until its progress event has arrived here.
    manager.on('progress', (task) => {
      const step = steps.indexOf(task.progress);
      if (step !== -1) openGate(seen[step]!);
    });
    const task = await manager.waitFor(manager.createTask('Steps', fixture('progressStepsSeen'), { args: { steps, seen } }));
    expect(task).toMatchObject({ state: 'completed', progress: 99 });
    expect(events.filter((e) => e.event === 'progress').map((e) => e.task.progress)).toEqual(steps);
    const lastProgress = events.findLastIndex((e) => e.event === 'progress');
    const final = events.findIndex((e) => FINAL.has(e.event));
    expect(lastProgress).toBeLessThan(final);
  });

  it('coalesces settings made in one tick into one update', async () => {
    const manager = createManager({ autoStart: true });
    const events = recordEvents(manager);
    const seen = createGate();
    // The handler waits after its burst until the update has arrived here.
    manager.on('progress', () => openGate(seen));
    const task = await manager.waitFor(manager.createTask('Burst', fixture('progressBurstSeen'), { args: { count: 1000, seen } }));
    expect(task).toMatchObject({ state: 'completed', progress: 100 });
    expect(events.filter((e) => e.event === 'progress').map((e) => e.task.progress)).toEqual([100]);
  });

  it('accepts progress from the main thread for pending and running tasks only', async () => {
    const manager = createManager({ maxConcurrentTasks: 1 });
    const id = manager.createTask('Main progress', fixture('echo'));
    const progressed = nextEvent(manager, 'progress', id);
    expect(manager.updateProgress(id, 75)).toBe(true);
    expect((await progressed).progress).toBe(75);
    expect(manager.getTask(id)!.progress).toBe(75);
    void manager.runTasks();
    await manager.waitFor(id);
    expect(manager.updateProgress(id, 80)).toBe(false);
    expect(manager.updateProgress('unknown', 80)).toBe(false);
  });

  it('fails a handler that sets progress out of range, naming the value', async () => {
    const manager = createManager({ autoStart: true });
    const task = await manager.waitFor(manager.createTask('Bad progress', fixture('badProgress')));
    expect(task.state).toBe('failed');
    expect(task.error).toMatch(/RangeError: Expected `task.progress` to be between 0 and 100, got `150` \(number\)/);
  });
});

describe('events', () => {
  it('emits created, started, progress..., then exactly one final event per task', async () => {
    const manager = createManager({ autoStart: true, maxConcurrentTasks: 2 });
    const events = recordEvents(manager);
    const ids = [
      manager.createTask('ok', fixture('progressSteps'), { args: [20, 40] }),
      manager.createTask('fails', fixture('throwsSubclass')),
      manager.createTask('main', (task) => {
        task.progress = 50;
        return 'main done';
      }),
    ];
    const cancelled = manager.createTask('cancelled', fixture('echo'), { priority: -1 });
    manager.cancelTask(cancelled);
    await manager.onIdle();
    for (const id of [...ids, cancelled]) {
      const sequence = events.filter((e) => e.task.id === id).map((e) => e.event);
      expect(sequence[0]).toBe('created');
      expect(sequence.filter((e) => FINAL.has(e))).toHaveLength(1);
      expect(FINAL.has(sequence.at(-1)!)).toBe(true);
      if (id !== cancelled) expect(sequence[1]).toBe('started');
      expect(sequence.slice(2, -1).every((e) => e === 'progress')).toBe(true);
    }
    expect(events.filter((e) => e.task.id === ids[1]).at(-1)!.event).toBe('failed');
    expect(events.filter((e) => e.task.id === ids[2]).map((e) => e.event)).toEqual(['created', 'started', 'progress', 'completed']);
  });

  it('calls event callbacks, sync or async, and survives ones that throw or reject', async () => {
    const lines: string[] = [];
    const logger = pino(
      { level: 'warn' },
      new Writable({
        write: (chunk: Buffer, _enc, done) => {
          lines.push(chunk.toString());
          done();
        },
      }),
    );
    const manager = createManager({ autoStart: true, logger });
    const seen: [string, TaskEventType][] = [];
    manager.addEventCallback(() => {
      throw new Error('sync callback failure');
    });
    manager.addEventCallback(() => Promise.reject(new Error('async callback failure')));
    const off = manager.addEventCallback((task, eventType) => {
      seen.push([task.name, eventType]);
    });
    const id = manager.createTask('Watched', fixture('echo'));
    await manager.waitFor(id);
    await new Promise((resolve) => setImmediate(resolve));
    expect(seen).toEqual([
      ['Watched', 'started'],
      ['Watched', 'completed'],
    ]);
    expect(lines.some((line) => line.includes('sync callback failure'))).toBe(true);
    expect(lines.some((line) => line.includes('async callback failure'))).toBe(true);
    off();
    await manager.waitFor(manager.createTask('Unwatched', fixture('echo')));
    expect(seen).toHaveLength(2);
    expect(manager.getStats().completed).toBe(2);
  });

  it('passes worker log lines to the manager logger with the task id and name', async () => {
    const lines: Record<string, unknown>[] = [];
    // Log lines travel apart from the result: the test waits for the last one, not for a while.
    let sawLastLine = (): void => undefined;
    const lastLine = new Promise<void>((resolve) => (sawLastLine = resolve));
    const logger = pino(
      { level: 'info' },
      new Writable({
        write: (chunk: Buffer, _enc, done) => {
          const line = JSON.parse(chunk.toString()) as Record<string, unknown>;
          lines.push(line);
          if (line.msg === 'second line') sawLastLine();
          done();
        },
      }),
    );
    const manager = createManager({ autoStart: true, logger });
    const id = manager.createTask('Chatty', fixture('logLines'));
    await manager.waitFor(id);
    await lastLine;
    const mine = lines.filter((line) => line.taskId === id);
    expect(mine.map((line) => [line.level, line.msg])).toEqual([
      [30, 'first line'],
      [40, 'second line'],
    ]);
    expect(mine[0]).toMatchObject({ taskName: 'Chatty', step: 1 });
  });
});
