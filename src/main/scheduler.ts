/**
 * The scheduler: the internal engine behind TaskManager. It owns the priority queue of pending
 * tasks, the slots of the pool and every run, and decides each change of a task's state (which
 * the task table records and announces). Dispatch is driven by events: a task created (one microtask per
 * burst, so that a burst is dispatched in priority order) or a slot freed. It never polls.
 */
import type { MessagePort, ResourceLimits } from 'node:worker_threads';
import type { Logger } from 'pino';
import { describeError, serializeError, type TaskOutcome } from '../shared/messages.js';
import { DeadlockError, TaskCancelledError, TaskTimeoutError } from '../shared/errors.js';
import { Waiters, WaitTracker } from './waits.js';
import { Launcher } from './launch.js';
import type { ManagerClient } from '../shared/client.js';
import { WorkerPool } from './pool.js';
import { PriorityQueue } from './priority-queue.js';
import { retryDelay } from './retry.js';
import { isLive, TaskTable } from './task-table.js';
import { TaskState, type FinalTaskState, type Task, type TaskStats } from '../shared/task.js';
import { newTaskId, TaskRecord, type InternalHooks, type RunState, type TaskSpec } from './task-record.js';

export interface SchedulerOptions {
  readonly maxConcurrentTasks: number;
  readonly maxPendingTasks: number;
  readonly cancelGraceMs: number;
  readonly maxFinishedTasks: number;
  readonly logger: Logger;
  readonly workerPreload: readonly string[];
  readonly resourceLimits: ResourceLimits | undefined;
  /** A worker opened its channel to the manager. */
  readonly onManagerPort: (port: MessagePort) => void;
  /** The `task.manager` of a main-thread handler, whose run has this dispatch number. */
  readonly managerClient: (runKey: number) => ManagerClient;
}

export class Scheduler {
  readonly #table: TaskTable;
  readonly #options: SchedulerOptions;
  readonly #logger: Logger;
  readonly #pool: WorkerPool;
  readonly #launcher: Launcher;
  readonly #queue = new PriorityQueue<TaskRecord>();
  /** Runs that hold a slot, by dispatch number: running tasks, and stopped ones still winding down. */
  readonly #inFlight = new Map<number, TaskRecord>();
  /** Pending tasks waiting out a retry delay, outside the queue. */
  readonly #delayed = new Set<TaskRecord>();
  /** Live `map` batches. */
  readonly #batches = new Set<TaskRecord>();
  readonly #waiting: WaitTracker<TaskRecord>;
  readonly #idleWaiters = new Waiters();
  readonly #readyWaiters = new Waiters();
  #seq = 0;
  #slotsInUse = 0;
  #isDispatching = false;
  #isDrainScheduled = false;
  #isStopping = false;
  #runner: Promise<void> | undefined;
  #resolveRunner: (() => void) | undefined;
  #stopped: Promise<void> | undefined;

