import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { transfer, workerTask } from 'taskloom';
import { collectGarbage, createManager, fixture } from './helpers.js';

const MB = 1024 * 1024;

/** Bytes 0, 1, ... 250, 0, 1, ...: what fillBuffer makes, and a checksum the worker can verify. */
function pattern(size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = i % 251;
  return bytes;
}

function checksumOf(bytes: Uint8Array): number {
  let sum = 0;
  for (const byte of bytes) sum = (sum + byte) % 1_000_003;
  return sum;
}

describe('transfer to a worker', () => {
  it('moves the listed buffer to the worker as the task starts, and it arrives intact', async () => {
    const manager = createManager({ autoStart: true });
    const bytes = pattern(4 * MB);
    const sum = checksumOf(bytes);
    const id = manager.createTask('Checksum', fixture('checksum'), { args: { bytes }, transfer: [bytes.buffer] });
    // Still here until the task starts...
    expect(bytes.byteLength).toBe(4 * MB);
    expect(await manager.waitFor(id)).toMatchObject({ state: 'completed', result: { length: 4 * MB, sum } });
    // ...and detached since: it went to the worker, uncopied.
    expect(bytes.byteLength).toBe(0);
    expect(bytes.buffer.byteLength).toBe(0);
  });

  it('leaves the buffer of a task cancelled before it starts with the caller', async () => {
    const manager = createManager();
    const bytes = pattern(1000);
    const id = manager.createTask('Checksum', fixture('checksum'), { args: { bytes }, transfer: [bytes] });
    expect(manager.cancelTask(id)).toBe(true);
    void manager.runTasks();
    await manager.onIdle();
    expect(bytes.byteLength).toBe(1000);
  });

  it('lets go of the args and the buffers of a task that ended before it started, though the task is kept', async () => {
    const manager = createManager();
    const [id, refs] = ((): [string, WeakRef<object>[]] => {
      const bytes = pattern(1000);
      const args = { bytes };
      const created = manager.createTask('Checksum', fixture('checksum'), { args, transfer: [bytes.buffer] });
      expect(manager.cancelTask(created)).toBe(true);
      return [created, [new WeakRef(args), new WeakRef(bytes.buffer)]];
    })();
    await collectGarbage();
    expect(manager.getTask(id)?.state).toBe('cancelled');
    expect(refs.map((ref) => ref.deref())).toEqual([undefined, undefined]);
  });

  it('moves a typed array given by itself, and a MessagePort', async () => {
    const manager = createManager({ autoStart: true });
    const bytes = pattern(1000);
    const viaView = manager.createTask('View', fixture('checksum'), { args: { bytes }, transfer: [bytes] });
    expect((await manager.waitFor(viaView)).result).toEqual({ length: 1000, sum: checksumOf(pattern(1000)) });
    expect(bytes.byteLength).toBe(0);

    const { port1, port2 } = new MessageChannel();
    const answer = new Promise((resolve) => port1.once('message', resolve));
    const viaPort = manager.createTask('Port', fixture('answerOnPort'), { args: { port: port2, text: 'hello' }, transfer: [port2] });
    expect((await manager.waitFor(viaPort)).result).toBe('answered');
    expect(await answer).toBe('HELLO');
    port1.close();
  });

  it('leaves a SharedArrayBuffer in args shared, without listing it', async () => {
    const manager = createManager({ autoStart: true });
    const counter = new Int32Array(new SharedArrayBuffer(4));
    const task = await manager.waitFor(
      manager.createTask('Shared', fixture('failsUntil'), { args: { counter, failures: 0 }, transfer: [] }),
    );
    expect(task.result).toBe(1);
    expect(Atomics.load(counter, 0)).toBe(1);
  });
});

