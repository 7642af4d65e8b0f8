import { describe, expect, it } from 'vitest';
import { workerTask } from 'taskloom';
import { createManager, fixture, REGISTER_TSX } from './helpers.js';

describe('a handler that goes wrong ends FAILED with a message that says what happened', () => {
  const cases: [string, string | RegExp][] = [
    ['throwsString', 'a non-Error value was thrown: "plain string"'],
    ['throwsUndefined', 'a non-Error value was thrown: undefined'],
    ['throwsSubclass', 'QuotaError: quota exceeded'],
    ['rejectsLater', 'rejected after a delay'],
    ['returnsFunction', "TypeError: The handler's result cannot be cloned to the main thread: result is a function"],
    ['returnsNestedSymbol', "TypeError: The handler's result cannot be cloned to the main thread: result.deep.value is a symbol"],
    ['exits', 'the worker thread exited with code 3 while running the task'],
    ['notAFunction', /has no function export named `notAFunction` \(found a number\)/],
    ['missingExport', /has no function export named `missingExport` \(found no such export\)/],
  ];

  for (const [exportName, expected] of cases) {
    it(`${exportName}`, async () => {
      const manager = createManager({ autoStart: true, maxConcurrentTasks: 1 });
      const task = await manager.waitFor(manager.createTask(exportName, fixture(exportName)));
      expect(task.state).toBe('failed');
      if (typeof expected === 'string') expect(task.error).toBe(expected);
      else expect(task.error).toMatch(expected);
      expect(task.result).toBeUndefined();
      // The manager goes on: the next task on the same manager completes.
      const next = await manager.waitFor(manager.createTask('next', fixture('echo'), { args: 'still fine' }));
      expect(next.result).toBe('still fine');
      expect(manager.getStats()).toMatchObject({ total: 2, failed: 1, completed: 1, pending: 0, running: 0 });
    });
  }

  it('a module that throws when imported', async () => {
    const manager = createManager({ autoStart: true });
    const task = await manager.waitFor(manager.createTask('bad module', workerTask(new URL('./fixtures/throws-on-import.ts', import.meta.url))));
    expect(task.state).toBe('failed');
    expect(task.error).toMatch(/Could not load worker module .*throws-on-import\.ts: this module fails when imported/);
  });

  it('arguments that cannot be cloned to the worker', async () => {
    const manager = createManager({ autoStart: true });
    const task = await manager.waitFor(manager.createTask('bad args', fixture('echo'), { args: { callback: () => 1 } }));
    expect(task.state).toBe('failed');
    expect(task.error).toMatch(/could not be cloned between threads/);
  });

  it('a main-thread handler that throws synchronously or a non-Error', async () => {
    const manager = createManager({ autoStart: true });
    const sync = await manager.waitFor(manager.createTask('sync throw', () => {
      throw new RangeError('bad range');
    }));
    expect(sync).toMatchObject({ state: 'failed', error: 'RangeError: bad range' });
    const odd = await manager.waitFor(manager.createTask('odd throw', async () => {
      throw { code: 42 };
    }));
    expect(odd).toMatchObject({ state: 'failed', error: 'a non-Error value was thrown: {"code":42}' });
  });

  it('a worker preload that fails fails the tasks with the reason instead of hanging', async () => {
    const manager = createManager({
      autoStart: true,
      workerPreload: [REGISTER_TSX, new URL('./fixtures/throws-on-import.ts', import.meta.url)],
    });
    const task = await manager.waitFor(manager.createTask('preload', fixture('echo')));
    expect(task.state).toBe('failed');
    expect(task.error).toMatch(/Worker preload .*throws-on-import\.ts failed: this module fails when imported/);
  });
});
