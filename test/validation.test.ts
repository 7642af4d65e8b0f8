import { describe, expect, it } from 'vitest';
import { TaskManager, workerTask } from 'taskloom';
import { createManager, fixture } from './helpers.js';

describe('bad input is refused with a TypeError or RangeError that names the argument', () => {
  it('checks the constructor options', () => {
    expect(() => new TaskManager({ maxConcurrentTasks: 0 })).toThrow(RangeError);
    expect(() => new TaskManager({ maxConcurrentTasks: 0 })).toThrow(
      'Expected `options.maxConcurrentTasks` to be a positive integer, got `0` (number)',
    );
    expect(() => new TaskManager({ maxConcurrentTasks: 1.5 })).toThrow(TypeError);
    expect(() => new TaskManager({ maxConcurrentTasks: '4' as unknown as number })).toThrow('got `"4"` (string)');
    expect(() => new TaskManager({ cancelGraceMs: -1 })).toThrow(RangeError);
    expect(() => new TaskManager({ autoStart: 'yes' as unknown as boolean })).toThrow('Expected `options.autoStart` to be a boolean');
    expect(() => new TaskManager({ logger: {} as never })).toThrow('Expected `options.logger` to be a pino logger or false');
    expect(() => new TaskManager({ maxConcurrent: 4 } as never)).toThrow(/Unknown option `options.maxConcurrent`/);
    expect(() => new TaskManager(5 as never)).toThrow('Expected `options` to be an object, got `5` (number)');
    expect(() => new TaskManager({ workerPreload: ['./relative.mjs'] })).toThrow(
      /`options.workerPreload\[0\]` to be a file: URL or an absolute path/,
    );
  });

  it('checks createTask arguments', () => {
    const manager = createManager();
    expect(() => manager.createTask('', fixture('echo'))).toThrow(RangeError);
    expect(() => manager.createTask('', fixture('echo'))).toThrow('Expected `name` to be a non-empty string, got `""` (string)');
    expect(() => manager.createTask(7 as unknown as string, fixture('echo'))).toThrow(TypeError);
    expect(() => manager.createTask('x', 'tasks.js' as never)).toThrow(
      'Expected `handler` to be a function or a workerTask(...) reference, got `"tasks.js"` (string)',
    );
    expect(() => manager.createTask('x', { module: 'file:///x.js' } as never)).toThrow(TypeError);
    expect(() => manager.createTask('x', fixture('echo'), { priority: Number.NaN })).toThrow(
      'Expected `options.priority` to be a finite number, got `NaN` (number)',
    );
    expect(() => manager.createTask('x', fixture('echo'), { priority: Infinity })).toThrow(TypeError);
    expect(() => manager.createTask('x', fixture('echo'), { priorty: 1 } as never)).toThrow(/Unknown option `options.priorty`/);
    expect(manager.getStats().total).toBe(0);
  });

  it('checks that a worker module exists when the task is created', () => {
    const manager = createManager();
    const missing = workerTask(new URL('./fixtures/does-not-exist.ts', import.meta.url));
    expect(() => manager.createTask('Missing', missing)).toThrow(TypeError);
    expect(() => manager.createTask('Missing', missing)).toThrow(/does-not-exist\.ts does not exist/);
  });

  it('checks workerTask arguments', () => {
    expect(() => workerTask('relative/tasks.js')).toThrow(
      /Expected `module` to be a file: URL or an absolute path, got `"relative\/tasks.js"`/,
    );
    expect(() => workerTask(new URL('https://example.com/tasks.js'))).toThrow(/got a https: URL/);
    expect(() => workerTask(42 as never)).toThrow(TypeError);
    expect(() => workerTask('/abs/tasks.js', '')).toThrow('Expected `exportName` to be a non-empty string');
    expect(workerTask('/abs/tasks.js')).toEqual({ kind: 'taskloom.workerTask', module: 'file:///abs/tasks.js', exportName: 'default' });
  });

  it('checks ids, priorities, progress, states and callbacks', async () => {
    const manager = createManager();
    const id = manager.createTask('x', fixture('echo'));
    expect(() => manager.getTask(1 as never)).toThrow('Expected `id` to be a task id string, got `1` (number)');
    expect(() => manager.cancelTask(undefined as never)).toThrow(TypeError);
    expect(() => manager.setPriority(id, Number.NaN)).toThrow('Expected `priority` to be a finite number');
    expect(() => manager.updateProgress(id, 101)).toThrow(RangeError);
    expect(() => manager.updateProgress(id, 101)).toThrow('Expected `progress` to be between 0 and 100, got `101` (number)');
    expect(() => manager.updateProgress(id, -0.5)).toThrow(RangeError);
    expect(() => manager.updateProgress(id, Number.NaN)).toThrow(TypeError);
    expect(() => manager.listTasks('done' as never)).toThrow(RangeError);
    expect(() => manager.listTasks('done' as never)).toThrow(/Expected `state` to be one of 'pending', 'running'/);
    expect(() => manager.addEventCallback('log' as never)).toThrow('Expected `callback` to be a function');
    expect(() => manager.on('finished' as never, () => undefined)).toThrow(RangeError);
    await expect(manager.waitFor(3 as never)).rejects.toThrow(TypeError);
    expect(manager.getTask(id)).toMatchObject({ state: 'pending', priority: 0, progress: 0 });
  });
});
