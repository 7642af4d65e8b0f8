/**
 * A batch: several pending tasks of one worker handler, handed to one free worker in one Piscina
 * run, to be run one after another. The batch holds the slot; each task in it has a run of its
 * own, an ItemRun, with its own dispatch number, events, time limit, abort and outcome.
 *
 * An item waits in its batch until its worker starts it, and its task is still pending until
 * then. The main thread learns of starts lazily: from the batch's result, or from a report the
 * worker sends only when it must (worker's batch-run.ts). Each item's state lives in memory the two
 * threads share, where each side claims an unstarted item with a compare-and-exchange: the worker
 * to start it, the main thread to cancel it, so that a cancelled item never starts.
 */
import type { WorkerTask } from '../../shared/handler.js';
import {
  ItemState,
  serializeError,
  sharedBytes,
  startTimesOffset,
  type BatchItem,
  type BatchOutcome,
  type BatchReport,
  type BatchRequest,
  type ItemOutcome,
  type TaskOutcome,
} from '../../shared/messages.js';
import type { KillSignal } from '../pool.js';
import { runFailure } from '../run-failure.js';
import type { TaskRecord } from '../task-record.js';
import { Run, type RunHost } from './run.js';

export class BatchRun implements KillSignal {
  /** The batch's own dispatch number: the key of its reports. */
  readonly dispatch: number;
  readonly items: readonly ItemRun[];
  readonly #host: RunHost;
  readonly #handler: WorkerTask;
  readonly #shared: SharedArrayBuffer;
  readonly #states: Int32Array;
  readonly #startTimes: Float64Array;
  /** The first item whose outcome has not been applied: outcomes are applied in item order. */
  #next = 0;
  #reports = 0;
  #onKill: (() => void) | undefined = undefined;
  /** Fires when the batch has run well past its budget: what has not started then goes elsewhere. */
  #overrun: NodeJS.Timeout | undefined = undefined;
  #overrunMs = 0;
  #hasEnded = false;

  /** Makes the batch and a waiting run for each record, with dispatch numbers from `nextDispatch`. */
  constructor(host: RunHost, records: readonly TaskRecord[], nextDispatch: () => number) {
    this.#host = host;
    this.dispatch = nextDispatch();
    this.#handler = records[0]?.handler as WorkerTask;
    const count = records.length;
    this.#shared = new SharedArrayBuffer(sharedBytes(count));
    this.#states = new Int32Array(this.#shared, 0, count);
    this.#startTimes = new Float64Array(this.#shared, startTimesOffset(count), count);
    this.items = records.map((record, index) => new ItemRun(host, record, nextDispatch(), this, index));
  }

  /**
   * Hands the batch to a worker. Should it run well past its budget (an item took far longer than
   * its handler's estimate, or waits on something), the items it has not started by then are taken
   * back and queued again, at their priority, for any free worker: they never wait long behind a
   * slow one, and tasks that must run at the same time (a barrier, say) are never kept apart.
   */
  launch(budgetMs: number): void {
    this.#overrunMs = 2 * budgetMs + 1;
    this.#overrun = setTimeout(BatchRun.#onOverrun, this.#overrunMs, this);
    this.#overrun.unref();
    const items = this.items.map(({ record, dispatch }): BatchItem => {
      const { id, name, args, timeoutMs } = record;
      return { dispatch, id, name, args, reportsStart: timeoutMs !== Infinity };
    });
    const { module, exportName } = this.#handler;
    const request: BatchRequest = { batch: this.dispatch, module, exportName, items, shared: this.#shared, budgetMs };
    this.#host.pool.runBatch(request, this).then(
      (outcome) => this.#finish(outcome),
      (error: unknown) => this.#fail(error),
    );
  }

