/**
 * `manager.map(...)`: one worker handler over many items, in chunks, with results in input
 * order. The batch is one task record (its progress, its events); its chunks are internal tasks
 * that take slots like any other. Input is read only as fast as results are taken: at most
 * `2 * concurrency` chunks are in flight or waiting to be taken at any time.
 */
import { describeError, type ChunkArgs, type ChunkResult } from '../shared/messages.js';
import { MapInputError, MapItemError, TaskCancelledError } from '../shared/errors.js';
import { workerTask, type WorkerTask } from '../shared/handler.js';
import { NO_RETRY } from './retry.js';
import type { Scheduler } from './scheduler.js';
import type { TaskTable } from './task-table.js';
import type { FinalTaskState } from '../shared/task.js';
import { newTaskId, type TaskRecord } from './task-record.js';

/** The worker handler that runs a chunk, resolved from the built package like the entry. */
const CHUNK_TASK = workerTask(new URL('../workers/map-chunk.js', import.meta.url), 'runChunk');

export interface MapOptions {
  /**
   * How many chunks of this batch may run at once.
   * @default the manager's maxConcurrentTasks
   */
  concurrency?: number;
  /**
   * How many items go to a worker in one run. Raise it when each item is tiny, so that the
   * cost of a dispatch is shared by many items.
   * @default 1
   */
  chunkSize?: number;
  /**
   * The priority of the batch's chunks, against other tasks.
   * @default 0
   */
  priority?: number;
  /** Cancels the batch when it aborts. */
  signal?: AbortSignal;
  /**
   * Yield every item's outcome, `{ ok: true, value }` or `{ ok: false, error }`, instead of
   * rejecting the batch at the first item that throws.
   * @default false
   */
  settle?: boolean;
  /**
   * The name of the batch's task record.
   * @default 'map'
   */
  name?: string;
}

/** An item's outcome, with `settle: true`. */
export type Settled<Result> = { readonly ok: true; readonly value: Result } | { readonly ok: false; readonly error: string };

interface Chunk {
  readonly record: TaskRecord;
  readonly size: number;
  results: unknown[] | undefined;
}

export interface BatchSetup {
  readonly scheduler: Scheduler;
  readonly table: TaskTable;
  readonly name: string;
  readonly handler: WorkerTask;
  readonly items: Iterable<unknown> | AsyncIterable<unknown>;
  readonly concurrency: number;
  readonly chunkSize: number;
  readonly priority: number;
  readonly settle: boolean;
  readonly signal: AbortSignal | undefined;
}

/**
 * The results of a `map`, in input order: iterate it with `for await`, or collect it with
 * `toArray()`. Breaking out of the loop cancels the rest of the batch.
 */
export class MapRun<Result> implements AsyncIterableIterator<Result> {
  /** The id of the batch's task record: getTask(id) shows its state and progress. */
  readonly id: string;
  readonly #setup: BatchSetup;
  readonly #input: Iterator<unknown> | AsyncIterator<unknown>;
  readonly #total: number | undefined;
  readonly #chunks = new Map<number, Chunk>();
  #buffer: unknown[] = [];
  #bufferIndex = 0;
  #nextToRead = 0;
  #nextToYield = 0;
  #itemsRead = 0;
  #itemsDone = 0;
  #isReading = false;
  #isInputDone = false;
  #hasStarted = false;
  /** Why the batch ended early: an item's failure, or its cancellation. */
  #failure: Error | undefined;
  #isFinished = false;
  #wake: (() => void) | undefined;

