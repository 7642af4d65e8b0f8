/**
 * When to give a free worker several tasks in one run, and how many: adaptive batch dispatch.
 * The cost of handing a task to a worker is per run, not per task, so when more tasks are pending
 * than slots are free, a free worker takes the top of the queue in one run.
 *
 * A batch is sized from how long its handler's tasks have taken, measured on the workers: a
 * moving estimate per handler (module and export). A batch is expected to take at most the budget,
 * so a task of higher priority that arrives meanwhile waits at most that long for the worker. A
 * handler with no estimate yet runs alone, and so do those too slow to fit two tasks in the budget.
 */
import type { WorkerTask } from '../shared/handler.js';
import type { PriorityQueue } from './priority-queue.js';
import type { TaskRecord } from './task-record.js';

/** What `companions` returns for a task that runs alone: shared, never changed. */
const ALONE: readonly TaskRecord[] = Object.freeze([]);

/** How much a new measurement moves the estimate. */
const WEIGHT = 0.3;

/** The estimated run time of one task of a handler, in ms. */
interface RunTime {
  ms: number;
}

export class Batching {
  readonly #budgetMs: number;
  readonly #maxSize: number;
  /** Estimates by reference, for the common case of one reference for many tasks... */
  readonly #byReference = new WeakMap<WorkerTask, RunTime>();
  /** ...and by module and export, which every reference to the same handler shares. */
  readonly #byHandler = new Map<string, RunTime>();

  constructor(budgetMs: number, maxSize: number) {
    this.#budgetMs = budgetMs;
    this.#maxSize = maxSize;
  }

  get budgetMs(): number {
    return this.#budgetMs;
  }

  get isOn(): boolean {
    return this.#budgetMs > 0 && this.#maxSize > 1;
  }

  /**
   * The tasks the next free slot takes along with `first` (popped already): more of the top of
   * the queue, of the same handler, for as long as they fit in the budget. Empty when `first`
   * runs alone: no more tasks are pending than slots are free, or it cannot be batched.
   */
  companions(first: TaskRecord, queue: PriorityQueue<TaskRecord>, freeSlots: number): readonly TaskRecord[] {
    // Only when more tasks are pending than slots are free (`first` is pending too).
    if (!this.isOn || queue.size < freeSlots || !isBatchable(first)) return ALONE;
    const handler = first.handler as WorkerTask;
    const estimate = this.#estimate(handler);
    if (estimate === undefined) return ALONE;
    const fits = estimate.ms > 0 ? Math.floor(this.#budgetMs / estimate.ms) : this.#maxSize;
    // Share what is pending among the free slots, rather than give it all to the first.
    const share = Math.ceil((queue.size + 1) / freeSlots);
    const size = Math.min(this.#maxSize, fits, share);
    const companions: TaskRecord[] = [];
    while (companions.length + 1 < size) {
      const next = queue.peek();
      if (next === undefined || !isBatchable(next) || !isSameHandler(handler, next.handler as WorkerTask)) break;
      companions.push(queue.pop() as TaskRecord);
    }
    return companions;
  }

  /** Tasks of `handler` ran for `ms` in all, `count` of them: the estimate moves toward their mean. */
  measured(handler: WorkerTask, ms: number, count: number): void {
    if (!this.isOn) return;
    const mean = ms / count;
    const estimate = this.#estimate(handler);
    if (estimate !== undefined) {
      estimate.ms += (mean - estimate.ms) * WEIGHT;
      return;
    }
    const created: RunTime = { ms: mean };
    this.#byHandler.set(keyOf(handler), created);
    this.#byReference.set(handler, created);
  }

  #estimate(handler: WorkerTask): RunTime | undefined {
    let estimate = this.#byReference.get(handler);
    if (estimate === undefined) {
      estimate = this.#byHandler.get(keyOf(handler));
      if (estimate !== undefined) this.#byReference.set(handler, estimate);
    }
    return estimate;
  }
}

/**
 * Whether a task may share a run: a worker handler's, with nothing to move (a transfer runs alone:
 * its buffers are large, and its own), and not one put back after its batch failed as a whole.
 */
function isBatchable(record: TaskRecord): boolean {
  return typeof record.handler !== 'function' && record.transfer === undefined && !record.runsAlone;
}

function isSameHandler(a: WorkerTask, b: WorkerTask): boolean {
  return a === b || (a.module === b.module && a.exportName === b.exportName);
}

function keyOf(handler: WorkerTask): string {
  return `${handler.exportName}@${handler.module}`;
}