describe('transfer from a worker', () => {
  it('moves a result marked with transfer() back, intact, and detaches it on the worker', async () => {
    const manager = createManager({ autoStart: true, maxConcurrentTasks: 1 });
    const task = await manager.waitFor(manager.createTask('Fill', fixture('fillBuffer'), { args: 2 * MB }));
    expect(task.state).toBe('completed');
    expect(task.result).toBeInstanceOf(Uint8Array);
    expect(checksumOf(task.result as Uint8Array)).toBe(checksumOf(pattern(2 * MB)));
    // The worker kept a reference to what it moved: it is detached there.
    expect((await manager.waitFor(manager.createTask('Move', fixture('moveAndKeep'), { args: 1000 }))).result).toBeInstanceOf(ArrayBuffer);
    expect((await manager.waitFor(manager.createTask('Kept', fixture('keptLength')))).result).toBe(0);
  });

  it('moves the results of map items, and of tasks run in batches', async () => {
    const manager = createManager({ autoStart: true, maxConcurrentTasks: 2 });
    const mapped = await manager.map<number, Uint8Array>(fixture('fillBuffer'), [10, 20, 30, 40], { chunkSize: 2 }).toArray();
    expect(mapped.map((bytes) => checksumOf(bytes))).toEqual([10, 20, 30, 40].map((n) => checksumOf(pattern(n))));
    await manager.waitFor(manager.createTask('Warm-up', fixture('fillBuffer'), { args: 1 }));
    const ids = Array.from({ length: 300 }, (_, i) => manager.createTask(`Fill ${i}`, fixture('fillBuffer'), { args: i + 1 }));
    await manager.onIdle();
    for (const [i, id] of ids.entries()) {
      const result = manager.getTask(id)!.result as Uint8Array;
      expect(result.byteLength).toBe(i + 1);
      expect(result[i]).toBe(i % 251);
    }
  });

  it('moves an empty ArrayBuffer, and refuses it once it has moved', async () => {
    const manager = createManager({ autoStart: true });
    const empty = new ArrayBuffer(0);
    // Empty, as a detached buffer is, but not detached: it moves.
    const task = await manager.waitFor(manager.createTask('Empty', fixture('echo'), { args: empty, transfer: [empty] }));
    expect(task.state).toBe('completed');
    expect(task.result).toBeInstanceOf(ArrayBuffer);
    expect(() => manager.createTask('Again', fixture('echo'), { args: empty, transfer: [empty] })).toThrow(
      /^Expected `options.transfer\[0\]` to be an ArrayBuffer that can move, but it is detached/,
    );
  });

  it('returns the value itself from a function handler', async () => {
    const manager = createManager({ autoStart: true });
    const bytes = new Uint8Array([1, 2, 3]);
    const task = await manager.waitFor(manager.createTask('Main', () => transfer(bytes, [bytes.buffer])));
    expect(task.result).toBe(bytes);
    expect(bytes.byteLength).toBe(3);
  });

  it('fails a task whose result lists what cannot move, naming the entry', async () => {
    const manager = createManager({ autoStart: true });
    const cases: [unknown, RegExp][] = [
      ['not a list', /^TypeError: Expected `transfer\(\) list` to be an array/],
      [
        [new ArrayBuffer(1), 5],
        /^TypeError: Expected `transfer\(\) list\[1\]` to be an ArrayBuffer, a typed array, a DataView or a MessagePort, got `5` \(number\)/,
      ],
      [[new SharedArrayBuffer(4)], /`transfer\(\) list\[0\]`.*SharedArrayBuffer/],
    ];
    for (const [list, error] of cases) {
      const task = await manager.waitFor(manager.createTask('Bad', fixture('badTransfer'), { args: list }));
      expect(task.state).toBe('failed');
      expect(task.error).toMatch(error);
    }
  });
});

