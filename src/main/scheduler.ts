/**
 * The scheduler: the internal engine behind TaskManager. It owns the priority queue of pending
 * tasks and the runs that hold the slots, and decides each change of a task's state (which the
 * task table records and announces). Dispatch is driven by events: a task created (one microtask
 * per burst, so that a burst is dispatched in priority order) or a slot freed. It never polls.
 *
 * A task's path: `create` queues it; `#drain` pops it when a slot is free and `#start` gives it
 * a run (runs/), which runs the handler; the run reports back once, to `#ended`, which completes
 * the task, or fails it through `#failAttempt` (retry or FAILED). `cancelRecord` and a run's time
 * limit stop a run through `run.abort`. When more tasks are pending than slots are free, `#drain`
 * hands a free worker several at once instead (batching.ts): each gets a run that waits in the
 * batch, its task still pending, until the worker starts it (`#began`).
 */
import type { MessagePort, ResourceLimits } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { ManagerClient } from '../shared/client.js';
import { DeadlockError, TaskCancelledError, type TaskTimeoutError } from '../shared/errors.js';
import type { WorkerTask } from '../shared/handler.js';
import { describeError, serializeError, type SerializedError, type TaskOutcome } from '../shared/messages.js';
import { TaskState, type FinalTaskState, type Task } from '../shared/task.js';
import { Batching } from './batching.js';
import { WorkerPool } from './pool.js';
import { PriorityQueue } from './priority-queue.js';
import { retryDelay } from './retry.js';
import { BatchRun } from './runs/batch-run.js';
import { MainThreadRun } from './runs/main-thread-run.js';
import type { Run, RunHost } from './runs/run.js';
import { WorkerRun } from './runs/worker-run.js';
import { newTaskId, TaskRecord, type InternalHooks, type TaskSpec } from './task-record.js';
import { isLive, type TaskTable } from './task-table.js';
import { Waiters, WaitTracker } from './waits.js';

export interface SchedulerOptions {
  readonly table: TaskTable;
  readonly maxConcurrentTasks: number;
  readonly maxPendingTasks: number;
  readonly cancelGraceMs: number;
  readonly logger: Logger;
  readonly workerPreload: readonly string[];
  readonly resourceLimits: ResourceLimits | undefined;
  /** How long a batch is expected to take at most, in ms; 0 for no batches. */
  readonly batchBudgetMs: number;
  readonly maxBatchSize: number;
  /** A worker opened its channel to the manager. */
  readonly onManagerPort: (port: MessagePort) => void;
  /** The `task.manager` of a main-thread handler, whose run has this dispatch number. */
  readonly managerClient: (dispatch: number) => ManagerClient;
}

const MAX_DISPATCH = 0x7fffffff;
const SETTLED = Promise.resolve();

export class Scheduler {
  readonly #table: TaskTable;
  readonly #options: SchedulerOptions;
  readonly #pool: WorkerPool;
  readonly #host: RunHost;
  readonly #queue = new PriorityQueue<TaskRecord>();
  readonly #batching: Batching;
  /**
   * Runs by dispatch number: running tasks, stopped ones still winding down, and tasks waiting in
   * a batch on a worker.
   */
  readonly #inFlight = new Map<number, Run>();
  /** How many slots are held: by runs of one task, and by batches. */
  #slotsInUse = 0;
  /** Pending tasks waiting out a retry delay, outside the queue. */
  readonly #delayed = new Set<TaskRecord>();
  /** Live `map` batches. */
  readonly #batches = new Set<TaskRecord>();
  readonly #waiting: WaitTracker<TaskRecord>;
  readonly #idleWaiters = new Waiters();
  readonly #readyWaiters = new Waiters();
  #seq = 0;
  #lastDispatch = 0;
  #isDispatching = false;
  #isDrainScheduled = false;
  #isStopping = false;
  #runner: Promise<void> | undefined;
  #resolveRunner: (() => void) | undefined;
  #stopped: Promise<void> | undefined;

