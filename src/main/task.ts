/**
 * Tasks: their states, the read-only snapshot callers see, and the record the scheduler keeps.
 */
import type { Handler } from './handler.js';
import type { QueueEntry } from './priority-queue.js';

/** The states of a task. A task starts PENDING and ends in exactly one of the last three. */
export const TaskState = {
  PENDING: 'pending',
  RUNNING: 'running',
  COMPLETED: 'completed',
  FAILED: 'failed',
  CANCELLED: 'cancelled',
} as const;

export type TaskState = (typeof TaskState)[keyof typeof TaskState];

export type FinalTaskState = typeof TaskState.COMPLETED | typeof TaskState.FAILED | typeof TaskState.CANCELLED;

/** A task as callers see it: a frozen snapshot, taken when it was returned or emitted. */
export interface Task<Result = unknown> {
  /** A random UUID. */
  readonly id: string;
  readonly name: string;
  readonly state: TaskState;
  /** Higher runs first. */
  readonly priority: number;
  /** From 0 to 100. */
  readonly progress: number;
  /** What the handler returned, once the task has completed. */
  readonly result: Result | undefined;
  /** What went wrong, once the task has failed (or why it was cancelled). */
  readonly error: string | undefined;
  readonly createdAt: Date;
  readonly startedAt: Date | undefined;
  readonly completedAt: Date | undefined;
}

/** What getStats returns: counts of every task created since the manager was constructed. */
export interface TaskStats {
  total: number;
  pending: number;
  running: number;
  completed: number;
  failed: number;
  cancelled: number;
}

export function isFinalState(state: TaskState): state is FinalTaskState {
  return state === TaskState.COMPLETED || state === TaskState.FAILED || state === TaskState.CANCELLED;
}

/** The scheduler's own, mutable record of a task. Times are epoch milliseconds. */
export class TaskRecord implements QueueEntry {
  readonly id: string;
  readonly name: string;
  readonly seq: number;
  readonly handler: Handler;
  /** Dropped once the task is final, so that retained tasks do not hold their inputs. */
  args: unknown;
  readonly createdAt: number;
  priority: number;
  heapIndex = -1;
  state: TaskState = TaskState.PENDING;
  progress = 0;
  result: unknown = undefined;
  error: string | undefined = undefined;
  startedAt: number | undefined = undefined;
  completedAt: number | undefined = undefined;
  /** Set while the task runs: the key of its messages and its cancel controls. */
  run: RunState | undefined = undefined;
  /** Resolvers of `waitFor` calls, made on first use. */
  waiters: ((task: Task) => void)[] | undefined = undefined;

  constructor(id: string, name: string, seq: number, handler: Handler, args: unknown, priority: number) {
    this.id = id;
    this.name = name;
    this.seq = seq;
    this.handler = handler;
    this.args = args;
    this.priority = priority;
    this.createdAt = Date.now();
  }

  snapshot(): Task {
    return Object.freeze({
      id: this.id,
      name: this.name,
      state: this.state,
      priority: this.priority,
      progress: this.progress,
      result: this.result,
      error: this.error,
      createdAt: new Date(this.createdAt),
      startedAt: this.startedAt === undefined ? undefined : new Date(this.startedAt),
      completedAt: this.completedAt === undefined ? undefined : new Date(this.completedAt),
    });
  }
}

/** What a running task holds while it occupies a slot. */
export interface RunState {
  /** The dispatch number. */
  readonly key: number;
  /**
   * On the main thread, the controller of the handler's `task.signal`. On a worker, the
   * controller of the Piscina run: aborting it terminates the worker (the hard cancel).
   */
  readonly controller: AbortController;
  /** The timer that forces a cancelled run to give up its slot. */
  graceTimer: NodeJS.Timeout | undefined;
}
