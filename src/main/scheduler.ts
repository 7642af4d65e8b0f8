/**
 * The scheduler: the internal engine behind TaskManager. It owns every task record, the
 * priority queue of pending tasks and the slots of the pool, and it is the only code that
 * changes a task's state. Dispatch is driven by events: a task created (one microtask per
 * burst, so that a burst is dispatched in priority order) or a slot freed. It never polls.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { serializeError, type SerializedError, type TaskOutcome, type TaskRequest } from '../workers/messages.js';
import { TaskCancelledError } from './errors.js';
import { SafeEmitter } from './events.js';
import type { Handler, TaskHandler, WorkerTask } from './handler.js';
import { MainTaskContext } from './main-context.js';
import { describeRunFailure, WorkerPool } from './pool.js';
import { PriorityQueue } from './priority-queue.js';
import { TaskRecord, TaskState, type FinalTaskState, type RunState, type Task, type TaskStats } from './task.js';

/** The events a manager emits, each with a snapshot of the task. */
export interface TaskManagerEvents {
  created: [task: Task];
  started: [task: Task];
  progress: [task: Task];
  completed: [task: Task];
  failed: [task: Task];
  cancelled: [task: Task];
}

export type TaskEventName = keyof TaskManagerEvents;

export interface SchedulerOptions {
  readonly maxConcurrentTasks: number;
  readonly cancelGraceMs: number;
  readonly maxFinishedTasks: number;
  readonly logger: Logger;
  readonly workerPreload: readonly string[];
}

