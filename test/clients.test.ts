import { Worker } from 'node:worker_threads';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { CallerEndedError, UnknownTaskError, workerTask, type ManagerClient } from 'taskloom';
import { createGate, waitGate } from './fixtures/gate.js';
import { collectGarbage, createManager, fixture, nextEvent, recordEvents } from './helpers.js';

const CLIENTS = new URL('./fixtures/clients.ts', import.meta.url);
const client = (exportName: string) => workerTask(CLIENTS, exportName);

describe('task.manager inside a worker handler', () => {
  it('fans out into 8 child tasks and fans their results back in', async () => {
    const manager = createManager({ autoStart: true, maxConcurrentTasks: 2 });
    const id = manager.createTask('Sum 0..9999', client('sumRange'), { args: { to: 10_000, parts: 8 } });
    const task = await manager.waitFor(id);
    expect(task.state).toBe('completed');
    const { sum, children } = task.result as { sum: number; children: string[] };
    expect(sum).toBe((9_999 * 10_000) / 2);
    expect(children).toHaveLength(8);
    for (const child of children) expect(manager.getTask(child)).toMatchObject({ state: 'completed', parentId: id });
    expect(manager.getTask(id)!.parentId).toBeUndefined();
    expect(manager.getStats()).toMatchObject({ total: 9, completed: 9 });
  });

  it('reads stats and lists tasks from a worker', async () => {
    const manager = createManager({ autoStart: true });
    const task = await manager.waitFor(manager.createTask('Inspector', client('inspectManager')));
    expect(task.result).toMatchObject({
      myState: 'running',
      runningNames: ['Inspector'],
      stats: { total: 1, pending: 0, running: 1, completed: 0, failed: 0, cancelled: 0 },
    });
  });

  it('cancels the pending and running children of a cancelled parent', async () => {
    const manager = createManager({ autoStart: true, maxConcurrentTasks: 3, cancelGraceMs: 5_000 });
    const events = recordEvents(manager);
    const ready = createGate();
    const parent = manager.createTask('Parent', client('parentOfWaiters'), { args: { count: 4, ready } });
    await waitGate(ready);
    const children = manager.listTasks().filter((t) => t.parentId === parent);
    expect(children).toHaveLength(4);
    // Two slots for four children: some run, the others wait.
    await new Promise((resolve) => setImmediate(resolve));
    expect(manager.cancelTask(parent)).toBe(true);
    await manager.onIdle();
    for (const child of children) expect(manager.getTask(child.id)!.state).toBe('cancelled');
    const started = new Set(events.filter((e) => e.event === 'started').map((e) => e.task.id));
    expect(children.some((child) => started.has(child.id))).toBe(true);
    expect(manager.getStats()).toMatchObject({ total: 5, cancelled: 5 });
  });

  it('fails at once, naming the deadlock, when a task waits for a child that could never start', async () => {
    const manager = createManager({ autoStart: true, maxConcurrentTasks: 1 });
    const parent = manager.createTask('Waits for its child', client('waitsForOwnChild'));
    const task = await manager.waitFor(parent);
    const result = task.result as { waited: boolean; name: string; code: string; message: string; child: string };
    expect(result).toMatchObject({ waited: false, name: 'DeadlockError', code: 'TASKLOOM_DEADLOCK' });
    expect(result.message).toMatch(/would deadlock: all 1 slots would be held by tasks waiting for other tasks/);
    // The parent returned, freeing the slot, so the child runs after all.
    expect((await manager.waitFor(result.child)).state).toBe('completed');
  });

  it('waits without complaint when a free slot lets the child run', async () => {
    const manager = createManager({ autoStart: true, maxConcurrentTasks: 2 });
    const task = await manager.waitFor(manager.createTask('Waits for its child', client('waitsForOwnChild')));
    expect(task.result).toEqual({ waited: true });
  });

  it('rejects bad input through the proxy with the same TypeError or RangeError, in the calling thread', async () => {
    const manager = createManager({ autoStart: true });
    const task = await manager.waitFor(manager.createTask('Bad calls', client('badCalls')));
    expect(task.state).toBe('completed');
    const [emptyName, nanPriority, fnHandler, badProgress, badState, unknownId] = task.result as Record<string, unknown>[];
    expect(emptyName).toMatchObject({
      name: 'RangeError',
      isRangeError: true,
      message: 'Expected `name` to be a non-empty string, got `""` (string)',
    });
    expect(nanPriority).toMatchObject({
      name: 'TypeError',
      isTypeError: true,
      message: 'Expected `options.priority` to be a finite number, got `NaN` (number)',
    });
    expect(fnHandler).toMatchObject({ isTypeError: true, message: expect.stringMatching(/functions cannot cross threads/) as unknown });
    expect(badProgress).toMatchObject({ isRangeError: true, message: 'Expected `progress` to be between 0 and 100, got `250` (number)' });
    expect(badState).toMatchObject({ isRangeError: true });
    expect(unknownId).toMatchObject({ name: 'UnknownTaskError', code: 'TASKLOOM_UNKNOWN_TASK' });
    expect(manager.getStats().total).toBe(1);
  });
});