describe('a bad transfer list', () => {
  const refusals: [string, () => { args?: unknown; transfer: unknown; retry?: { attempts: number } }, RegExp][] = [
    ['a list that is not an array', () => ({ transfer: new ArrayBuffer(8) }), /^Expected `options.transfer` to be an array/],
    [
      'an entry that cannot move',
      () => ({ transfer: [new ArrayBuffer(8), { length: 1 }] }),
      /^Expected `options.transfer\[1\]` to be an ArrayBuffer, a typed array, a DataView or a MessagePort, got `\[object Object\]` \(object\)/,
    ],
    [
      'a SharedArrayBuffer',
      () => ({ transfer: [new SharedArrayBuffer(8)] }),
      /^Expected `options.transfer\[0\]`.*a SharedArrayBuffer, which threads share/,
    ],
    [
      'a view of a SharedArrayBuffer',
      () => ({ transfer: [new Uint8Array(new SharedArrayBuffer(8))] }),
      /^Expected `options.transfer\[0\]`.*a view of a SharedArrayBuffer/,
    ],
    [
      'a detached buffer',
      () => {
        const gone = new ArrayBuffer(8);
        structuredClone(gone, { transfer: [gone] });
        return { transfer: [gone] };
      },
      /^Expected `options.transfer\[0\]` to be an ArrayBuffer that can move, but it is detached/,
    ],
    [
      'a buffer listed twice',
      () => {
        const buffer = new ArrayBuffer(8);
        return { transfer: [buffer, new ArrayBuffer(1), buffer] };
      },
      /^Expected `options.transfer\[2\]` to move something not listed before, but it moves the same ArrayBuffer as `options.transfer\[0\]`/,
    ],
    [
      'two views of one buffer',
      () => {
        const buffer = new ArrayBuffer(8);
        return { transfer: [new Uint8Array(buffer), new DataView(buffer)] };
      },
      /^Expected `options.transfer\[1\]` to move something not listed before, but it moves the same ArrayBuffer as `options.transfer\[0\]`/,
    ],
    [
      'a retry policy of more than one attempt',
      () => ({ transfer: [new ArrayBuffer(8)], retry: { attempts: 3 } }),
      /^Expected `options.retry.attempts` to be 1 for a task with `options.transfer`/,
    ],
  ];

  for (const [name, make, message] of refusals) {
    it(`is refused with a TypeError, nothing created and nothing moved: ${name}`, () => {
      const manager = createManager();
      const options = make();
      const listed = Array.isArray(options.transfer) ? (options.transfer as unknown[]) : [];
      const lengths = listed.map(byteLengthOf);
      expect(() => manager.createTask('Bad', fixture('echo'), options as never)).toThrow(TypeError);
      expect(() => manager.createTask('Bad', fixture('echo'), options as never)).toThrow(message);
      expect(manager.getStats()).toMatchObject({ total: 0, pending: 0 });
      expect(manager.listTasks()).toEqual([]);
      expect(listed.map(byteLengthOf)).toEqual(lengths);
    });
  }

  it('is refused for a function handler', () => {
    const manager = createManager();
    const buffer = new ArrayBuffer(8);
    expect(() => manager.createTask('Main', () => 1, { transfer: [buffer] })).toThrow(
      /^Expected `options.transfer` only with a workerTask\(\.\.\.\) handler/,
    );
    expect(buffer.byteLength).toBe(8);
    expect(manager.getStats().total).toBe(0);
  });

  it('fails the task that lists a buffer another task has moved already, at its start', async () => {
    const manager = createManager({ autoStart: true, maxConcurrentTasks: 1 });
    const bytes = pattern(100);
    const first = manager.createTask('First', fixture('checksum'), { args: { bytes }, transfer: [bytes.buffer] });
    const second = manager.createTask('Second', fixture('checksum'), { args: { bytes }, transfer: [bytes.buffer] });
    expect((await manager.waitFor(first)).state).toBe('completed');
    expect(await manager.waitFor(second)).toMatchObject({
      state: 'failed',
      error: 'TypeError: Expected `options.transfer[0]` to be an ArrayBuffer that can move, but it is detached: it has been moved already',
    });
    // Its worker lives on.
    expect((await manager.waitFor(manager.createTask('After', fixture('echo'), { args: 1 }))).result).toBe(1);
  });

  it('fails, at its start, the second of two tasks that list one buffer while the threads are still starting; no worker dies', async () => {
    // A fresh pool holds both runs until a thread is up: the first has not detached the buffer
    // yet when the second is handed over.
    const manager = createManager({ autoStart: true, maxConcurrentTasks: 2 });
    const bytes = pattern(1000);
    const first = manager.createTask('First', fixture('checksum'), { args: { bytes }, transfer: [bytes.buffer] });
    const second = manager.createTask('Second', fixture('checksum'), { args: { bytes }, transfer: [bytes.buffer] });
    expect(await manager.waitFor(first)).toMatchObject({ state: 'completed', result: { length: 1000, sum: checksumOf(pattern(1000)) } });
    const failed = await manager.waitFor(second);
    expect(failed).toMatchObject({
      state: 'failed',
      error:
        'TypeError: Expected `options.transfer[0]` to be an ArrayBuffer or MessagePort that can move, but another task is moving it to a worker',
      // Not sent at all, rather than sent without its buffer to a worker that dies of it (a WorkerExitedError).
      failure: { name: 'TypeError' },
    });
    // Once the first has ended, the buffer has moved: a task listing it is refused as it would be for any moved buffer.
    expect(() => manager.createTask('Third', fixture('checksum'), { args: { bytes }, transfer: [bytes.buffer] })).toThrow(
      /^Expected `options.transfer\[0\]` to be an ArrayBuffer that can move, but it is detached/,
    );
    expect((await manager.waitFor(manager.createTask('After', fixture('echo'), { args: 1 }))).result).toBe(1);
  });

  it('is refused when the queue is full, leaving the buffer with the caller', () => {
    const manager = createManager({ maxPendingTasks: 1 });
    manager.createTask('First', fixture('echo'));
    const buffer = new ArrayBuffer(8);
    expect(() =>
      manager.createTask('Second', workerTask(new URL('./fixtures/tasks.ts', import.meta.url), 'checksum'), { transfer: [buffer] }),
    ).toThrow(/maxPendingTasks/);
    expect(buffer.byteLength).toBe(8);
  });
});

function byteLengthOf(entry: unknown): number | undefined {
  if (entry instanceof ArrayBuffer || ArrayBuffer.isView(entry)) return entry.byteLength;
  if (entry instanceof SharedArrayBuffer) return entry.byteLength;
  return (entry as MessagePort | undefined) === undefined ? undefined : -1;
}
