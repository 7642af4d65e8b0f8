import { queryObjects } from 'node:v8';
import { describe, expect, it } from 'vitest';
import type { TaskManager } from 'taskloom';
import { createManager, fixture } from './helpers.js';

/** What the main-thread handlers below return: counted on the heap to see what the manager still holds. */
class Payload {
  readonly index: number;

  constructor(index: number) {
    this.index = index;
  }
}

/** Runs `count` main-thread tasks that each return a Payload, awaiting each; `after` is called with each id. */
async function runPayloads(manager: TaskManager, count: number, after: (id: string) => void): Promise<void> {
  for (let i = 0; i < count; i++) {
    const id = manager.createTask(`t${i}`, () => new Payload(i));
    const { state } = await manager.waitFor(id);
    if (state !== 'completed') throw new Error(`task ${i} ended ${state}`);
    after(id);
  }
}

/** How many Payloads are still reachable: queryObjects counts live objects after a full garbage collection. */
function livePayloads(): number {
  return queryObjects(Payload, { format: 'count' });
}

describe('retention of finished tasks', () => {
  it('holds nothing of a task once removeTask has forgotten it', async () => {
    const manager = createManager({ autoStart: true, maxFinishedTasks: 1_000 });
    await runPayloads(manager, 50, (id) => expect(manager.removeTask(id)).toBe(true));
    expect(manager.listTasks()).toEqual([]);
    expect(livePayloads()).toBe(0);
  });

  it('holds nothing of the tasks clearFinished forgot, and keeps counting from zero after it', async () => {
    const manager = createManager({ autoStart: true, maxFinishedTasks: 5 });
    await runPayloads(manager, 4, () => undefined);
    expect(livePayloads()).toBe(4);
    expect(manager.clearFinished()).toBe(4);
    expect(livePayloads()).toBe(0);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push(manager.createTask(`u${i}`, fixture('echo'), { args: i }));
      await manager.waitFor(ids[i]!);
    }
    expect(manager.listTasks().map((task) => task.name)).toEqual(['u0', 'u1', 'u2', 'u3', 'u4']);
  });

  it('does not count removed tasks against maxFinishedTasks, and still drops the oldest kept one', async () => {
    const manager = createManager({ autoStart: true, maxFinishedTasks: 3 });
    for (let i = 0; i < 10; i++) {
      const id = manager.createTask(`removed ${i}`, fixture('echo'), { args: i });
      await manager.waitFor(id);
      expect(manager.removeTask(id)).toBe(true);
    }
    const kept: string[] = [];
    for (let i = 0; i < 3; i++) {
      kept.push(manager.createTask(`kept ${i}`, fixture('echo'), { args: i }));
      await manager.waitFor(kept[i]!);
    }
    expect(manager.listTasks().map((task) => task.name)).toEqual(['kept 0', 'kept 1', 'kept 2']);
    // One removed by hand in the middle: the next one past the bound drops the oldest still kept.
    expect(manager.removeTask(kept[1]!)).toBe(true);
    await manager.waitFor(manager.createTask('kept 3', fixture('echo')));
    await manager.waitFor(manager.createTask('kept 4', fixture('echo')));
    expect(manager.listTasks().map((task) => task.name)).toEqual(['kept 2', 'kept 3', 'kept 4']);
  });
});