describe('a worker thread of the application', () => {
  it('creates and waits for tasks through connectManager(port)', async () => {
    const manager = createManager({ autoStart: true, maxConcurrentTasks: 2 });
    const port = manager.createClientPort();
    const appThread = new URL('./fixtures/app-thread.ts', import.meta.url).href;
    // The thread registers tsx itself so that it can run TypeScript, as the pool's workers do.
    const thread = new Worker(`import('tsx/esm/api').then(({ register }) => register()).then(() => import(${JSON.stringify(appThread)}))`, {
      eval: true,
      workerData: { port, count: 5 },
      transferList: [port],
    });
    // Listened for before the report: a thread that exits right after posting has its last message
    // delivered as it exits, in the same turn as 'exit', so a listener added after it would wait forever.
    const exited = once(thread, 'exit') as Promise<[number]>;
    const first = await Promise.race([once(thread, 'message'), exited.then(([code]) => ({ exitedFirst: code }))]);
    if (!Array.isArray(first)) throw new Error(`the thread exited with code ${first.exitedFirst} before it reported`);
    const [report] = first as [{ results: number[]; parents: (string | null)[]; badInput: unknown }];
    expect(report.results).toEqual([0, 1, 3, 6, 10]);
    expect(report.parents).toEqual([null, null, null, null, null]);
    expect(report.badInput).toEqual({ isTypeError: true, message: 'Expected `priority` to be a finite number, got `Infinity` (number)' });
    expect(manager.getStats()).toMatchObject({ total: 5, completed: 5 });
    expect(await exited).toEqual([0]);
  });

  it('sees a main-thread handler use task.manager the same way', async () => {
    const manager = createManager({ autoStart: true, maxConcurrentTasks: 2 });
    const parent = manager.createTask('Main-thread parent', async (task) => {
      const child = await task.manager.createTask('child', client('sumPart'), { args: { from: 1, to: 4 } });
      return (await task.manager.waitFor(child)).result;
    });
    const started = nextEvent(manager, 'completed', parent);
    expect((await manager.waitFor(parent)).result).toBe(6);
    await started;
    expect(manager.listTasks().find((t) => t.name === 'child')!.parentId).toBe(parent);
  });
});

