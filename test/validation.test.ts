import { describe, expect, it } from 'vitest';
import { TaskManager, workerTask } from 'taskloom';
import { MAX_TIMER_MS } from '../dist/shared/validate.js';
import { NO_RETRY, retryDelay } from '../dist/main/retry.js';
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

  it('refuses a time longer than a timer holds, which Node would cut to 1 ms', () => {
    const tooLong = 2 ** 31;
    const atMost = 'to be at most 2147483647 ms (about 24.8 days)';
    expect(() => new TaskManager({ timeoutMs: tooLong })).toThrow(RangeError);
    expect(() => new TaskManager({ timeoutMs: tooLong })).toThrow(`Expected \`options.timeoutMs\` ${atMost}, or Infinity for none`);
    expect(() => new TaskManager({ cancelGraceMs: tooLong })).toThrow(`Expected \`options.cancelGraceMs\` ${atMost}`);
    expect(() => new TaskManager({ retry: { attempts: 2, delayMs: tooLong } })).toThrow(`Expected \`options.retry.delayMs\` ${atMost}`);
    expect(() => new TaskManager({ retry: { attempts: 2, maxDelayMs: tooLong } })).toThrow(
      `Expected \`options.retry.maxDelayMs\` ${atMost}`,
    );
    expect(() => new TaskManager({ batchBudgetMs: 2 ** 30 })).toThrow('Expected `options.batchBudgetMs` to be at most 1073741823');
    const manager = createManager();
    expect(() => manager.createTask('x', fixture('echo'), { timeoutMs: tooLong })).toThrow(RangeError);
    expect(manager.getStats().total).toBe(0);
    // The longest a timer holds, and no limit at all, are fine.
    expect(() => new TaskManager({ timeoutMs: 2 ** 31 - 1, cancelGraceMs: 2 ** 31 - 1, retry: { maxDelayMs: Infinity } })).not.toThrow();
    expect(() => new TaskManager({ timeoutMs: Infinity })).not.toThrow();
  });

  it('keeps an exponential retry delay within what a timer holds, however many retries', () => {
    const policy = { ...NO_RETRY, attempts: 100, backoff: 'exponential' as const, delayMs: 1000 };
    expect(retryDelay(policy, 3, () => 0)).toBe(4000);
    expect(retryDelay(policy, 40, () => 0)).toBe(MAX_TIMER_MS);
    expect(MAX_TIMER_MS).toBe(2 ** 31 - 1);
  });

  it("checks the workers' resource limits, which a worker would fail to start with", () => {
    expect(() => new TaskManager({ resourceLimits: { maxOldGenerationSizeMb: -5 } })).toThrow(
      'Expected `options.resourceLimits.maxOldGenerationSizeMb` to be a finite number > 0, got `-5` (number)',
    );
    expect(() => new TaskManager({ resourceLimits: { stackSizeMb: 'x' as unknown as number } })).toThrow(TypeError);
    expect(() => new TaskManager({ resourceLimits: { maxOldGenerationSize: 64 } as never })).toThrow(
      /^Unknown option `options.resourceLimits.maxOldGenerationSize`: expected one of `maxYoungGenerationSizeMb`/,
    );
    expect(() => new TaskManager({ resourceLimits: 64 as never })).toThrow('Expected `options.resourceLimits` to be an object');
    expect(() => new TaskManager({ resourceLimits: { maxOldGenerationSizeMb: 64, stackSizeMb: 4 } })).not.toThrow();
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
