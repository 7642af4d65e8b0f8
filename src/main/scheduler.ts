/**
 * The scheduler: the internal engine behind TaskManager. It owns every task record, the
 * priority queue of pending tasks and the slots of the pool, and it is the only code that
 * changes a task's state. Dispatch is driven by events: a task created (one microtask per
 * burst, so that a burst is dispatched in priority order) or a slot freed. It never polls.
 */
import { randomUUID } from 'node:crypto';
import type { MessagePort, ResourceLimits } from 'node:worker_threads';
import type { Logger } from 'pino';
import { serializeError, type SerializedError, type TaskOutcome, type TaskRequest } from '../workers/messages.js';
import { DeadlockError, TaskCancelledError, TaskTimeoutError } from './errors.js';
import { SafeEmitter } from './events.js';
import type { WorkerTask } from './handler.js';
import { MainTaskContext, runOnMainThread } from './main-context.js';
import type { ManagerClient } from '../workers/manager-client.js';
import { describeRunFailure, WorkerPool } from './pool.js';
import { PriorityQueue } from './priority-queue.js';
import { Retention } from './retention.js';
import { retryDelay } from './retry.js';
import {
  TaskRecord,
  TaskState,
  type FinalTaskState,
  type InternalHooks,
  type RunState,
  type Task,
  type TaskSpec,
  type TaskStats,
} from './task.js';

/** The events a manager emits, each with a snapshot of the task. */
export interface TaskManagerEvents {
  created: [task: Task];
  started: [task: Task];
  progress: [task: Task];
  /** A failed attempt will be tried again: the task is pending once more. */
  retrying: [task: Task];
  completed: [task: Task];
  failed: [task: Task];
  cancelled: [task: Task];
}