  constructor(options: SchedulerOptions) {
    this.#options = options;
    this.#logger = options.logger;
    this.#table = new TaskTable(options.maxFinishedTasks, options.logger);
    this.#waiting = new WaitTracker(options.maxConcurrentTasks);
    this.#pool = new WorkerPool({
      threads: options.maxConcurrentTasks,
      logLevel: this.#logger.levelVal,
      resourceLimits: options.resourceLimits,
      preload: options.workerPreload,
      onProgress: (run, value) => this.#onWorkerProgress(run, value),
      onLog: (id, name, level, msg, fields) => this.#logger[level]({ ...fields, taskId: id, taskName: name }, msg),
      onPoolError: (error) => this.#logger.debug({ err: error }, 'worker pool reported an error'),
      onManagerPort: options.onManagerPort,
    });
    this.#launcher = new Launcher(this.#pool, this.#logger, options.managerClient);
  }

  get events(): TaskTable['events'] {
    return this.#table.events;
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

  finishBatch(id: string, state: FinalTaskState, result?: unknown, error?: string): void {
    const record = this.#table.get(id);
    if (record === undefined || !isLive(record)) return;
    this.#batches.delete(record);
    if (state === TaskState.COMPLETED) record.progress = 100;
    this.#finalize(record, state, result, error);
    this.#checkIdle();
  }

  get(id: string): Task | undefined {
    return this.#table.get(id)?.snapshot();
  }

  list(state: TaskState | undefined): Task[] {
    return this.#table.list(state);
  }

  stats(): TaskStats {
    return this.#table.stats();
  }

  setPriority(id: string, priority: number): boolean {
    const record = this.#table.get(id);
    if (record === undefined || record.state !== TaskState.PENDING) return false;
    this.#queue.reprioritize(record, priority);
    return true;
  }

  updateProgress(id: string, value: number): boolean {
    const record = this.#table.get(id);
    if (record === undefined || !isLive(record)) return false;
    this.#setProgress(record, value);
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
    if (run !== undefined) this.#stopRun(record, run, new TaskCancelledError(record.id, why));
    batch?.cancel();
    for (const child of children ?? []) this.cancelRecord(child, `its parent task ${record.id} was cancelled`);
    this.#afterPendingLeft();
    this.#checkIdle();
    return true;
  }

  /** The task whose live run has this dispatch number: the caller of a manager call from a worker. */
  runningTask(runKey: number): TaskRecord | undefined {
    const record = this.#inFlight.get(runKey);
    return record !== undefined && record.run?.key === runKey && record.state === TaskState.RUNNING ? record : undefined;
  }

  /**
   * waitFor on behalf of a running task. Fails at once, rather than hang, when every slot would
   * be held by a task that is waiting: then no pending task could ever start.
   */
  waitForFrom(caller: TaskRecord, id: string): Promise<Task> | undefined {
    const target = this.#table.get(id);
    if (target === undefined || !isLive(target)) return this.waitFor(id);
    if (target === caller) throw new DeadlockError(`Task ${id} cannot wait for itself`);
    this.#waiting.enter(caller, id);
    return this.waitFor(id)!.finally(() => this.#waiting.leave(caller));
  }

  /** Forgets a finished task. */
  remove(id: string): boolean {
    return this.#table.remove(id);
  }

  /** Forgets every finished task; returns how many. */
  clearFinished(): number {
    return this.#table.clearFinished();
  }

  waitFor(id: string): Promise<Task> | undefined {
    return this.#table.waitFor(id);
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
    for (const record of [...this.#batches, ...this.#inFlight.values()]) this.cancelRecord(record, 'the manager was stopped');
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
    while (!this.#isStopping && this.#slotsInUse < this.#options.maxConcurrentTasks) {
      const record = this.#queue.pop();
      if (record === undefined) break;
      this.#start(record);
      started = true;
    }
    if (started) this.#afterPendingLeft();
  }

  #start(record: TaskRecord): void {
    const run = this.#launcher.newRun(record);
    record.run = run;
    this.#slotsInUse++;
    this.#inFlight.set(run.key, record);
    if (record.timeoutMs !== Infinity) {
      run.timeoutTimer = setTimeout(() => this.#onTimeout(record, run), record.timeoutMs);
    }
    this.#table.start(record);
    record.internal?.onStart();
    this.#launcher.launch(
      record,
      run,
      (value) => this.#setProgress(record, value),
      (outcome, failure) => this.#settle(record, run, outcome, failure),
    );
  }

  /** A run has ended, one way or another: free its slot and, if it is still the task's live run, end the attempt. */
  #settle(record: TaskRecord, run: RunState, outcome: TaskOutcome | undefined, failure?: string): void {
    const isLiveRun = record.run === run && record.state === TaskState.RUNNING;
    if (!this.#releaseSlot(record, run)) return;
    if (isLiveRun) {
      if (outcome?.progress !== undefined) record.progress = outcome.progress;
      if (outcome?.ok === true) this.#finalize(record, TaskState.COMPLETED, outcome.value);
      else this.#failAttempt(record, outcome === undefined ? (failure ?? 'the run ended without an outcome') : describeError(outcome.error), false);
    }
    this.#drain();
    this.#checkIdle();
  }

  /** An attempt failed: retry it if the policy allows, or end the task FAILED. */
  #failAttempt(record: TaskRecord, message: string, isTimeout: boolean): void {
    (record.errors ??= []).push(message);
    const { retry } = record;
    const mayRetry = record.attempts < retry.attempts && (!isTimeout || retry.retryOnTimeout) && !this.#isStopping;
    if (!mayRetry) {
      this.#finalize(record, TaskState.FAILED, undefined, message);
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

  #onTimeout(record: TaskRecord, run: RunState): void {
    run.timeoutTimer = undefined;
    if (record.run !== run || record.state !== TaskState.RUNNING) return;
    const reason = new TaskTimeoutError(record.id, record.timeoutMs);
    this.#stopRun(record, run, reason);
    this.#failAttempt(record, reason.message, true);
    this.#drain();
    this.#checkIdle();
  }

  /** Aborts a run's signal, and forces it out of its slot if it has not settled after the grace period. */
  #stopRun(record: TaskRecord, run: RunState, reason: Error): void {
    run.stopReason = reason;
    if (run.kill === undefined) run.controller?.abort(reason);
    else this.#pool.abort(run.key, serializeError(reason));
    run.graceTimer = setTimeout(() => this.#forceStop(record, run, reason), this.#options.cancelGraceMs);
    run.graceTimer.unref();
  }

  /** Frees the slot a run holds. Returns false when it was already freed. */
  #releaseSlot(record: TaskRecord, run: RunState): boolean {
    if (!this.#inFlight.delete(run.key)) return false;
    this.#pool.settled(run.key);
    if (run.graceTimer !== undefined) clearTimeout(run.graceTimer);
    if (run.timeoutTimer !== undefined) clearTimeout(run.timeoutTimer);
    if (record.run === run) record.run = undefined;
    this.#waiting.forget(record);
    this.#slotsInUse--;
    return true;
  }

  /** The grace period of a stopped run is over and it still holds its slot. */
  #forceStop(record: TaskRecord, run: RunState, reason: Error): void {
    if (!this.#inFlight.has(run.key)) return;
    if (run.kill !== undefined) {
      // Terminates the worker; the run's promise then rejects and #settle frees the slot.
      run.kill.abort();
      return;
    }
    this.#logger.warn(
      { taskId: record.id, taskName: record.name, graceMs: this.#options.cancelGraceMs },
      'a main-thread handler did not stop within the grace period; its slot is freed',
    );
    this.#settle(record, run, undefined);
  }

  #setProgress(record: TaskRecord, value: number): void {
    this.#table.setProgress(record, value);
  }

  #onWorkerProgress(runKey: number, value: number): void {
    const record = this.#inFlight.get(runKey);
    // A message that arrives after its run ended is dropped: the final value came with the outcome.
    if (record === undefined || record.run?.key !== runKey || record.state !== TaskState.RUNNING) return;
    this.#setProgress(record, value);
  }

  #finalize(record: TaskRecord, state: FinalTaskState, result?: unknown, error?: string): void {
    this.#waiting.forget(record);
    this.#table.finalize(record, state, result, error);
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
