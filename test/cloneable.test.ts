/**
 * The check a worker makes on a handler's result before Piscina sends it: it names what cannot
 * be cloned, looks at a bounded number of values, and leaves the rest to structuredClone.
 */
import { describe, expect, it } from 'vitest';
import { NotCloneableError, TaskState } from 'taskloom';
import { findUncloneable, MAX_VISITS, walkValue } from '../dist/workers/cloneable.js';
import { createManager, fixture } from './helpers.js';

describe('the result check', () => {
  it('names the path of what cannot be cloned', () => {
    const user = { name: 'ada', save: () => undefined };
    expect(findUncloneable({ user })).toEqual({ path: 'result.user.save', description: 'result.user.save is a function' });
    expect(findUncloneable({ items: [1, 2, { later: Promise.resolve(3) }] })?.description).toBe(
      'result.items[2].later is a Promise (await it before returning)',
    );
    expect(findUncloneable([0, { id: Symbol('id') }])?.description).toBe('result[1].id is a symbol');
    expect(findUncloneable(new Map([['k', new WeakMap()]]))?.description).toBe('result.get(k) is a WeakMap');
    expect(findUncloneable(new Set([1, () => 2]))?.description).toBe('result entry is a function');
    expect(findUncloneable(Symbol('top'))?.description).toBe('result is a symbol');
  });

  it('passes what can be cloned, cycles included', () => {
    const cycle: Record<string, unknown> = { when: new Date(0), bytes: new Uint8Array(4), pattern: /x/ };
    cycle.self = cycle;
    expect(findUncloneable(cycle)).toBeUndefined();
    expect(findUncloneable(42)).toBeUndefined();
    expect(findUncloneable(null)).toBeUndefined();
  });

  it('counts every value, primitives included, against its bound', () => {
    const numbers = Array.from({ length: 1_000_000 }, (_, i) => i);
    const walk = walkValue(numbers);
    expect(walk).toMatchObject({ found: undefined, isComplete: false, visited: MAX_VISITS });
    // Small values are walked to the end.
    expect(walkValue([1, 2, [3, 4]])).toMatchObject({ isComplete: true, visited: 6 });
  });

  it('finds a problem past the bound through structuredClone, without its path', () => {
    const items: unknown[] = Array.from({ length: 100 }, (_, i) => i);
    items[60] = () => 'late';
    // Within the bound: the path is named.
    expect(findUncloneable(items, 80)?.description).toBe('result[60] is a function');
    // Past it: the walk stops, and the clone finds the problem.
    expect(walkValue(items, 40)).toMatchObject({ found: undefined, isComplete: false, visited: 40 });
    const late = findUncloneable(items, 40);
    expect(late?.path).toBe('result');
    expect(late?.description).toMatch(/^result holds a value that cannot be cloned, past the first 40 values \(.*could not be cloned/);
    // And a large value that can be cloned passes.
    expect(
      findUncloneable(
        Array.from({ length: 100 }, (_, i) => i),
        40,
      ),
    ).toBeUndefined();
  });

  it('fails a task whose result cannot be cloned, naming the path, and its worker lives on', async () => {
    const manager = createManager({ autoStart: true, maxConcurrentTasks: 1 });
    const before = await manager.waitFor(manager.createTask('thread', fixture('threadId')));
    const failed = await manager.waitFor(manager.createTask('save', fixture('returnsMethod')));
    expect(failed.state).toBe(TaskState.FAILED);
    expect(failed.error).toBe("TypeError: The handler's result cannot be cloned to the main thread: result.user.save is a function");
    expect(failed.failure).toMatchObject({ name: 'TypeError', code: NotCloneableError.code, data: { path: 'result.user.save' } });
    const huge = await manager.waitFor(manager.createTask('huge', fixture('returnsLateFunction'), { args: 50_000 }));
    expect(huge.state).toBe(TaskState.FAILED);
    expect(huge.error).toMatch(/result holds a value that cannot be cloned, past the first 10000 values/);
    expect(huge.failure?.code).toBe(NotCloneableError.code);
    // One thread: had either failure crashed it, a new one would have replaced it.
    const after = await manager.waitFor(manager.createTask('thread', fixture('threadId')));
    expect(after.result).toBe(before.result);
  });
});