export type TaskEventName = keyof TaskManagerEvents;

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
  readonly events: SafeEmitter<TaskManagerEvents>;
  readonly #options: SchedulerOptions;
  readonly #logger: Logger;
  readonly #pool: WorkerPool;
  readonly #records = new Map<string, TaskRecord>();
  readonly #queue = new PriorityQueue<TaskRecord>();
  /** Runs that hold a slot, by dispatch number: running tasks, and stopped ones still winding down. */
  readonly #inFlight = new Map<number, TaskRecord>();
  /** Pending tasks waiting out a retry delay, outside the queue. */
  readonly #delayed = new Set<TaskRecord>();
  /** Live `map` batches. */
  readonly #batches = new Set<TaskRecord>();
  /** Running tasks whose handlers are waiting for other tasks, with how many waits each has open. */
  readonly #waiting = new Map<TaskRecord, number>();
  readonly #finished: Retention<TaskRecord>;
  readonly #counts: TaskStats = { total: 0, pending: 0, running: 0, completed: 0, failed: 0, cancelled: 0 };
  #idleWaiters: (() => void)[] = [];
  #readyWaiters: (() => void)[] = [];
  #seq = 0;
  #runKey = 0;
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
    this.events = new SafeEmitter((error, event) => {
      this.#logger.error({ err: error, event }, 'a task event listener failed');
    });
    this.#finished = new Retention(options.maxFinishedTasks, (record) => this.#records.delete(record.id));
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
  }

  get isStopping(): boolean {
    return this.#isStopping;
  }

  get isQueueFull(): boolean {
    return this.#counts.pending >= this.#options.maxPendingTasks;
  }

  create(spec: TaskSpec): string {
    const record = new TaskRecord(randomUUID(), this.#seq++, spec);
    if (spec.parentId !== undefined) (this.#records.get(spec.parentId)!.children ??= []).push(record);
    this.#records.set(record.id, record);
    this.#counts.total++;
    this.#counts.pending++;
    this.#queue.push(record);
    this.#emit(record, 'created');
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
    const record = new TaskRecord(randomUUID(), this.#seq++, spec);
    record.batch = { cancel: onCancel };
    this.#records.set(record.id, record);
    this.#batches.add(record);
    this.#counts.total++;
    this.#counts.pending++;
    this.#emit(record, 'created');
    return record.id;
  }

  startBatch(id: string): void {
    const record = this.#records.get(id);
    if (record?.state !== TaskState.PENDING) return;
    this.#counts.pending--;
    this.#counts.running++;
    record.state = TaskState.RUNNING;
    record.startedAt = Date.now();
    record.attempts = 1;
    this.#emit(record, 'started');
    this.#afterPendingLeft();
  }

  finishBatch(id: string, state: FinalTaskState, result?: unknown, error?: string): void {
    const record = this.#records.get(id);
    if (record === undefined || !isLive(record)) return;
    this.#batches.delete(record);
    if (state === TaskState.COMPLETED) record.progress = 100;
    this.#finalize(record, state, result, error);
    this.#checkIdle();
  }

  get(id: string): Task | undefined {
    return this.#records.get(id)?.snapshot();
  }

  list(state: TaskState | undefined): Task[] {
    const tasks: Task[] = [];
    for (const record of this.#records.values()) {
      if (state === undefined || record.state === state) tasks.push(record.snapshot());
    }
    return tasks;
  }

  stats(): TaskStats {
    return { ...this.#counts };
  }

  setPriority(id: string, priority: number): boolean {
    const record = this.#records.get(id);
    if (record === undefined || record.state !== TaskState.PENDING) return false;
    this.#queue.reprioritize(record, priority);
    return true;
  }

  updateProgress(id: string, value: number): boolean {
    const record = this.#records.get(id);
    if (record === undefined || !isLive(record)) return false;
    this.#setProgress(record, value);
    return true;
  }

  cancel(id: string, why?: string): boolean {
    const record = this.#records.get(id);
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
    const target = this.#records.get(id);
    if (target === undefined || !isLive(target)) return this.waitFor(id);
    if (target === caller) throw new DeadlockError(`Task ${id} cannot wait for itself`);
    const open = this.#waiting.get(caller) ?? 0;
    if (open === 0 && this.#waiting.size + 1 >= this.#options.maxConcurrentTasks) {
      throw new DeadlockError(
        `waitFor(${JSON.stringify(id)}) would deadlock: all ${this.#options.maxConcurrentTasks} slots would be held by ` +
          'tasks waiting for other tasks, so the task waited for could never start. Raise maxConcurrentTasks, or wait for ' +
          'child tasks outside the handler.',
      );
    }
    this.#waiting.set(caller, open + 1);
    return this.waitFor(id)!.finally(() => {
      const left = (this.#waiting.get(caller) ?? 0) - 1;
      if (left > 0) this.#waiting.set(caller, left);
      else this.#waiting.delete(caller);
    });
  }

  /** Forgets a finished task. */
  remove(id: string): boolean {
    const record = this.#records.get(id);
    if (record === undefined || isLive(record)) return false;
    this.#records.delete(id);
    this.#finished.delete(id);
    return true;
  }

  /** Forgets every finished task; returns how many. */
  clearFinished(): number {
    const ids = this.#finished.clear();
    for (const id of ids) this.#records.delete(id);
    return ids.length;
  }

  waitFor(id: string): Promise<Task> | undefined {
    const record = this.#records.get(id);
    if (record === undefined) return undefined;
    if (!isLive(record)) return Promise.resolve(record.snapshot());
    return new Promise((resolve) => (record.waiters ??= []).push(resolve));
  }

  onIdle(): Promise<void> {
    if (this.#isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Resolves once a task can be created without passing `maxPendingTasks`. */
  whenReady(): Promise<void> {
    if (!this.isQueueFull || this.#isStopping) return Promise.resolve();
    return new Promise((resolve) => this.#readyWaiters.push(resolve));
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
    if (record.internal === undefined) {
      this.#counts.pending--;
      this.#counts.running++;
    }
    record.state = TaskState.RUNNING;
    record.startedAt ??= Date.now();
    record.attempts++;
    this.#runKey = this.#runKey === 0x7fffffff ? 1 : this.#runKey + 1;
    const run: RunState = { key: this.#runKey, controller: new AbortController(), graceTimer: undefined, timeoutTimer: undefined };
    record.run = run;
    this.#slotsInUse++;
    this.#inFlight.set(run.key, record);
    if (record.timeoutMs !== Infinity) {
      run.timeoutTimer = setTimeout(() => this.#onTimeout(record, run), record.timeoutMs);
    }
    this.#emit(record, 'started');
    record.internal?.onStart();
    const { handler } = record;
    if (typeof handler !== 'function') {
      this.#runOnWorker(record, run, handler);
    } else if (run.controller.signal.aborted) {
      // Cancelled by a 'started' listener before it could begin.
      queueMicrotask(() => this.#settle(record, run, undefined));
    } else {
      const context = new MainTaskContext(record, run, this.#logger, {
        report: (value) => this.#setProgress(record, value),
        manager: () => this.#options.managerClient(run.key),
      });
      runOnMainThread(
        handler,
        context,
        record.args,
        (value) => this.#settle(record, run, { ok: true, value, progress: undefined }),
        (error) => this.#settle(record, run, { ok: false, error: serializeError(error), progress: undefined }),
      );
    }
  }

  #runOnWorker(record: TaskRecord, run: RunState, handler: WorkerTask): void {
    const request: TaskRequest = {
      run: run.key,
      id: record.id,
      name: record.name,
      module: handler.module,
      exportName: handler.exportName,
      args: record.args,
    };
    this.#pool.run(request, run.controller.signal).then(
      (outcome) => this.#settle(record, run, outcome),
      (error: unknown) => this.#settle(record, run, undefined, describeRunFailure(error)),
    );
  }

  /** A run has ended, one way or another: free its slot and, if it is still the task's live run, end the attempt. */
  #settle(record: TaskRecord, run: RunState, outcome: TaskOutcome | undefined, failure?: string): void {
    const isLiveRun = record.run === run && record.state === TaskState.RUNNING;
    if (!this.#releaseSlot(record, run)) return;
    if (isLiveRun) {
      if (outcome?.progress !== undefined) record.progress = outcome.progress;
      if (outcome?.ok === true) this.#finalize(record, TaskState.COMPLETED, outcome.value);
      else this.#failAttempt(record, outcome === undefined ? (failure ?? 'the run ended without an outcome') : formatError(outcome.error), false);
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
    this.#counts.running--;
    this.#counts.pending++;
    record.state = TaskState.PENDING;
    record.progress = 0;
    this.#emit(record, 'retrying');
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
    if (typeof record.handler === 'function') run.controller.abort(reason);
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
    this.#waiting.delete(record);
    this.#slotsInUse--;
    return true;
  }

  /** The grace period of a stopped run is over and it still holds its slot. */
  #forceStop(record: TaskRecord, run: RunState, reason: Error): void {
    if (!this.#inFlight.has(run.key)) return;
    if (typeof record.handler !== 'function') {
      // Terminates the worker; the run's promise then rejects and #settle frees the slot.
      run.controller.abort(reason);
      return;
    }
    this.#logger.warn(
      { taskId: record.id, taskName: record.name, graceMs: this.#options.cancelGraceMs },
      'a main-thread handler did not stop within the grace period; its slot is freed',
    );
    this.#settle(record, run, undefined);
  }

  #setProgress(record: TaskRecord, value: number): void {
    record.progress = value;
    this.#emit(record, 'progress');
  }

  #onWorkerProgress(runKey: number, value: number): void {
    const record = this.#inFlight.get(runKey);
    // A message that arrives after its run ended is dropped: the final value came with the outcome.
    if (record === undefined || record.run?.key !== runKey || record.state !== TaskState.RUNNING) return;
    this.#setProgress(record, value);
  }

  #finalize(record: TaskRecord, state: FinalTaskState, result?: unknown, error?: string): void {
    if (record.internal !== undefined) {
      record.state = state;
      record.args = undefined;
      record.internal.onEnd(state, result, error);
      return;
    }
    this.#counts[record.state]--;
    this.#counts[state]++;
    record.state = state;
    record.completedAt = Date.now();
    record.result = result;
    record.error = error;
    record.args = undefined;
    record.children = undefined;
    this.#waiting.delete(record);
    this.#emit(record, state);
    const waiters = record.waiters;
    if (waiters !== undefined) {
      record.waiters = undefined;
      const snapshot = record.snapshot();
      for (const resolve of waiters) resolve(snapshot);
    }
    this.#finished.add(record);
  }

  #clearRetryTimer(record: TaskRecord): void {
    if (record.retryTimer === undefined) return;
    clearTimeout(record.retryTimer);
    record.retryTimer = undefined;
    this.#delayed.delete(record);
  }

  #emit(record: TaskRecord, event: TaskEventName): void {
    if (record.internal === undefined && this.events.hasListeners(event)) this.events.emit(event, record.snapshot());
  }

  /** Some pending tasks have left the queue: wake producers waiting for room. */
  #afterPendingLeft(): void {
    if (this.#readyWaiters.length === 0 || (this.isQueueFull && !this.#isStopping)) return;
    const waiters = this.#readyWaiters;
    this.#readyWaiters = [];
    for (const resolve of waiters) resolve();
  }

  #isIdle(): boolean {
    return this.#counts.pending === 0 && this.#counts.running === 0 && this.#slotsInUse === 0;
  }

  #checkIdle(): void {
    if (this.#idleWaiters.length === 0 || !this.#isIdle()) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}

function isLive(record: TaskRecord): boolean {
  return record.state === TaskState.PENDING || record.state === TaskState.RUNNING;
}

function formatError(error: SerializedError): string {
  return error.name === 'Error' || error.name === 'NonErrorThrown' ? error.message : `${error.name}: ${error.message}`;
}
