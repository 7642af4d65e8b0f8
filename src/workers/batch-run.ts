/**
 * A batch on this worker: several tasks of one handler, run one after another in one Piscina run,
 * each with its own context, abort and outcome.
 *
 * Before it starts an item, the worker claims it in the batch's shared memory, UNSTARTED to
 * STARTED; the main thread cancels an item that has not started by claiming it first, UNSTARTED
 * to CANCELLED, and the worker then skips it. Outcomes go back together with the batch's result.
 * The main thread hears sooner only when it must (in a report on the control port, which carries
 * every outcome not yet sent, so that it learns of items in their order): an item with a time
 * limit starts, the batch runs past its budget, an item sets progress or calls the manager, an
 * abort arrives, or the worker exits.
 */
import { threadId } from 'node:worker_threads';
import type { ManagerClient } from '../shared/client.js';
import {
  ItemState,
  startTimesOffset,
  type BatchOutcome,
  type BatchReport,
  type BatchRequest,
  type ItemOutcome,
  type RunOutcome,
} from '../shared/messages.js';
import type { Movable } from '../shared/transfer.js';
import { attempt, failed } from './attempt.js';
import { WorkerTaskContext, type ContextHost, type WorkerSetup } from './context.js';
import { afterAbort, control, register, unregister } from './control.js';
import { loadedHandler, loadHandler, type Handler } from './handlers.js';
import { withTransfer } from './movable.js';

/** The batch that runs on this worker, if any: what is flushed when the worker exits. */
let current: BatchRunner | undefined;
process.on('exit', () => current?.flush());

/** Runs the batch, and resolves with the outcomes it has not reported yet. */
export async function runBatch(request: BatchRequest, setup: WorkerSetup): Promise<unknown> {
  const handler: Handler | Error =
    setup.preloadFailure ??
    loadedHandler(request.module, request.exportName) ??
    (await loadHandler(request.module, request.exportName).catch((error: unknown) =>
      error instanceof Error ? error : new Error(String(error)),
    ));
  const runner = new BatchRunner(request, setup);
  current = runner;
  afterAbort(() => runner.flush());
  try {
    return await runner.run(handler);
  } finally {
    afterAbort(undefined);
    current = undefined;
  }
}

class BatchRunner implements ContextHost {
  readonly port = control;
  readonly logLevel: number;
  readonly #request: BatchRequest;
  readonly #setup: WorkerSetup;
  readonly #states: Int32Array;
  readonly #startTimes: Float64Array;
  readonly #began = performance.now();
  /** The index of the first outcome not sent yet, those outcomes, and what moves with them. */
  #from = 0;
  #outcomes: ItemOutcome[] = [];
  #transfer: Movable[] = [];
  #reports = 0;
  /** The item that runs (or is about to), its context and its start, or -1 between items. */
  #index = -1;
  #context: WorkerTaskContext | undefined;
  #startedAt = 0;
  /** The main thread heard that the last item started: it must hear that it ended before the next starts. */
  #owesEnd = false;

  constructor(request: BatchRequest, setup: WorkerSetup) {
    const count = request.items.length;
    this.#request = request;
    this.#setup = setup;
    this.logLevel = setup.logLevel;
    this.#states = new Int32Array(request.shared, 0, count);
    this.#startTimes = new Float64Array(request.shared, startTimesOffset(count), count);
  }

  async run(handler: Handler | Error): Promise<unknown> {
    const { items, budgetMs } = this.#request;
    for (let i = 0; i < items.length; i++) {
      const item = items[i] as BatchRequest['items'][number];
      const startedAt = Date.now();
      // Written before the claim, so that the main thread finds it once it sees STARTED.
      this.#startTimes[i] = startedAt;
      // Before the claim, the main thread hears what it must: the end of an item whose start it
      // heard of (should it find this one started, it then never counts two of the batch running
      // at once), and this one's start, when its time limit counts from it or the batch runs past
      // its budget. Should it cancel this item meanwhile, it ignores that start.
      const reportsStart = item.reportsStart || performance.now() - this.#began > budgetMs;
      if (reportsStart || this.#owesEnd) {
        this.#index = reportsStart ? i : -1;
        this.#startedAt = startedAt;
        this.#report(undefined);
      }
      if (Atomics.compareExchange(this.#states, i, ItemState.UNSTARTED, ItemState.STARTED) !== ItemState.UNSTARTED) {
        this.#index = -1;
        this.#outcomes.push(null);
        continue;
      }
      const context = new WorkerTaskContext(item.dispatch, item.id, item.name, this);
      register(context);
      this.#index = i;
      this.#context = context;
      this.#startedAt = startedAt;
      let outcome: RunOutcome | Promise<RunOutcome> =
        handler instanceof Error ? failed(context, handler, performance.now()) : attempt(context, handler, item.args);
      if (outcome instanceof Promise) outcome = await outcome;
      unregister(context);
      this.#index = -1;
      this.#context = undefined;
      const state = Atomics.exchange(this.#states, i, ItemState.DONE);
      this.#outcomes.push(outcome);
      if (context.transfer !== undefined) this.#addTransfer(context.transfer);
      // The main thread stopped this item and waits to hear that it has ended, with a deadline.
      if (state === ItemState.STOPPING) this.#report(undefined);
    }
    const result: BatchOutcome = { from: this.#from, outcomes: this.#outcomes, reports: this.#reports, threadId };
    return this.#transfer.length === 0 ? result : withTransfer(result, this.#transfer);
  }

  /** Sends what the main thread has not heard yet, if anything. */
  flush(): void {
    if (this.#outcomes.length > 0 || this.#index !== -1) this.#report(undefined);
  }

  progress(context: WorkerTaskContext, value: number): void {
    if (context === this.#context) this.#report(value);
  }

  manager(context: WorkerTaskContext): ManagerClient {
    // The manager must know the caller runs before the call arrives: it becomes the parent of
    // the tasks it creates, and only a running task may wait for others.
    if (context === this.#context) this.#report(undefined);
    return this.#setup.openManager(context.dispatch);
  }

  #report(progress: number | undefined): void {
    const report: BatchReport = {
      type: 'batch',
      batch: this.#request.batch,
      from: this.#from,
      outcomes: this.#outcomes,
      started: this.#index,
      startedAt: this.#startedAt,
      progress,
    };
    control.postMessage(report, this.#transfer);
    this.#owesEnd = this.#index !== -1;
    this.#reports++;
    this.#from += this.#outcomes.length;
    this.#outcomes = [];
    if (this.#transfer.length > 0) this.#transfer = [];
  }

  /** Adds an item's transfer list to the batch's: a buffer two items return moves once. */
  #addTransfer(list: readonly Movable[]): void {
    for (const movable of list) if (!this.#transfer.includes(movable)) this.#transfer.push(movable);
  }
}