describe('task.manager inside a main-thread handler', () => {
  it('rejects with the real error classes, so that instanceof works', async () => {
    const manager = createManager({ autoStart: true, maxConcurrentTasks: 1 });
    const outcomes: unknown[] = [];
    const id = manager.createTask('Main-thread caller', async (task) => {
      const calls: (() => Promise<unknown>)[] = [
        () => task.manager.waitFor('no-such-task'),
        () => task.manager.createTask('', client('sumPart')),
        () => task.manager.createTask('x', (() => 1) as never),
        () => task.manager.updateProgress(task.id, 250),
        () => task.manager.listTasks('done' as never),
      ];
      for (const call of calls) {
        // Every call returns a promise, even for bad input.
        const returned = (() => {
          try {
            return call();
          } catch (error) {
            return { threw: error };
          }
        })();
        outcomes.push(
          await Promise.resolve(returned).then(
            () => 'resolved',
            (error: unknown) => error,
          ),
        );
      }
    });
    await manager.waitFor(id);
    const [unknown, emptyName, fnHandler, badProgress, badState] = outcomes;
    expect(unknown).toBeInstanceOf(UnknownTaskError);
    expect(unknown).toMatchObject({ code: 'TASKLOOM_UNKNOWN_TASK' });
    expect(emptyName).toBeInstanceOf(RangeError);
    expect(fnHandler).toBeInstanceOf(TypeError);
    expect(fnHandler).toMatchObject({ message: expect.stringMatching(/functions cannot cross threads/) as unknown });
    expect(badProgress).toBeInstanceOf(RangeError);
    expect(badState).toBeInstanceOf(RangeError);
  });

  it('refuses a wait that could never end with a DeadlockError', async () => {
    const manager = createManager({ autoStart: true, maxConcurrentTasks: 1 });
    let child: string | undefined;
    const parent = manager.createTask('Waits for its child', async (task) => {
      child = await task.manager.createTask('child', client('sumPart'), { args: { from: 0, to: 3 } });
      return task.manager.waitFor(child);
    });
    const task = await manager.waitFor(parent);
    expect(task).toMatchObject({ state: 'failed', failure: { name: 'DeadlockError', code: 'TASKLOOM_DEADLOCK' } });
    expect(manager.getTask(child!)!.parentId).toBe(parent);
    expect((await manager.waitFor(child!)).result).toBe(3);
  });

  it('lets go of each child it created once the child has ended and been removed, while it still runs', async () => {
    const manager = createManager({ autoStart: true, maxConcurrentTasks: 2 });
    const refs: WeakRef<object>[] = [];
    const removed: boolean[] = [];
    let childrenDone: () => void = () => undefined;
    const done = new Promise<void>((resolve) => (childrenDone = resolve));
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const parent = manager.createTask('Parent', async (task) => {
      for (let i = 0; i < 3; i++) {
        const id = await task.manager.createTask(`child ${i}`, fixture('echo'), { args: { i, bytes: new Uint8Array(1024) } });
        // Taken inline: a snapshot held in a variable here could live on in this frame.
        refs.push(new WeakRef((await task.manager.waitFor(id)).result as object));
        removed.push(manager.removeTask(id));
      }
      childrenDone();
      await gate;
      return 'released';
    });
    // Should the parent fail instead, the test learns it here rather than waits forever.
    await Promise.race([done, manager.waitFor(parent)]);
    await collectGarbage();
    expect(manager.getTask(parent)?.state).toBe('running');
    expect(removed).toEqual([true, true, true]);
    expect(refs).toHaveLength(3);
    for (const ref of refs) expect(ref.deref()).toBeUndefined();
    release();
    expect(await manager.waitFor(parent)).toMatchObject({ state: 'completed', result: 'released' });
  });

  it('rejects createTask with a CallerEndedError once the calling task has ended', async () => {
    const manager = createManager({ autoStart: true });
    let kept: ManagerClient | undefined;
    const id = manager.createTask('Keeps its manager', (task) => {
      kept = task.manager;
    });
    await manager.waitFor(id);
    await expect(kept!.createTask('orphan', client('sumPart'), { args: { from: 0, to: 1 } })).rejects.toBeInstanceOf(CallerEndedError);
    // Queries still work, and a wait after the end is an ordinary wait.
    expect((await kept!.getTask(id))!.state).toBe('completed');
    expect((await kept!.waitFor(id)).state).toBe('completed');
  });
});
