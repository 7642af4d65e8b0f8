/**
 * The table of tasks: every record the manager keeps, the counts by state, the retention of
 * finished tasks, and the events. Each change of a task's state goes through here, so that the
 * counts and the events always agree with the records. Dispatch is the scheduler's job.
 */
import type { Logger } from 'pino';
import { SafeEmitter } from './events.js';
import { Retention } from './retention.js';
import { TaskTimeoutError } from '../shared/errors.js';
import { describeError, serializeError } from '../shared/messages.js';
import {
  TaskState,
  type FinalTaskState,
  type Task,
  type TaskCounts,
  type TaskFailure,
  type TaskStats,
  type TimingFigures,
} from '../shared/task.js';
import type { TaskTimings } from './stats.js';
import type { TaskRecord } from './task-record.js';

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

/**
 * Hears every change of a listed task's state, as the table makes it and before it is
 * announced: the manager's journal, when it has one.
 */
export interface TaskObserver {
  added(record: TaskRecord): void;
  started(record: TaskRecord): void;
  requeued(record: TaskRecord): void;
  /** The task's final state, result or error and final progress are set. */
  finalized(record: TaskRecord): void;
}

export function isLive(record: TaskRecord): boolean {
  return record.state === TaskState.PENDING || record.state === TaskState.RUNNING;
}

export class TaskTable {
  readonly events: SafeEmitter<TaskManagerEvents>;
  /** The timing figures, told of every start and end. */
  readonly timings: TaskTimings;
  readonly #records = new Map<string, TaskRecord>();
  readonly #finished: Retention<TaskRecord>;
  readonly #counts: TaskCounts = { total: 0, pending: 0, running: 0, completed: 0, failed: 0, cancelled: 0 };
  #version = 0;
  /** Told of every change of state; undefined, and so free, without a journal. */
  observer: TaskObserver | undefined = undefined;

  constructor(maxFinishedTasks: number, logger: Logger, timings: TaskTimings) {
    this.events = new SafeEmitter((error, event) => logger.error({ err: error, event }, 'a task event listener failed'));
    this.#finished = new Retention<TaskRecord>(maxFinishedTasks, (record) => this.#records.delete(record.id));
    this.timings = timings;
  }

  get counts(): Readonly<TaskCounts> {
    return this.#counts;
  }

  /** Goes up with every change to a listed task (the dashboard sends a frame only when it has moved). */
  get version(): number {
    return this.#version;
  }

  /** Records a change the table did not make itself: a pending task's new priority. */
  touch(): void {
    this.#version++;
  }

  /** Every record kept, in creation order: what the dashboard pages through. */
  values(): IterableIterator<TaskRecord> {
    return this.#records.values();
  }

  get(id: string): TaskRecord | undefined {
    return this.#records.get(id);
  }

  /** A snapshot of the task, or undefined for an unknown id. */
  snapshot(id: string): Task | undefined {
    return this.#records.get(id)?.snapshot();
  }

  /** A new pending task. Internal tasks (chunks of a map) are not added. */
  add(record: TaskRecord): void {
    // A parent is running when it creates a child, so it is in the table.
    const parent = record.parentId === undefined ? undefined : this.#records.get(record.parentId);
    if (parent !== undefined) (parent.children ??= new Set()).add(record);
    this.#records.set(record.id, record);
    this.#counts.total++;
    this.#counts.pending++;
    this.timings.queued(record, record.createdAt);
    this.#version++;
    this.observer?.added(record);
    this.emit(record, 'created');
  }

  list(state: TaskState | undefined): Task[] {
    const tasks: Task[] = [];
    for (const record of this.#records.values()) {
      if (state === undefined || record.state === state) tasks.push(record.snapshot());
    }
    return tasks;
  }

  /**
   * The counts, and the timing figures. The figures of the recent waits and runs are worked out
   * when first read (a sort of up to 1,000 values each), so that a caller who reads the counts
   * only, once per task, pays nothing for them.
   */
  stats(): TaskStats {
    const { timings } = this;
    let waitTime: TimingFigures | undefined;
    let runTime: TimingFigures | undefined;
    return {
      ...this.#counts,
      get waitTime() {
        return (waitTime ??= timings.waitTime);
      },
      get runTime() {
        return (runTime ??= timings.runTime);
      },
      utilization: timings.utilization,
      throughput: timings.throughput,
    };
  }

  /** A finished task recovered from a journal: counted in its state and kept, as any finished task, without events. */
  restoreFinished(record: TaskRecord): void {
    this.#records.set(record.id, record);
    this.#counts.total++;
    this.#counts[record.state]++;
    this.#version++;
    this.#finished.add(record);
  }

  /** Finished tasks recovered from a journal but left there (beyond `maxFinishedTasks`): counted only. */
  countFinished(state: FinalTaskState, count: number): void {
    this.#counts.total += count;
    this.#counts[state] += count;
  }

