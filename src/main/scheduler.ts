/**
 * The scheduler: the internal engine behind TaskManager. It owns the priority queue of pending
 * tasks and the runs that hold the slots, and decides each change of a task's state (which the
 * task table records and announces). Dispatch is driven by events: a task created (one microtask
 * per burst, so that a burst is dispatched in priority order) or a slot freed. It never polls.
 *
 * A task's path: `create` queues it; `#drain` pops it when a slot is free and `#start` gives it
 * a run (runs/), which runs the handler; the run reports back once, to `#ended`, which completes
 * the task, or fails it through `#failAttempt` (retry or FAILED). `cancelRecord` and a run's time
 * limit stop a run through `run.abort`.
 */
import type { MessagePort, ResourceLimits } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { ManagerClient } from '../shared/client.js';
import { DeadlockError, TaskCancelledError, type TaskTimeoutError } from '../shared/errors.js';
import { describeError, serializeError, type SerializedError, type TaskOutcome } from '../shared/messages.js';
import { TaskState, type FinalTaskState, type Task } from '../shared/task.js';
import { WorkerPool } from './pool.js';
import { PriorityQueue } from './priority-queue.js';
import { retryDelay } from './retry.js';
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
  /** A worker opened its channel to the manager. */
  readonly onManagerPort: (port: MessagePort) => void;
  /** The `task.manager` of a main-thread handler, whose run has this dispatch number. */
  readonly managerClient: (dispatch: number) => ManagerClient;
}

const MAX_DISPATCH = 0x7fffffff;

export class Scheduler {
  readonly #table: TaskTable;
  readonly #options: SchedulerOptions;
  readonly #pool: WorkerPool;
  readonly #host: RunHost;
  readonly #queue = new PriorityQueue<TaskRecord>();
  /** Runs that hold a slot, by dispatch number: running tasks, and stopped ones still winding down. */
  readonly #inFlight = new Map<number, Run>();
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
    this.#table.add(record);
    this.#queue.push(record);
    this.#scheduleDrain();
    return record.id;
  }

  /** Queues an internal task (a chunk of a `map`): it takes a slot but is not listed, counted or announced. */
  createInternal(id: string, spec: TaskSpec, hooks: InternalHooks): TaskRecord {
    const record = new TaskRecord(id, this.#seq++, spec);
    record.internal = hooks;
    this.#queue.push(record);
    this.#scheduleDrain();
    return record;
  }

  /** Records a `map` batch: one task record, pending until `startBatch`, that holds no slot. */
  createBatch(spec: TaskSpec, onCancel: () => void): string {
    const record = new TaskRecord(newTaskId(), this.#seq++, spec);
    record.batch = { cancel: onCancel };
    this.#table.add(record);
    this.#batches.add(record);
    return record.id;
  }

  startBatch(id: string): void {
    const record = this.#table.get(id);
    if (record?.state !== TaskState.PENDING) return;
    this.#table.start(record);
    this.#afterPendingLeft();
  }

  /** Ends a `map` batch: its error, when it failed, is its message as the task's `error`. */
  finishBatch(id: string, state: FinalTaskState, result?: unknown, error?: Error): void {
    const record = this.#table.get(id);
    if (record === undefined || !isLive(record)) return;
    this.#batches.delete(record);
    if (state === TaskState.COMPLETED) record.progress = 100;
    this.#finalize(record, state, result, error?.message, error === undefined ? undefined : serializeError(error));
    this.#checkIdle();
  }

  setPriority(id: string, priority: number): boolean {
    const record = this.#table.get(id);
    if (record?.state !== TaskState.PENDING) return false;
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
    const { run, children, batch } = record;
    if (record.state === TaskState.PENDING) {
      this.#queue.remove(record);
      this.#clearRetryTimer(record);
    }
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
    const run = this.#inFlight.get(dispatch);
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
    queueMicrotask(() => {
      this.#isDrainScheduled = false;
      this.#drain();
    });
  }

  #drain(): void {
    if (!this.#isDispatching) return;
    let started = false;
    while (!this.#isStopping && this.#inFlight.size < this.#options.maxConcurrentTasks) {
      const record = this.#queue.pop();
      if (record === undefined) break;
      this.#start(record);
      started = true;
    }
    if (started) this.#afterPendingLeft();
  }

  /** Gives the task a run of the kind its handler needs, with a dispatch number of its own, and starts it. */
  #start(record: TaskRecord): void {
    this.#lastDispatch = this.#lastDispatch === MAX_DISPATCH ? 1 : this.#lastDispatch + 1;
    const run =
      typeof record.handler === 'function'
        ? new MainThreadRun(this.#host, record, this.#lastDispatch)
        : new WorkerRun(this.#host, record, this.#lastDispatch);
    record.run = run;
    this.#inFlight.set(run.dispatch, run);
    this.#table.start(record);
    record.internal?.onStart();
    // A 'started' listener may have cancelled it already: the run then starts stopped.
    run.start();
  }

  /** A run has ended, one way or another: its slot is free and, if it was still live, its attempt ends. */
  #ended(run: Run, outcome: TaskOutcome): void {
    const { record } = run;
    const wasLive = run.isLive;
    this.#inFlight.delete(run.dispatch);
    if (record.run === run) record.run = undefined;
    this.#waiting.forget(record);
    if (wasLive) {
      if (outcome.progress !== undefined) record.progress = outcome.progress;
      if (outcome.ok) this.#finalize(record, TaskState.COMPLETED, outcome.value);
      else this.#failAttempt(record, outcome.error, false);
    }
    this.#drain();
    this.#checkIdle();
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
    this.#table.requeue(record);
    const delay = retryDelay(retry, record.attempts);
    if (delay <= 0) {
      this.#queue.push(record);
      return;
    }
    this.#delayed.add(record);
    record.retryTimer = setTimeout(() => {
      record.retryTimer = undefined;
      this.#delayed.delete(record);
      this.#queue.push(record);
      this.#drain();
    }, delay);
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
    return pending === 0 && running === 0 && this.#inFlight.size === 0;
  }

  #checkIdle(): void {
    if (!this.#idleWaiters.isEmpty && this.#isIdle()) this.#idleWaiters.releaseAll();
  }
}
