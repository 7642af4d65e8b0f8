import { MessagePort } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { MapItemError, workerTask, type Settled } from 'taskloom';
import type { ResultKind } from './fixtures/tasks.js';
import { collectGarbage, createManager, fixture, recordEvents } from './helpers.js';

const MAP_TASKS = new URL('./fixtures/map-tasks.ts', import.meta.url);
const item = (exportName: string) => workerTask(MAP_TASKS, exportName);
const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

describe('manager.map', () => {
  it('yields results in input order, even when chunks finish out of order', async () => {
    const manager = createManager({ autoStart: true, maxConcurrentTasks: 2 });
    const results = await manager.map<number, number>(item('slowSquare'), range(100), { chunkSize: 7 }).toArray();
    expect(results).toEqual(range(100).map((n) => n * n));
  });

  it('sends items to workers in chunks of chunkSize, one run per chunk', async () => {
    const manager = createManager({ autoStart: true, maxConcurrentTasks: 2 });
    const runs = await manager.map<number, string>(item('whichRun'), range(100), { chunkSize: 10 }).toArray();
    expect(new Set(runs).size).toBe(10);
    for (let chunk = 0; chunk < 10; chunk++) {
      expect(new Set(runs.slice(chunk * 10, chunk * 10 + 10)).size).toBe(1);
    }
    const single = await manager.map<number, string>(item('whichRun'), range(6)).toArray();
    expect(new Set(single).size).toBe(6);
  });

  it('is one task record with one progress figure and one set of events', async () => {
    const manager = createManager({ autoStart: true, maxConcurrentTasks: 2 });
    const events = recordEvents(manager);
    const run = manager.map<number, number>(item('square'), range(40), { chunkSize: 4, name: 'Squares' });
    expect(manager.getTask(run.id)).toMatchObject({ name: 'Squares', state: 'pending' });
    await run.toArray();
    expect(manager.listTasks().map((t) => t.id)).toEqual([run.id]);
    expect(manager.getTask(run.id)).toMatchObject({ state: 'completed', progress: 100, result: { items: 40 } });
    const sequence = events.map((e) => e.event);
    expect(sequence[0]).toBe('created');
    expect(sequence[1]).toBe('started');
    expect(sequence.at(-1)).toBe('completed');
    const progress = events.filter((e) => e.event === 'progress').map((e) => e.task.progress);
    expect(progress.length).toBeGreaterThan(1);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    expect(manager.getStats()).toMatchObject({ total: 1, completed: 1 });
  });

  it('reads an endless input only as fast as results are taken', async () => {
    const manager = createManager({ autoStart: true, maxConcurrentTasks: 2 });
    let read = 0;
    // eslint-disable-next-line @typescript-eslint/require-await -- an async input that is never slow
    async function* endless(): AsyncGenerator<number> {
      for (;;) yield read++;
    }
    const run = manager.map<number, number>(item('square'), endless(), { chunkSize: 8, concurrency: 2 });
    let taken = 0;
    for await (const value of run) {
      expect(value).toBe(taken * taken);
      taken++;
      if (taken % 100 === 0) {
        // Never more than 2 x concurrency chunks ahead of the consumer, plus the chunk being read.
        expect(read - taken).toBeLessThanOrEqual(2 * 2 * 8 + 8);
      }
      if (taken === 1000) break;
    }
    expect(read).toBeLessThanOrEqual(1000 + 2 * 2 * 8 + 8);
    // Leaving the loop cancelled the rest of the batch.
    expect(manager.getTask(run.id)!.state).toBe('cancelled');
    await manager.onIdle();
  });

  it('rejects with the failing item index and error, and fails the batch task', async () => {
    const manager = createManager({ autoStart: true });
    const run = manager.map<number, number>(item('failsOn13'), range(30), { chunkSize: 4 });
    const error = await run.toArray().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(MapItemError);
    expect(error).toMatchObject({ index: 13, code: 'TASKLOOM_MAP_ITEM_FAILED', message: 'item 13 failed: RangeError: unlucky 13' });
    expect(manager.getTask(run.id)).toMatchObject({ state: 'failed', error: 'item 13 failed: RangeError: unlucky 13' });
    await manager.onIdle();
    expect(manager.getStats()).toMatchObject({ total: 1, failed: 1, running: 0, pending: 0 });
  });

  it('yields every outcome with settle: true', async () => {
    const manager = createManager({ autoStart: true });
    const outcomes: Settled<number>[] = await manager
      .map<number, number>(item('failsOn13'), range(16), { chunkSize: 5, settle: true })
      .toArray();
    expect(outcomes).toHaveLength(16);
    expect(outcomes[13]).toEqual({ ok: false, error: 'RangeError: unlucky 13' });
    expect(outcomes.filter((o) => o.ok).map((o) => o.value)).toEqual(range(16).filter((n) => n !== 13));
    expect(manager.getTask(manager.listTasks()[0]!.id)!.state).toBe('completed');
  });

  it('fails the item whose result cannot be cloned, naming what cannot be', async () => {
    const manager = createManager({ autoStart: true });
    const cannot = "TypeError: The handler's result cannot be cloned to the main thread: result.save is a function";
    const error: unknown = await manager
      .map(fixture('methodOn5'), range(8), { chunkSize: 4 })
      .toArray()
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(MapItemError);
    expect(error).toMatchObject({ index: 5, message: `item 5 failed: ${cannot}` });
    const outcomes = await manager.map(fixture('methodOn5'), range(8), { chunkSize: 4, settle: true }).toArray();
    expect(outcomes[5]).toEqual({ ok: false, error: cannot });
    expect(outcomes.filter((o) => o.ok)).toHaveLength(7);
  });

  it('fails the item whose result holds a MessagePort it does not move, and moves one it lists', async () => {
    const manager = createManager({ autoStart: true });
    const kinds: ResultKind[] = ['movedPort', 'port', 'movedPort'];
    // One chunk: the item's failure is its own, not the chunk's.
    const outcomes = await manager
      .map<ResultKind, { port: MessagePort }>(fixture('resultOfKind'), kinds, { chunkSize: 3, settle: true })
      .toArray();
    expect(outcomes[1]).toEqual({
      ok: false,
      error:
        "TypeError: The handler's result cannot be cloned to the main thread: result.port is a MessagePort, which can only move: list it in transfer()",
    });
    const moved = [outcomes[0], outcomes[2]].map((outcome) => (outcome?.ok === true ? outcome.value.port : undefined));
    expect(moved.map((port) => port instanceof MessagePort)).toEqual([true, true]);
    for (const port of moved) port?.close();
  });

  it('lets go of its input and its results once it has ended, completed or failed, though its task is kept', async () => {
    const manager = createManager({ autoStart: true, maxConcurrentTasks: 2 });
    /** Maps over a large item and more; the test keeps nothing of the run but its id, and WeakRefs. */
    const mapOver = async (last: { fail?: boolean }): Promise<{ id: string; refs: WeakRef<object>[] }> => {
      const large = { bytes: new Uint8Array(64 * 1024) };
      const items = [large, { n: 1 }, last];
      const refs: WeakRef<object>[] = [new WeakRef(items), new WeakRef(large)];
      const run = manager.map<object, object>(item('unlessMarked'), items);
      try {
        for await (const result of run) refs.push(new WeakRef(result));
      } catch (error) {
        expect(error).toMatchObject({ name: 'MapItemError', index: 2 });
      }
      return { id: run.id, refs };
    };
    const completed = await mapOver({});
    const failed = await mapOver({ fail: true });
    await collectGarbage();
    expect(manager.getTask(completed.id)).toMatchObject({ state: 'completed', result: { items: 3 } });
    expect(manager.getTask(failed.id)?.state).toBe('failed');
    // Three results yielded, and the two inputs.
    expect(completed.refs).toHaveLength(5);
    for (const ref of [...completed.refs, ...failed.refs]) expect(ref.deref()).toBeUndefined();
  });

  it('cancels through its signal, freeing every slot', async () => {
    // A minute of grace: the test times out unless the abort reaches the workers, which are
    // still starting up when it is sent.
    const manager = createManager({ autoStart: true, maxConcurrentTasks: 2, cancelGraceMs: 60_000 });
    const controller = new AbortController();
    const run = manager.map(item('hangs'), range(10), { signal: controller.signal });
    const started = new Promise<void>((resolve) => manager.on('started', () => resolve()));
    await started;
    controller.abort();
    await expect(run.toArray()).rejects.toMatchObject({ name: 'AbortError', code: 'TASKLOOM_TASK_CANCELLED' });
    expect(manager.getTask(run.id)!.state).toBe('cancelled');
    await manager.onIdle();
    const after = await manager.map<number, number>(item('square'), [3]).toArray();
    expect(after).toEqual([9]);
  });

  it('ends at once, reading no input, when its signal is already aborted', async () => {
    const manager = createManager({ autoStart: true });
    let itemsRead = 0;
    function* endless(): Generator<number> {
      for (;;) yield itemsRead++;
    }
    const run = manager.map(item('square'), endless(), { signal: AbortSignal.abort() });
    expect(manager.getTask(run.id)!.state).toBe('cancelled');
    await expect(run.toArray()).rejects.toMatchObject({ name: 'AbortError', code: 'TASKLOOM_TASK_CANCELLED' });
    expect(itemsRead).toBe(0);
  });

  it('checks its arguments', () => {
    const manager = createManager();
    expect(() => manager.map((() => 1) as never, [1])).toThrow('Expected `handler` to be a workerTask(...) reference');
    expect(() => manager.map(item('square'), 5 as never)).toThrow(
      'Expected `items` to be an iterable or an async iterable, got `5` (number)',
    );
    expect(() => manager.map(item('square'), [1], { chunkSize: 0 })).toThrow(RangeError);
    expect(() => manager.map(item('square'), [1], { concurrency: 1.5 })).toThrow(TypeError);
    expect(() => manager.map(item('square'), [1], { chunk: 2 } as never)).toThrow(/Unknown option `options.chunk`/);
  });
});