  constructor(options: SchedulerOptions) {
    const { table, logger } = options;
    this.#options = options;
    this.#table = table;
    this.#waiting = new WaitTracker(options.maxConcurrentTasks);
    this.#batching = new Batching(options.batchBudgetMs, options.maxBatchSize);
    this.#pool = new WorkerPool({
      threads: options.maxConcurrentTasks,
      logLevel: logger.levelVal,
      resourceLimits: options.resourceLimits,
      preload: options.workerPreload,
      onProgress: (dispatch, value) => this.#inFlight.get(dispatch)?.progress(value),
      onLog: (id, name, level, msg, fields) => logger[level]({ ...fields, taskId: id, taskName: name }, msg),
      onPoolError: (error) => logger.debug({ err: error }, 'worker pool reported an error'),
      onManagerPort: options.onManagerPort,
    });
    this.#host = {
      pool: this.#pool,
      table,
      logger,
      cancelGraceMs: options.cancelGraceMs,
      managerClient: options.managerClient,
      timedOut: (run, reason) => this.#timedOut(run, reason),
      ended: (run, outcome) => this.#ended(run, outcome),
      freed: () => this.#freed(),
      began: (run, startedAt) => this.#began(run, startedAt),
      requeued: (run, runsAlone) => this.#requeued(run, runsAlone),
      measured: (handler: WorkerTask, ms, count) => this.#batching.measured(handler, ms, count),
    };
  }

  get isStopping(): boolean {
    return this.#isStopping;
  }

  get isQueueFull(): boolean {
    return this.#table.counts.pending >= this.#options.maxPendingTasks;
  }

  create(spec: TaskSpec): string {
    const record = new TaskRecord(newTaskId(), this.#seq++, spec);
    // Queued before 'created' is announced: a listener that cancels the task, or stops the
    // manager, finds it in the queue and takes it out.
    this.#queue.push(record);
    this.#table.add(record);
    this.#scheduleDrain();
    return record.id;
  }

  /**
   * Queues again a task recovered from a journal, pending: `recover` makes its record, with its
   * own id, given its place in creation order (recovered tasks come first, in their old order).
   */
  restore(recover: (seq: number) => TaskRecord): void {
    const record = recover(this.#seq++);
    this.#queue.push(record);
    this.#table.add(record);
    this.#scheduleDrain();
  }

  /** Queues an internal task (a chunk of a `map`): it takes a slot but is not listed, counted or announced. */
  createInternal(id: string, spec: TaskSpec, hooks: InternalHooks): TaskRecord {
    const record = new TaskRecord(id, this.#seq++, spec);
    record.internal = hooks;
    this.#queue.push(record);
    this.#scheduleDrain();
    return record;
  }

  /** Records a `map` batch, with the id its caller made: one task record, pending until `startBatch`, that holds no slot. */
  createBatch(id: string, spec: TaskSpec, onCancel: () => void): void {
    const record = new TaskRecord(id, this.#seq++, spec);
    record.batch = { cancel: onCancel };
    // Known as a batch before 'created' is announced, in case a listener cancels it.
    this.#batches.add(record);
    this.#table.add(record);
  }

  startBatch(id: string): void {
    const record = this.#table.get(id);
    if (record?.state !== TaskState.PENDING) return;
    this.#table.start(record);
    this.#afterPendingLeft();
  }

  /**
   * Ends a `map` batch: its error, when it failed, is its message as the task's `error`. A batch
   * that ends before any chunk started (its input was empty, or threw) starts first, as every
   * task that is not cancelled while pending does.
   */
  finishBatch(id: string, state: FinalTaskState, result?: unknown, error?: Error): void {
    const record = this.#table.get(id);
    if (record === undefined || !isLive(record)) return;
    this.#batches.delete(record);
    if (record.state === TaskState.PENDING) this.#table.start(record);
    if (state === TaskState.COMPLETED) record.progress = 100;
    this.#finalize(record, state, result, error?.message, error === undefined ? undefined : serializeError(error));
    this.#afterPendingLeft();
    this.#checkIdle();
  }

  /** Changes a pending task's priority; false for any other, and for one handed to a worker in a batch. */
  setPriority(id: string, priority: number): boolean {
    const record = this.#table.get(id);
    if (record?.state !== TaskState.PENDING || record.run?.isWaiting === true) return false;
    this.#queue.reprioritize(record, priority);
    return true;
  }

  cancel(id: string, why?: string): boolean {
    const record = this.#table.get(id);
    return record !== undefined && this.cancelRecord(record, why);
  }

  /** Cancels a pending or running task, listed or internal, and the children it created. */
  cancelRecord(record: TaskRecord, why?: string): boolean {
    if (!isLive(record)) return false;
    if (record.state === TaskState.PENDING) {
      if (record.run?.isWaiting !== true) {
        this.#queue.remove(record);
        this.#clearRetryTimer(record);
      } else if (!record.run.withdraw() && !isLive(record)) {
        // It had started on its worker: its outcome came in meanwhile, or a 'started' listener cancelled it.
        return (record.state as TaskState) === TaskState.CANCELLED;
      }
    }
    const { run, children, batch } = record;
    if (batch !== undefined) this.#batches.delete(record);
    this.#finalize(record, TaskState.CANCELLED);
    run?.abort(new TaskCancelledError(record.id, why));
    batch?.cancel();
    for (const child of children ?? []) this.cancelRecord(child, `its parent task ${record.id} was cancelled`);
    this.#afterPendingLeft();
    this.#checkIdle();
    return true;
  }

  /** The task whose live run has this dispatch number: the caller of a manager call from a handler. */
  runningTask(dispatch: number): TaskRecord | undefined {
    let run = this.#inFlight.get(dispatch);
    if (run?.isWaiting === true) {
      // An item of a batch reports its start before it calls: the report waits on another port.
      this.#pool.drainReports();
      run = this.#inFlight.get(dispatch);
    }
    return run?.isLive === true ? run.record : undefined;
  }

  /**
   * waitFor on behalf of a running task. Fails at once, rather than hang, when every slot would
   * be held by a task that is waiting: then no pending task could ever start.
   */
  waitForFrom(caller: TaskRecord, id: string): Promise<Task> | undefined {
    const target = this.#table.get(id);
    if (target === undefined || !isLive(target)) return this.#table.waitFor(id);
    if (target === caller) throw new DeadlockError(`Task ${id} cannot wait for itself`);
    this.#waiting.enter(caller, id);
    return this.#table.waitForRecord(target).finally(() => this.#waiting.leave(caller));
  }

  onIdle(): Promise<void> {
    return this.#isIdle() ? Promise.resolve() : this.#idleWaiters.wait();
  }

  /** Resolves once a task can be created without passing `maxPendingTasks`. */
  whenReady(): Promise<void> {
    return !this.isQueueFull || this.#isStopping ? Promise.resolve() : this.#readyWaiters.wait();
  }

  /** Starts dispatching. The promise resolves once the manager has stopped. */
  run(): Promise<void> {
    // Stopped, or stopping: nothing will be dispatched again.
    if (this.#stopped !== undefined) return this.#stopped;
    if (this.#runner === undefined) {
      this.#runner = new Promise((resolve) => (this.#resolveRunner = resolve));
      this.#isDispatching = true;
      this.#scheduleDrain();
    }
    return this.#runner;
  }

  stop(): Promise<void> {
    this.#stopped ??= this.#stop();
    return this.#stopped;
  }

  async #stop(): Promise<void> {
    this.#isStopping = true;
    const pending = [...this.#queue.drain(), ...this.#delayed].sort((a, b) => a.seq - b.seq);
    for (const record of pending) {
      this.#clearRetryTimer(record);
      this.#finalize(record, TaskState.CANCELLED);
    }
    const running = Array.from(this.#inFlight.values(), (run) => run.record);
    for (const record of [...this.#batches, ...running]) this.cancelRecord(record, 'the manager was stopped');
    this.#afterPendingLeft();
    await this.onIdle();
    await this.#pool.destroy();
    this.#resolveRunner?.();
  }

  #scheduleDrain(): void {
    if (!this.#isDispatching || this.#isDrainScheduled) return;
    this.#isDrainScheduled = true;
    // A microtask, through a settled promise: queueMicrotask makes an AsyncResource per call.
    void SETTLED.then(this.#drainScheduled);
  }

  readonly #drainScheduled = (): void => {
    this.#isDrainScheduled = false;
    this.#drain();
  };

  #drain(): void {
    if (!this.#isDispatching) return;
    let started = false;
    const slots = this.#options.maxConcurrentTasks;
    while (!this.#isStopping && this.#slotsInUse < slots) {
      const record = this.#queue.pop();
      if (record === undefined) break;
      const companions = this.#batching.companions(record, this.#queue, slots - this.#slotsInUse);
      if (companions.length === 0) this.#start(record);
      else this.#startBatch(record, companions);
      started = true;
    }
    if (started) this.#afterPendingLeft();
  }

  #nextDispatch(): number {
    this.#lastDispatch = this.#lastDispatch === MAX_DISPATCH ? 1 : this.#lastDispatch + 1;
    return this.#lastDispatch;
  }

  /** Gives the task a run of the kind its handler needs, with a dispatch number of its own, and starts it. */
  #start(record: TaskRecord): void {
    const dispatch = this.#nextDispatch();
    const run =
      typeof record.handler === 'function' ? new MainThreadRun(this.#host, record, dispatch) : new WorkerRun(this.#host, record, dispatch);
    record.run = run;
    this.#inFlight.set(dispatch, run);
    this.#slotsInUse++;
    // One clock read: the task's start, and its attempt's start for the timing figures.
    const now = Date.now();
    this.#began(run, now, now);
  }

  /** Hands a free worker `first` and its companions in one run: their tasks stay pending until each starts. */
  #startBatch(first: TaskRecord, companions: readonly TaskRecord[]): void {
    const batch = new BatchRun(this.#host, [first, ...companions], () => this.#nextDispatch());
    for (const run of batch.items) {
      run.record.run = run;
      this.#inFlight.set(run.dispatch, run);
    }
    this.#slotsInUse++;
    batch.launch(this.#batching.budgetMs);
  }

  /**
   * The run's task starts: at once for a run of its own, when its worker gets to it for an item of
   * a batch. `startedAt` is when it started (on the worker, for an item of a batch), `now` the
   * main thread's clock, when the caller has just read it.
   */
  #began(run: Run, startedAt: number, now?: number): void {
    const { record } = run;
    record.startedAt ??= startedAt;
    this.#table.start(record, now);
    record.internal?.onStart();
    // A 'started' listener may have cancelled it already: the run then starts stopped.
    run.start(startedAt);
  }

  /** A run has ended, one way or another: if it was still live, its attempt ends. */
  #ended(run: Run, outcome: TaskOutcome): void {
    const { record } = run;
    const wasLive = run.isLive;
    this.#inFlight.delete(run.dispatch);
    if (record.run === run) record.run = undefined;
    this.#waiting.forget(record);
    if (!wasLive) return;
    if (outcome.progress !== undefined) record.progress = outcome.progress;
    if (outcome.ok) this.#finalize(record, TaskState.COMPLETED, outcome.value);
    else this.#failAttempt(record, outcome.error, false);
  }

  /** A slot is free: the next tasks may go. */
  #freed(): void {
    this.#slotsInUse--;
    this.#drain();
    // Tasks of a batch stop being pending as they start, which it learns as it ends.
    this.#afterPendingLeft();
    this.#checkIdle();
  }

  /** An item of a batch goes back to the queue, never attempted, at its priority. */
  #requeued(run: Run, runsAlone: boolean): void {
    const { record } = run;
    this.#inFlight.delete(run.dispatch);
    if (record.run === run) record.run = undefined;
    if (!isLive(record)) return;
    if (runsAlone) record.runsAlone = true;
    if (this.#isStopping) {
      this.#finalize(record, TaskState.CANCELLED);
      return;
    }
    this.#queue.push(record);
    // A slot may be free for it already (a batch that overran gives back what it had not started).
    this.#scheduleDrain();
  }

  /** A live run's time limit is over: the run was stopped, and the attempt fails. */
  #timedOut(run: Run, reason: TaskTimeoutError): void {
    this.#failAttempt(run.record, serializeError(reason), true);
    this.#drain();
    this.#checkIdle();
  }

  /** An attempt failed: retry it if the policy allows, or end the task FAILED. */
  #failAttempt(record: TaskRecord, failure: SerializedError, isTimeout: boolean): void {
    const message = describeError(failure);
    (record.errors ??= []).push(message);
    const { retry } = record;
    const mayRetry = record.attempts < retry.attempts && (!isTimeout || retry.retryOnTimeout) && !this.#isStopping;
    if (!mayRetry) {
      this.#finalize(record, TaskState.FAILED, undefined, message, failure);
      return;
    }
    const delay = retryDelay(retry, record.attempts);
    if (delay <= 0) {
      this.#queue.push(record);
    } else {
      this.#delayed.add(record);
      record.retryTimer = setTimeout(() => {
        record.retryTimer = undefined;
        this.#delayed.delete(record);
        this.#queue.push(record);
        this.#drain();
      }, delay);
    }
    // Announced once it waits for its next attempt: a 'retrying' listener that cancels the task,
    // or stops the manager, finds it in the queue or among the delayed and takes it out.
    this.#table.requeue(record);
  }

  #finalize(record: TaskRecord, state: FinalTaskState, result?: unknown, error?: string, failure?: SerializedError): void {
    this.#waiting.forget(record);
    this.#table.finalize(record, state, result, error, failure);
  }

  #clearRetryTimer(record: TaskRecord): void {
    if (record.retryTimer === undefined) return;
    clearTimeout(record.retryTimer);
    record.retryTimer = undefined;
    this.#delayed.delete(record);
  }

  /** Some pending tasks have left the queue: wake producers waiting for room. */
  #afterPendingLeft(): void {
    if (!this.#readyWaiters.isEmpty && (!this.isQueueFull || this.#isStopping)) this.#readyWaiters.releaseAll();
  }

  #isIdle(): boolean {
    const { pending, running } = this.#table.counts;
    return pending === 0 && running === 0 && this.#slotsInUse === 0;
  }

  #checkIdle(): void {
    if (!this.#idleWaiters.isEmpty && this.#isIdle()) this.#idleWaiters.releaseAll();
  }
}
