import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { Writable } from 'node:stream';
import type { TaskEventType } from 'taskloom';
import { createManager, fixture, nextEvent, recordEvents } from './helpers.js';

const FINAL = new Set(['completed', 'failed', 'cancelled']);

describe('progress', () => {
  it('reports progress set in a worker, in order, and keeps the last value', async () => {
    const manager = createManager({ autoStart: true });
    const events = recordEvents(manager);
    const id = manager.createTask('Steps', fixture('progressSteps'), { args: [10, 35.5, 60, 99] });
    const task = await manager.waitFor(id);
    expect(task.progress).toBe(99);
    const seen = events.filter((e) => e.event === 'progress').map((e) => e.task.progress);
    // Every value that arrives does so in order; none after the final event.
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    expect(seen.every((value) => [10, 35.5, 60, 99].includes(value))).toBe(true);
    const lastProgress = events.findLastIndex((e) => e.event === 'progress');
    const final = events.findIndex((e) => FINAL.has(e.event));
    expect(lastProgress).toBeLessThan(final);
  });

  it('coalesces settings made in one tick into one update', async () => {
    const manager = createManager({ autoStart: true });
    const events = recordEvents(manager);
    const task = await manager.waitFor(manager.createTask('Burst', fixture('progressBurst'), { args: 1000 }));
    expect(task.progress).toBe(100);
    expect(events.filter((e) => e.event === 'progress').length).toBeLessThanOrEqual(1);
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
      manager.createTask('main', async (task) => {
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
    const logger = pino({ level: 'warn' }, new Writable({ write: (chunk: Buffer, _enc, done) => { lines.push(chunk.toString()); done(); } }));
    const manager = createManager({ autoStart: true, logger });
    const seen: [string, TaskEventType][] = [];
    manager.addEventCallback(() => {
      throw new Error('sync callback failure');
    });
    manager.addEventCallback(async () => {
      throw new Error('async callback failure');
    });
    const off = manager.addEventCallback(async (task, eventType) => {
      seen.push([task.name, eventType]);
    });
    const id = manager.createTask('Watched', fixture('echo'));
    await manager.waitFor(id);
    await new Promise((resolve) => setImmediate(resolve));
    expect(seen).toEqual([['Watched', 'started'], ['Watched', 'completed']]);
    expect(lines.some((line) => line.includes('sync callback failure'))).toBe(true);
    expect(lines.some((line) => line.includes('async callback failure'))).toBe(true);
    off();
    await manager.waitFor(manager.createTask('Unwatched', fixture('echo')));
    expect(seen).toHaveLength(2);
    expect(manager.getStats().completed).toBe(2);
  });

  it('passes worker log lines to the manager logger with the task id and name', async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level: 'info' }, new Writable({ write: (chunk: Buffer, _enc, done) => { lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>); done(); } }));
    const manager = createManager({ autoStart: true, logger });
    const id = manager.createTask('Chatty', fixture('logLines'));
    await manager.waitFor(id);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const mine = lines.filter((line) => line.taskId === id);
    expect(mine.map((line) => [line.level, line.msg])).toEqual([[30, 'first line'], [40, 'second line']]);
    expect(mine[0]).toMatchObject({ taskName: 'Chatty', step: 1 });
  });
});