export class Scheduler {
  readonly events: SafeEmitter<TaskManagerEvents>;
  readonly #options: SchedulerOptions;
  readonly #logger: Logger;
  readonly #pool: WorkerPool;
  readonly #records = new Map<string, TaskRecord>();
  readonly #queue = new PriorityQueue<TaskRecord>();
  /** Runs that hold a slot, by dispatch number: running tasks, and cancelled ones still winding down. */
  readonly #inFlight = new Map<number, TaskRecord>();
  /** Finished tasks still kept, oldest first, from index #finishedHead on. */
  #finished: TaskRecord[] = [];
  #finishedHead = 0;
  readonly #counts: TaskStats = { total: 0, pending: 0, running: 0, completed: 0, failed: 0, cancelled: 0 };
  #idleWaiters: (() => void)[] = [];
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
    this.#pool = new WorkerPool({
      threads: options.maxConcurrentTasks,
      logLevel: this.#logger.levelVal,
      resourceLimits: undefined,
      preload: options.workerPreload,
      onProgress: (run, value) => this.#onWorkerProgress(run, value),
      onLog: (id, name, level, msg, fields) => this.#logger[level]({ ...fields, taskId: id, taskName: name }, msg),
      onPoolError: (error) => this.#logger.debug({ err: error }, 'worker pool reported an error'),
    });
  }

  get isStopping(): boolean {
    return this.#isStopping;
  }

  create(name: string, handler: Handler, priority: number, args: unknown): string {
    const record = new TaskRecord(randomUUID(), name, this.#seq++, handler, args, priority);
    this.#records.set(record.id, record);
    this.#counts.total++;
    this.#counts.pending++;
    this.#queue.push(record);
    this.#emit(record, 'created');
    this.#scheduleDrain();
    return record.id;
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
    if (record === undefined || (record.state !== TaskState.PENDING && record.state !== TaskState.RUNNING)) return false;
    this.#setProgress(record, value);
    return true;
  }

  cancel(id: string, why?: string): boolean {
    const record = this.#records.get(id);
    if (record === undefined) return false;
    if (record.state === TaskState.PENDING) {
      this.#queue.remove(record);
      this.#finalize(record, TaskState.CANCELLED);
      this.#checkIdle();
      return true;
    }
    if (record.state !== TaskState.RUNNING || record.run === undefined) return false;
    const run = record.run;
    const reason = new TaskCancelledError(record.id, why);
    this.#finalize(record, TaskState.CANCELLED);
    if (typeof record.handler === 'function') run.controller.abort(reason);
    else this.#pool.abort(run.key, serializeError(reason));
    run.graceTimer = setTimeout(() => this.#forceStop(record, run, reason), this.#options.cancelGraceMs);
    run.graceTimer.unref();
    return true;
  }

  waitFor(id: string): Promise<Task> | undefined {
    const record = this.#records.get(id);
    if (record === undefined) return undefined;
    if (record.state !== TaskState.PENDING && record.state !== TaskState.RUNNING) return Promise.resolve(record.snapshot());
    return new Promise((resolve) => (record.waiters ??= []).push(resolve));
  }

  onIdle(): Promise<void> {
    if (this.#isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
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
    const pending = this.#queue.drain().sort((a, b) => a.seq - b.seq);
    for (const record of pending) this.#finalize(record, TaskState.CANCELLED);
    for (const record of [...this.#inFlight.values()]) this.cancel(record.id, 'the manager was stopped');
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
    while (!this.#isStopping && this.#slotsInUse < this.#options.maxConcurrentTasks) {
      const record = this.#queue.pop();
      if (record === undefined) return;
      this.#start(record);
    }
  }

  #start(record: TaskRecord): void {
    this.#counts.pending--;
    this.#counts.running++;
    record.state = TaskState.RUNNING;
    record.startedAt = Date.now();
    const run: RunState = { key: ++this.#runKey, controller: new AbortController(), graceTimer: undefined };
    record.run = run;
    this.#slotsInUse++;
    this.#inFlight.set(run.key, record);
    this.#emit(record, 'started');
    if (typeof record.handler === 'function') this.#runOnMainThread(record, run, record.handler);
    else this.#runOnWorker(record, run, record.handler);
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

  #runOnMainThread(record: TaskRecord, run: RunState, handler: TaskHandler): void {
    if (run.controller.signal.aborted) {
      // Cancelled by a 'started' listener before it could begin.
      queueMicrotask(() => this.#settle(record, run, undefined, 'cancelled before it started'));
      return;
    }
    const context = new MainTaskContext(record, run, this.#logger, (value) => this.#setProgress(record, value));
    let returned: unknown;
    try {
      returned = handler(context, record.args);
    } catch (error) {
      returned = Promise.reject(error);
    }
    Promise.resolve(returned).then(
      (value) => this.#settle(record, run, { ok: true, value, progress: undefined }),
      (error: unknown) => this.#settle(record, run, { ok: false, error: serializeError(error), progress: undefined }),
    );
  }

  /** A run has ended, one way or another: free its slot and, unless it was cancelled, finish its task. */
  #settle(record: TaskRecord, run: RunState, outcome: TaskOutcome | undefined, failure?: string): void {
    if (!this.#releaseSlot(record, run)) return;
    if (record.state === TaskState.RUNNING) {
      if (outcome?.progress !== undefined) record.progress = outcome.progress;
      if (outcome?.ok === true) this.#finalize(record, TaskState.COMPLETED, outcome.value);
      else this.#finalize(record, TaskState.FAILED, undefined, outcome === undefined ? failure : formatError(outcome.error));
    }
    this.#drain();
    this.#checkIdle();
  }

  /** Frees the slot a run holds. Returns false when it was already freed. */
  #releaseSlot(record: TaskRecord, run: RunState): boolean {
    if (!this.#inFlight.delete(run.key)) return false;
    if (run.graceTimer !== undefined) clearTimeout(run.graceTimer);
    if (record.run === run) record.run = undefined;
    this.#slotsInUse--;
    return true;
  }

  /** The grace period of a cancelled run is over and it still holds its slot. */
  #forceStop(record: TaskRecord, run: RunState, reason: TaskCancelledError): void {
    if (!this.#inFlight.has(run.key)) return;
    if (typeof record.handler !== 'function') {
      // Terminates the worker; the run's promise then rejects and #settle frees the slot.
      run.controller.abort(reason);
      return;
    }
    this.#logger.warn(
      { taskId: record.id, taskName: record.name, graceMs: this.#options.cancelGraceMs },
      'a main-thread handler did not stop within the grace period after cancellation; its slot is freed',
    );
    this.#settle(record, run, undefined);
  }

  #setProgress(record: TaskRecord, value: number): void {
    record.progress = value;
    this.#emit(record, 'progress');
  }

  #onWorkerProgress(runKey: number, value: number): void {
    const record = this.#inFlight.get(runKey);
    // A message that arrives after its task ended is dropped: the final value came with the outcome.
    if (record === undefined || record.state !== TaskState.RUNNING) return;
    this.#setProgress(record, value);
  }

  #finalize(record: TaskRecord, state: FinalTaskState, result?: unknown, error?: string): void {
    this.#counts[record.state]--;
    this.#counts[state]++;
    record.state = state;
    record.completedAt = Date.now();
    record.result = result;
    record.error = error;
    record.args = undefined;
    this.#emit(record, state);
    const waiters = record.waiters;
    if (waiters !== undefined) {
      record.waiters = undefined;
      const snapshot = record.snapshot();
      for (const resolve of waiters) resolve(snapshot);
    }
    this.#retain(record);
  }

  #retain(record: TaskRecord): void {
    this.#finished.push(record);
    if (this.#finished.length - this.#finishedHead <= this.#options.maxFinishedTasks) return;
    const oldest = this.#finished[this.#finishedHead] as TaskRecord;
    this.#finished[this.#finishedHead++] = undefined as unknown as TaskRecord;
    this.#records.delete(oldest.id);
    // Compact now and then, so that the array does not grow without bound.
    if (this.#finishedHead >= 1024 && this.#finishedHead * 2 >= this.#finished.length) {
      this.#finished = this.#finished.slice(this.#finishedHead);
      this.#finishedHead = 0;
    }
  }

  #emit(record: TaskRecord, event: TaskEventName): void {
    if (this.events.hasListeners(event)) this.events.emit(event, record.snapshot());
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

function formatError(error: SerializedError): string {
  return error.name === 'Error' || error.name === 'NonErrorThrown' ? error.message : `${error.name}: ${error.message}`;
}
