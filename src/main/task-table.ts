/**
 * The table of tasks: every record the manager keeps, the counts by state, the retention of
 * finished tasks, and the events. Each change of a task's state goes through here, so that the
 * counts and the events always agree with the records. Dispatch is the scheduler's job.
 */
import type { Logger } from 'pino';
import { SafeEmitter } from './events.js';
import { Retention } from './retention.js';
import { TaskState, type FinalTaskState, type Task, type TaskFailure, type TaskStats } from '../shared/task.js';
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

export function isLive(record: TaskRecord): boolean {
  return record.state === TaskState.PENDING || record.state === TaskState.RUNNING;
}

export class TaskTable {
  readonly events: SafeEmitter<TaskManagerEvents>;
  readonly #records = new Map<string, TaskRecord>();
  readonly #finished: Retention<TaskRecord>;
  readonly #counts: TaskStats = { total: 0, pending: 0, running: 0, completed: 0, failed: 0, cancelled: 0 };

  constructor(maxFinishedTasks: number, logger: Logger) {
    this.events = new SafeEmitter((error, event) => logger.error({ err: error, event }, 'a task event listener failed'));
    this.#finished = new Retention<TaskRecord>(maxFinishedTasks, (record) => this.#records.delete(record.id));
  }

  get counts(): Readonly<TaskStats> {
    return this.#counts;
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
    if (parent !== undefined) (parent.children ??= []).push(record);
    this.#records.set(record.id, record);
    this.#counts.total++;
    this.#counts.pending++;
    this.emit(record, 'created');
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

  /** Forgets a finished task. */
  remove(id: string): boolean {
    const record = this.#records.get(id);
    if (record === undefined || isLive(record)) return false;
    this.#records.delete(id);
    this.#finished.delete(record);
    return true;
  }

  /** Forgets every finished task; returns how many. */
  clearFinished(): number {
    const records = this.#finished.clear();
    for (const record of records) this.#records.delete(record.id);
    return records.length;
  }

  /** Pending → running: a new attempt starts. */
  start(record: TaskRecord): void {
    if (record.internal === undefined) {
      this.#counts.pending--;
      this.#counts.running++;
    }
    record.state = TaskState.RUNNING;
    record.startedAt ??= Date.now();
    record.attempts++;
    this.emit(record, 'started');
  }

  /** Running → pending: a failed attempt will be retried. */
  requeue(record: TaskRecord): void {
    this.#counts.running--;
    this.#counts.pending++;
    record.state = TaskState.PENDING;
    record.progress = 0;
    this.emit(record, 'retrying');
  }

  setProgress(record: TaskRecord, value: number): void {
    record.progress = value;
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
    record.failure = failure;
    record.args = undefined;
    record.children = undefined;
    this.emit(record, state);
    const waiters = record.waiters;
    if (waiters !== undefined) {
      record.waiters = undefined;
      const snapshot = record.snapshot();
      for (const resolve of waiters) resolve(snapshot);
    }
    this.#finished.add(record);
  }

  /** Resolves with the task's snapshot once it is final; undefined for an unknown id. */
  waitFor(id: string): Promise<Task> | undefined {
    const record = this.#records.get(id);
    return record === undefined ? undefined : this.waitForRecord(record);
  }

  /** Resolves with the task's snapshot once it is final. */
  waitForRecord(record: TaskRecord): Promise<Task> {
    if (!isLive(record)) return Promise.resolve(record.snapshot());
    return new Promise((resolve) => (record.waiters ??= []).push(resolve));
  }

  emit(record: TaskRecord, event: TaskEventName): void {
    if (record.internal === undefined && this.events.hasListeners(event)) this.events.emit(event, record.snapshot());
  }
}