  /** Forgets a finished task. */
  remove(id: string): boolean {
    const record = this.#records.get(id);
    if (record === undefined || isLive(record)) return false;
    this.#records.delete(id);
    this.#finished.delete(record);
    this.#version++;
    return true;
  }

  /** Forgets every finished task; returns how many. */
  clearFinished(): number {
    const records = this.#finished.clear();
    for (const record of records) this.#records.delete(record.id);
    this.#version++;
    return records.length;
  }

  /** Pending → running at `now` (epoch ms): a new attempt starts. */
  start(record: TaskRecord, now = Date.now()): void {
    if (record.internal === undefined) {
      this.#counts.pending--;
      this.#counts.running++;
    }
    // One clock read: the task's first start time, and its attempt's start for the timing figures.
    this.timings.started(record, now);
    record.state = TaskState.RUNNING;
    record.startedAt ??= now;
    record.attempts++;
    this.#version++;
    this.observer?.started(record);
    this.emit(record, 'started');
  }

  /** Running → pending: a failed attempt will be retried. */
  requeue(record: TaskRecord): void {
    this.#counts.running--;
    this.#counts.pending++;
    const now = Date.now();
    this.timings.retried(record, now, hasTimedOut(record));
    this.timings.queued(record, now);
    record.state = TaskState.PENDING;
    record.progress = 0;
    this.#version++;
    this.observer?.requeued(record);
    this.emit(record, 'retrying');
  }

  setProgress(record: TaskRecord, value: number): void {
    record.progress = value;
    this.#version++;
    this.emit(record, 'progress');
  }

  /** Sets a pending or running task's progress; false for a finished or unknown one. */
  updateProgress(id: string, value: number): boolean {
    const record = this.#records.get(id);
    if (record === undefined || !isLive(record)) return false;
    this.setProgress(record, value);
    return true;
  }

  /**
   * The task's one final state: counted, announced, handed to its waiters, then retained. A
   * failed task has its `error` message and the `failure` it was made from.
   */
  finalize(record: TaskRecord, state: FinalTaskState, result?: unknown, error?: string, failure?: TaskFailure): void {
    const now = Date.now();
    this.timings.finished(record, now, failure?.code === TaskTimeoutError.code);
    if (record.internal !== undefined) {
      record.state = state;
      record.args = undefined;
      record.transfer = undefined;
      record.internal.onEnd(state, result, error);
      return;
    }
    this.#counts[record.state]--;
    this.#counts[state]++;
    record.state = state;
    record.completedAt = now;
    record.result = result;
    record.error = error;
    record.failure = failure;
    record.args = undefined;
    // A task that never started still lists what it would have moved: the caller's buffers, whole.
    record.transfer = undefined;
    record.children = undefined;
    // A map's cancel holds its input and its chunks' results.
    record.batch = undefined;
    // A finished child needs no cancelling with its parent: the parent, still running, lets go of it.
    if (record.parentId !== undefined) this.#records.get(record.parentId)?.children?.delete(record);
    this.#version++;
    this.observer?.finalized(record);
    // Retained before it is announced: a listener that removes it, or clears the finished tasks,
    // finds it there (with maxFinishedTasks 0 it is already gone).
    this.#finished.add(record);
    this.emit(record, state);
    const waiters = record.waiters;
    if (waiters !== undefined) {
      record.waiters = undefined;
      const snapshot = record.snapshot();
      if (typeof waiters === 'function') waiters(snapshot);
      else for (const resolve of waiters) resolve(snapshot);
    }
  }

  /** Resolves with the task's snapshot once it is final; undefined for an unknown id. */
  waitFor(id: string): Promise<Task> | undefined {
    const record = this.#records.get(id);
    return record === undefined ? undefined : this.waitForRecord(record);
  }

  /** Resolves with the task's snapshot once it is final. */
  waitForRecord(record: TaskRecord): Promise<Task> {
    if (!isLive(record)) return Promise.resolve(record.snapshot());
    return new Promise((resolve) => {
      const { waiters } = record;
      if (waiters === undefined) record.waiters = resolve;
      else if (typeof waiters === 'function') record.waiters = [waiters, resolve];
      else waiters.push(resolve);
    });
  }

  emit(record: TaskRecord, event: TaskEventName): void {
    if (record.internal === undefined && this.events.hasListeners(event)) this.events.emit(event, record.snapshot());
  }
}

/** Whether the attempt that just failed ran past its time limit: its error is the time limit's own. */
function hasTimedOut(record: TaskRecord): boolean {
  if (record.timeoutMs === Infinity || record.errors === undefined) return false;
  return record.errors.at(-1) === describeError(serializeError(new TaskTimeoutError(record.id, record.timeoutMs)));
}
