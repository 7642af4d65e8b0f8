/**
 * The check a worker makes on a handler's result before Piscina sends it: it names what cannot
 * be cloned, looks at a bounded number of values, and leaves the rest to structuredClone.
 */
import { MessageChannel, MessagePort } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { NotCloneableError, TaskState, type TaskManager } from 'taskloom';
import { findUncloneable, MAX_VISITS, walkValue } from '../dist/workers/cloneable.js';
import type { BatchItemArgs, ResultKind } from './fixtures/tasks.js';
import { createManager, fixture } from './helpers.js';

const CANNOT = "TypeError: The handler's result cannot be cloned to the main thread:";

/** Whether structuredClone takes `value` on the Node running the tests. */
function clones(value: unknown): boolean {
  try {
    structuredClone(value);
    return true;
  } catch {
    return false;
  }
}

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

  it('names a MessagePort not listed to move, a WeakRef, a FinalizationRegistry and a detached buffer', () => {
    const { port1, port2 } = new MessageChannel();
    expect(findUncloneable({ port: port1 })?.description).toBe('result.port is a MessagePort, which can only move: list it in transfer()');
    // Listed to move with the value, it can be sent; another port listed does not make it so.
    expect(findUncloneable({ port: port1 }, [port1])).toBeUndefined();
    expect(findUncloneable({ port: port1 }, [port2])?.path).toBe('result.port');
    // Past the bound too: structuredClone, which cannot take a port, is not asked.
    expect(findUncloneable([...Array.from({ length: 100 }, (_, i) => i), port1], [port1], 40)).toBeUndefined();
    port1.close();
    expect(findUncloneable({ r: new WeakRef({}) })?.description).toBe('result.r is a WeakRef');
    expect(findUncloneable({ f: new FinalizationRegistry(() => undefined) })?.description).toBe('result.f is a FinalizationRegistry');
    const moved = new Uint8Array(8);
    structuredClone(moved.buffer, { transfer: [moved.buffer] });
    expect(findUncloneable({ bytes: [moved] })?.description).toBe('result.bytes[0] is a detached ArrayBuffer: it has moved away already');
    expect(findUncloneable(moved)).toEqual({ path: 'result', description: 'result is a detached ArrayBuffer: it has moved away already' });
    expect(findUncloneable(moved.buffer)?.path).toBe('result');
    // Empty, as a detached buffer is, but not moved away: it can be sent.
    expect(findUncloneable({ empty: new ArrayBuffer(0), view: new Uint8Array(0) })).toBeUndefined();
  });

  it('names an object of a host class structuredClone refuses, and a Proxy, and passes objects of classes it takes', () => {
    expect(findUncloneable({ deep: { format: new Intl.NumberFormat('en') } })?.description).toBe(
      'result.deep.format is a NumberFormat, which cannot be cloned (#<NumberFormat> could not be cloned.)',
    );
    expect(findUncloneable([Object(Symbol('boxed'))])?.description).toBe(
      'result[0] is a Symbol, which cannot be cloned ([object Symbol] could not be cloned.)',
    );
    expect(findUncloneable({ stream: new ReadableStream() })?.description).toMatch(
      /^result\.stream is a ReadableStream, which cannot be cloned \(/,
    );
    expect(findUncloneable({ proxy: new Proxy({ a: 1 }, {}) })?.description).toBe('result.proxy is a Proxy, which cannot be cloned');
    expect(findUncloneable(new Proxy([1, 2], {}))?.description).toBe('result is a Proxy, which cannot be cloned');
    // A problem in an object's own properties is named where it is, not as its class's.
    class Holder {
      readonly callback = (): number => 1;
    }
    expect(findUncloneable({ holder: new Holder() })?.description).toBe('result.holder.callback is a function');
    // Objects of classes structuredClone takes pass, twice (the second time from what the first learned).
    class Point {
      constructor(
        readonly x: number,
        readonly y: number,
      ) {}
    }
    const fine = [new Point(1, 2), new Error('kept'), new Blob(['b']), Object(1), Buffer.from('b'), new Map([[1, new Point(3, 4)]])];
    expect(findUncloneable(fine)).toBeUndefined();
    expect(findUncloneable(fine)).toBeUndefined();
    // Node 20 clones a URL and Node 22 does not: the check agrees with structuredClone on each.
    const url = new URL('http://127.0.0.1/');
    expect(findUncloneable({ url }) === undefined).toBe(clones(url));
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
    expect(findUncloneable(items, [], 80)?.description).toBe('result[60] is a function');
    // Past it: the walk stops, and the clone finds the problem.
    expect(walkValue(items, 40)).toMatchObject({ found: undefined, isComplete: false, visited: 40 });
    const late = findUncloneable(items, [], 40);
    expect(late?.path).toBe('result');
    expect(late?.description).toMatch(/^result holds a value that cannot be cloned, past the first 40 values \(.*could not be cloned/);
    // And a large value that can be cloned passes.
    expect(
      findUncloneable(
        Array.from({ length: 100 }, (_, i) => i),
        [],
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

  it('fails a task whose result holds a port it does not move, a WeakRef, a FinalizationRegistry, a moved buffer, a host object or a Proxy, and its worker lives on', async () => {
    const manager = createManager({ autoStart: true, maxConcurrentTasks: 1 });
    const before = await manager.waitFor(manager.createTask('thread', fixture('threadId')));
    const cases: [ResultKind, string, string][] = [
      ['port', 'result.port', 'result.port is a MessagePort, which can only move: list it in transfer()'],
      ['weakRef', 'result.ref', 'result.ref is a WeakRef'],
      ['finalizationRegistry', 'result.registry', 'result.registry is a FinalizationRegistry'],
      ['detached', 'result.bytes', 'result.bytes is a detached ArrayBuffer: it has moved away already'],
      ['formatter', 'result.format', 'result.format is a NumberFormat, which cannot be cloned (#<NumberFormat> could not be cloned.)'],
      ['proxy', 'result.proxy', 'result.proxy is a Proxy, which cannot be cloned'],
    ];
    for (const [kind, path, description] of cases) {
      const task = await manager.waitFor(manager.createTask(kind, fixture('resultOfKind'), { args: kind }));
      expect(task).toMatchObject({ state: TaskState.FAILED, error: `${CANNOT} ${description}` });
      expect(task.failure).toMatchObject({ name: 'TypeError', code: NotCloneableError.code, data: { path } });
    }
    // A port listed in transfer() moves.
    const moved = await manager.waitFor(manager.createTask('moved', fixture('resultOfKind'), { args: 'movedPort' }));
    const { port } = moved.result as { port: MessagePort };
    expect(port).toBeInstanceOf(MessagePort);
    port.close();
    // One thread: had any failure crashed it, a new one would have replaced it.
    const after = await manager.waitFor(manager.createTask('thread', fixture('threadId')));
    expect(after.result).toBe(before.result);
  });
});

describe('a batch', () => {
  /** Runs batchItem tasks until its estimate has settled: then its tasks are batched. */
  async function warmUp(manager: TaskManager, runs: Int32Array): Promise<void> {
    for (const count of [1, 20]) {
      for (let i = 0; i < count; i++) manager.createTask('Warm-up', fixture('batchItem'), { args: { index: 9, runs } });
      await manager.onIdle();
    }
  }

  it('fails alone the task whose result cannot be sent, and runs each of the others once', async () => {
    const manager = createManager({ autoStart: true, maxConcurrentTasks: 1, batchBudgetMs: 1000 });
    const runs = new Int32Array(new SharedArrayBuffer(4 * 10));
    await warmUp(manager, runs);
    const ids = Array.from({ length: 6 }, (_, index) => {
      const args: BatchItemArgs = { index, runs, mode: index === 2 ? 'port' : 'fast' };
      return manager.createTask(`t${index}`, fixture('batchItem'), { args });
    });
    // Handed out in one batch: all still pending, yet none queued any more.
    await Promise.resolve();
    for (const id of ids) {
      expect(manager.getTask(id)?.state).toBe('pending');
      expect(manager.setPriority(id, 1)).toBe(false);
    }
    await manager.onIdle();
    // Had the worker died sending the batch's outcomes, those that had finished would have run again.
    expect(Array.from(runs.subarray(0, 6))).toEqual([1, 1, 1, 1, 1, 1]);
    for (const [index, id] of ids.entries()) {
      expect(manager.getTask(id)).toMatchObject(
        index === 2
          ? {
              state: TaskState.FAILED,
              error: `${CANNOT} result.port is a MessagePort, which can only move: list it in transfer()`,
              failure: { code: NotCloneableError.code },
            }
          : { state: TaskState.COMPLETED, result: index },
      );
    }
  });
});
