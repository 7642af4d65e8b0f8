import { describe, expect, it } from 'vitest';
import { PriorityQueue, type QueueEntry } from '../src/main/priority-queue.js';
import { createManager, fixture, recordEvents } from './helpers.js';

describe('dispatch order', () => {
  it('runs higher priority first and keeps creation order among equals', async () => {
    const manager = createManager({ maxConcurrentTasks: 1 });
    const events = recordEvents(manager);
    const plan: [string, number][] = [
      ['low-1', 1],
      ['normal-1', 10],
      ['urgent', 100],
      ['normal-2', 10],
      ['low-2', 1],
      ['normal-3', 10],
      ['negative', -5],
    ];
    for (const [name, priority] of plan) manager.createTask(name, fixture('echo'), { priority, args: name });
    void manager.runTasks();
    await manager.onIdle();
    const started = events.filter((e) => e.event === 'started').map((e) => e.task.name);
    expect(started).toEqual(['urgent', 'normal-1', 'normal-2', 'normal-3', 'low-1', 'low-2', 'negative']);
  });

  it('dispatches a burst created in one tick by priority, even on an idle pool', async () => {
    const manager = createManager({ maxConcurrentTasks: 1, autoStart: true });
    const events = recordEvents(manager);
    manager.createTask('first-created', fixture('echo'), { priority: 0 });
    manager.createTask('most-urgent', fixture('echo'), { priority: 9 });
    await manager.onIdle();
    expect(events.filter((e) => e.event === 'started').map((e) => e.task.name)).toEqual(['most-urgent', 'first-created']);
  });

  it('never runs more than maxConcurrentTasks at once, worker and main-thread handlers alike', async () => {
    const manager = createManager({ maxConcurrentTasks: 2, autoStart: true });
    let running = 0;
    let peak = 0;
    manager.on('started', () => {
      running++;
      peak = Math.max(peak, running);
    });
    const settle = (): void => {
      running--;
    };
    manager.on('completed', settle);
    manager.on('failed', settle);
    for (let i = 0; i < 20; i++) {
      if (i % 2 === 0) manager.createTask(`worker-${i}`, fixture('echo'), { args: i });
      else manager.createTask(`main-${i}`, async () => new Promise((resolve) => setTimeout(resolve, 2)));
    }
    await manager.onIdle();
    expect(peak).toBe(2);
    expect(manager.getStats().completed).toBe(20);
  });
});

describe('setPriority', () => {
  it('reorders pending tasks, and refuses running, finished and unknown ones', async () => {
    const manager = createManager({ maxConcurrentTasks: 1 });
    const events = recordEvents(manager);
    const a = manager.createTask('a', fixture('echo'), { priority: 5 });
    const b = manager.createTask('b', fixture('echo'), { priority: 4 });
    const c = manager.createTask('c', fixture('echo'), { priority: 3 });
    expect(manager.setPriority(c, 50)).toBe(true);
    expect(manager.setPriority(a, 1)).toBe(true);
    expect(manager.getTask(c)!.priority).toBe(50);
    void manager.runTasks();
    await manager.onIdle();
    expect(events.filter((e) => e.event === 'started').map((e) => e.task.name)).toEqual(['c', 'b', 'a']);
    expect(manager.setPriority(b, 99)).toBe(false);
    expect(manager.setPriority('unknown', 99)).toBe(false);
    expect(manager.getTask(b)!.priority).toBe(4);
  });
});

describe('PriorityQueue', () => {
  interface Entry extends QueueEntry {
    readonly name: string;
  }
  const entry = (name: string, priority: number, seq: number): Entry => ({ name, priority, seq, heapIndex: -1 });

  it('pops by priority then seq, and removes and reprioritizes any entry', () => {
    const queue = new PriorityQueue<Entry>();
    const entries = Array.from({ length: 200 }, (_, i) => entry(`e${i}`, (i * 7919) % 13, i));
    for (const e of entries) queue.push(e);
    const removed = new Set([entries[5]!, entries[77]!, entries[150]!]);
    for (const e of removed) expect(queue.remove(e)).toBe(true);
    expect(queue.remove(entries[5]!)).toBe(false);
    queue.reprioritize(entries[199]!, 100);
    queue.reprioritize(entries[0]!, -1);
    const expected = entries
      .filter((e) => !removed.has(e))
      .sort((x, y) => y.priority - x.priority || x.seq - y.seq)
      .map((e) => e.name);
    const popped: string[] = [];
    for (let e = queue.pop(); e !== undefined; e = queue.pop()) popped.push(e.name);
    expect(popped).toEqual(expected);
    expect(popped[0]).toBe('e199');
    expect(popped.at(-1)).toBe('e0');
    expect(queue.size).toBe(0);
  });
});