  /** @internal Created by TaskManager.map. */
  constructor(setup: BatchSetup) {
    this.#setup = setup;
    const { scheduler, items, name, handler, priority, signal } = setup;
    this.#input = Symbol.asyncIterator in items ? items[Symbol.asyncIterator]() : items[Symbol.iterator]();
    this.#total = Array.isArray(items) ? items.length : undefined;
    const spec = { name, handler, args: undefined, priority, timeoutMs: Infinity, retry: NO_RETRY, parentId: undefined };
    // The batch's record is cancelled by cancelTask, stop() or the signal; an already-aborted
    // signal cancels it here, and cancelChunks then ends the iteration at once.
    // The id is made first: a 'created' listener may cancel the batch, whose error names it.
    this.id = newTaskId();
    scheduler.createBatch(this.id, spec, () => this.cancelChunks());
    if (signal?.aborted) scheduler.cancel(this.id, 'its signal was aborted');
    else signal?.addEventListener('abort', this.#onAbort, { once: true });
    void this.#pump();
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<Result>> {
    for (;;) {
      if (this.#bufferIndex < this.#buffer.length) {
        return { done: false, value: this.#buffer[this.#bufferIndex++] as Result };
      }
      if (this.#failure !== undefined) throw this.#failure;
      const chunk = this.#chunks.get(this.#nextToYield);
      if (chunk?.results !== undefined) {
        this.#chunks.delete(this.#nextToYield++);
        this.#buffer = chunk.results;
        this.#bufferIndex = 0;
        void this.#pump();
        continue;
      }
      if (this.#isInputDone && this.#nextToYield === this.#nextToRead) {
        this.#finish('completed', { items: this.#itemsDone });
        return { done: true, value: undefined };
      }
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
  }

  /** Called when a `for await` loop is left early: the rest of the batch is cancelled. */
  return(): Promise<IteratorResult<Result>> {
    if (!this.#isFinished) this.#setup.scheduler.cancel(this.id, 'its results were no longer wanted');
    return Promise.resolve({ done: true, value: undefined });
  }

  /** Collects every result, in input order. */
  async toArray(): Promise<Result[]> {
    const results: Result[] = [];
    for await (const result of this) results.push(result);
    return results;
  }

  /** Cancels every chunk: the batch's task was cancelled (cancelTask, the signal, stop()). */
  cancelChunks(): void {
    this.#isFinished = true;
    this.#failure ??= new TaskCancelledError(this.id, 'the batch was cancelled');
    this.#cleanUp();
    for (const chunk of this.#chunks.values()) this.#setup.scheduler.cancelRecord(chunk.record, 'its batch was cancelled');
    this.#notify();
  }

  readonly #onAbort = (): void => {
    this.#setup.scheduler.cancel(this.id, 'its signal was aborted');
  };

  /** Whether the batch is still running, has input left, and has room for another chunk. */
  get #wantsMoreInput(): boolean {
    return !this.#isFinished && !this.#isInputDone && this.#chunks.size < 2 * this.#setup.concurrency;
  }

  /** Reads input into chunks while there is room for more. */
  async #pump(): Promise<void> {
    if (this.#isReading) return;
    this.#isReading = true;
    try {
      while (this.#wantsMoreInput) {
        const items: unknown[] = [];
        while (items.length < this.#setup.chunkSize) {
          const next = await this.#input.next();
          if (next.done === true) {
            this.#isInputDone = true;
            break;
          }
          items.push(next.value);
        }
        if (this.#isFinished) return;
        if (items.length > 0) this.#submit(items);
        this.#notify();
      }
    } catch (error) {
      this.#fail(new MapInputError(error));
    } finally {
      this.#isReading = false;
    }
  }

  #submit(items: unknown[]): void {
    const { scheduler, handler, settle, priority, name } = this.#setup;
    const index = this.#nextToRead++;
    const args: ChunkArgs = { module: handler.module, exportName: handler.exportName, items, offset: this.#itemsRead, settle };
    this.#itemsRead += items.length;
    const spec = { name, handler: CHUNK_TASK, args, priority, timeoutMs: Infinity, retry: NO_RETRY, parentId: undefined };
    const chunk: Chunk = {
      size: items.length,
      results: undefined,
      record: scheduler.createInternal(this.id, spec, {
        onStart: () => this.#onChunkStart(),
        onEnd: (state, result, error) => this.#onChunkEnd(chunk, state, result, error),
      }),
    };
    this.#chunks.set(index, chunk);
  }

  #onChunkStart(): void {
    if (this.#hasStarted) return;
    this.#hasStarted = true;
    this.#setup.scheduler.startBatch(this.id);
  }

  #onChunkEnd(chunk: Chunk, state: FinalTaskState, result: unknown, error: string | undefined): void {
    if (this.#isFinished || state === 'cancelled') return;
    if (state === 'failed') {
      this.#fail(new Error(`A chunk of map() failed: ${error ?? 'unknown error'}`));
      return;
    }
    const { results, failure } = result as ChunkResult;
    if (failure !== undefined) {
      this.#fail(new MapItemError(failure.index, describeError(failure.error)));
      return;
    }
    chunk.results = results;
    this.#itemsDone += chunk.size;
    if (this.#total !== undefined && this.#total > 0) {
      this.#setup.table.updateProgress(this.id, Math.min(100, (this.#itemsDone / this.#total) * 100));
    }
    this.#notify();
  }

  #fail(error: Error): void {
    if (this.#isFinished) return;
    this.#failure = error;
    this.#finish('failed', undefined, error);
    for (const chunk of this.#chunks.values()) this.#setup.scheduler.cancelRecord(chunk.record, 'another item of its batch failed');
  }

  #finish(state: 'completed' | 'failed', result?: unknown, error?: Error): void {
    if (this.#isFinished) return;
    this.#isFinished = true;
    this.#cleanUp();
    this.#setup.scheduler.finishBatch(this.id, state, result, error);
    this.#notify();
  }

  #cleanUp(): void {
    this.#setup.signal?.removeEventListener('abort', this.#onAbort);
    if (this.#isInputDone) return;
    this.#isInputDone = true;
    void Promise.resolve(this.#input.return?.()).catch(() => undefined);
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}