  /** Claims item `index` before its worker does: true when it will never start. */
  withdraw(index: number): boolean {
    return Atomics.compareExchange(this.#states, index, ItemState.UNSTARTED, ItemState.CANCELLED) === ItemState.UNSTARTED;
  }

  /** Asks the worker to report item `index`'s end as soon as it has one: the item, running, is being stopped. */
  hurry(index: number): void {
    Atomics.compareExchange(this.#states, index, ItemState.STARTED, ItemState.STOPPING);
  }

  /** When item `index` started on its worker (ms since the epoch), once it has. */
  startTimeOf(index: number): number {
    return this.#startTimes[index] ?? Date.now();
  }

  /** What the worker reported: the outcomes it had, then the item that runs now, then that item's progress. */
  report(report: BatchReport): void {
    if (this.#hasEnded) return;
    this.#reports++;
    this.#apply(report.from, report.outcomes);
    const item = this.items[report.started];
    if (item === undefined) return;
    if (item.isWaiting) this.#host.began(item, report.startedAt);
    if (report.progress !== undefined) item.progress(report.progress);
  }

  /** Terminates the batch's worker: a stopped item did not end within its grace period. */
  kill(): void {
    const onKill = this.#onKill;
    this.#onKill = undefined;
    onKill?.();
  }

  once(_event: 'abort', listener: () => void): void {
    this.#onKill = listener;
  }

  off(): void {
    this.#onKill = undefined;
  }

  removeListener(): void {
    this.#onKill = undefined;
  }

  #finish(outcome: BatchOutcome): void {
    // Reports travel on the control port, the result on Piscina's: any still in flight are
    // waiting in the control port's queue already, and go first.
    if (this.#reports < outcome.reports) this.#host.pool.drainReports(outcome.threadId);
    // Never expected: outcomes that went missing are recovered as if the worker had failed.
    if (outcome.from > this.#next) this.#recover(outcome.from, BatchRun.#lost);
    this.#apply(outcome.from, outcome.outcomes);
    this.#end();
  }

  /** Applies outcomes of items `from` onward, in order: each item starts (if the main thread had not heard), then ends. */
  #apply(from: number, outcomes: readonly ItemOutcome[]): void {
    let ms = 0;
    let ran = 0;
    for (let i = Math.max(0, this.#next - from); i < outcomes.length; i++) {
      const outcome = outcomes[i];
      const item = this.items[from + i] as ItemRun;
      this.#next = from + i + 1;
      // null: the item was cancelled before it started, and ended then.
      if (outcome === null || outcome === undefined) continue;
      ms += outcome.ms;
      ran++;
      if (item.isWaiting) this.#host.began(item, this.startTimeOf(from + i));
      item.settle(outcome);
    }
    if (ran > 0) this.#host.measured(this.#handler, ms, ran);
  }

  /** The worker failed under the batch: it was terminated (an item did not stop within its grace period) or it died. */
  #fail(error: unknown): void {
    // A worker that exits sends a last report, handled as it went; in case, anything left goes first.
    this.#host.pool.drainReports();
    this.#recover(this.items.length, { ok: false, error: runFailure(error), progress: undefined });
    this.#end();
  }

  /**
   * Settles the items up to `end` whose outcomes never came, from what the shared memory says they
   * had come to. An item the main thread knew was running fails with `failure`, as a run whose
   * worker failed; so does the one that ran unbeknownst to it, which is what the worker died of.
   * The others go back to the queue unattempted: those that had not started, and those that had
   * finished but whose outcome was lost with the worker, which run again, alone.
   */
  #recover(end: number, failure: TaskOutcome): void {
    // A worker terminated for a running item's sake: it is that item's failure, no other's.
    const wasTerminated = this.items.some((item) => !item.isWaiting && !item.hasEnded);
    for (let index = this.#next; index < end; index++) {
      const item = this.items[index] as ItemRun;
      this.#next = index + 1;
      if (item.hasEnded) continue;
      if (!item.isWaiting) {
        item.settle(failure);
      } else if (this.withdraw(index)) {
        // Claimed here, so that a worker not yet quite gone cannot start it now.
        item.requeue(false);
      } else if (!wasTerminated && Atomics.load(this.#states, index) === ItemState.STARTED) {
        this.#host.began(item, this.startTimeOf(index));
        item.settle(failure);
      } else {
        item.requeue(true);
      }
    }
  }

  static readonly #lost: TaskOutcome = {
    ok: false,
    error: serializeError(new Error("the worker's report of the task was lost")),
    progress: undefined,
  };

  /**
   * Takes back the items that have not started, unattempted, for the queue. A worker that has not
   * reached the batch yet (it is starting up, say) has nothing to give back: it is asked again later.
   */
  static #onOverrun(batch: BatchRun): void {
    // The worker writes an item's start time before it claims it: the first is set once it has begun.
    if (batch.#startTimes[0] === 0) {
      batch.#overrun = setTimeout(BatchRun.#onOverrun, batch.#overrunMs, batch);
      batch.#overrun.unref();
      return;
    }
    batch.#overrun = undefined;
    for (let index = batch.#next; index < batch.items.length; index++) {
      const item = batch.items[index] as ItemRun;
      if (item.isWaiting && batch.withdraw(index)) item.requeue(false);
    }
    batch.#beginRunning();
  }

  /**
   * Tells the scheduler that the item the worker is running has started, when the batch overran
   * before the worker said so: a long task then reads `running`, not `pending`. Only when every
   * item before it has ended, once what the worker reported is handled: the main thread never
   * counts two items of a batch running at once.
   */
  #beginRunning(): void {
    const index = this.#next;
    if (this.items[index]?.isWaiting !== true || Atomics.load(this.#states, index) !== ItemState.STARTED) return;
    this.#host.pool.drainReports();
    // What was reported may have begun or ended it, or left items before it waiting: look again.
    this.#beginIfNext(index);
  }

  #beginIfNext(index: number): void {
    const item = this.items[index];
    if (this.#next === index && item?.isWaiting === true && !this.#hasEnded) this.#host.began(item, this.startTimeOf(index));
  }

  #end(): void {
    if (this.#hasEnded) return;
    this.#hasEnded = true;
    if (this.#overrun !== undefined) clearTimeout(this.#overrun);
    this.#host.pool.batchEnded(this.dispatch);
    this.#host.freed();
  }
}

/** One task of a batch: its run, from when its batch is handed out until its outcome is applied. */
export class ItemRun extends Run {
  readonly #batch: BatchRun;
  readonly #index: number;
  #isWaiting = true;

  constructor(host: RunHost, record: TaskRecord, dispatch: number, batch: BatchRun, index: number) {
    super(host, record, dispatch);
    this.#batch = batch;
    this.#index = index;
  }

  protected override waits(): boolean {
    return this.#isWaiting;
  }

  /** When the item started on its worker: asked once a withdraw has failed. */
  get startedAt(): number {
    return this.#batch.startTimeOf(this.#index);
  }

  /** Takes the item back before its worker starts it; when too late, the main thread learns that it started. */
  override withdraw(): boolean {
    if (!this.#isWaiting) return false;
    if (!this.#batch.withdraw(this.#index)) {
      // Its worker has claimed it: what the worker reported before that (the end of an item the
      // main thread knew had started) is waiting on its port already, and goes first.
      this.host.pool.drainReports();
      this.#beginIfWaiting();
      return false;
    }
    this.#isWaiting = false;
    this.end(ItemRun.#withdrawn);
    return true;
  }

  static readonly #withdrawn: TaskOutcome = {
    ok: false,
    error: serializeError(new Error('taken back before it started')),
    progress: undefined,
  };

  /** Tells the scheduler the item has started, unless a report it just handled did. */
  #beginIfWaiting(): void {
    if (this.#isWaiting) this.host.began(this, this.startedAt);
  }

  /** The item's outcome, from its worker or its worker's failure. */
  settle(outcome: TaskOutcome): void {
    this.end(outcome);
  }

  /** The item goes back to the queue without an attempt: its batch failed before it could run, or after it ran. */
  requeue(runsAlone: boolean): void {
    this.#isWaiting = false;
    if (this.close()) this.host.requeued(this, runsAlone);
  }

  protected launch(): void {
    // Its batch launched it: the main thread has just learned that it started.
    this.#isWaiting = false;
  }

  protected interrupt(reason: Error): void {
    this.#batch.hurry(this.#index);
    this.host.pool.abort(this.dispatch, serializeError(reason));
  }

  protected kill(): void {
    this.#batch.kill();
  }

  protected override end(outcome: TaskOutcome): void {
    this.host.pool.settled(this.dispatch);
    super.end(outcome);
  }

  /** The batch holds the slot, not its items. */
  protected override release(): void {
    // Nothing to free.
  }
}
