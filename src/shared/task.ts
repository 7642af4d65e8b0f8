/**
 * Tasks as callers see them, on any thread: their states, their snapshots, their counts and the
 * options they are created with.
 */
import type { ErrorDataValue } from './messages.js';
import type { Transferable } from './transfer.js';

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
  /** What went wrong, once the task has failed. */
  readonly error: string | undefined;
  /** The error that failed the task, with its class name and its `TASKLOOM_*` code if it has one; set only once the task has failed. */
  readonly failure?: TaskFailure | undefined;
  /** How many times the task has been started: 1 for a task that ran once, more when it was retried. */
  readonly attempts: number;
  /** Every failed attempt's error, oldest first. */
  readonly errors: readonly string[];
  /** The id of the task whose handler created this one, if any. */
  readonly parentId: string | undefined;
  readonly createdAt: Date;
  readonly startedAt: Date | undefined;
  readonly completedAt: Date | undefined;
  /**
   * Set by a distributed manager (`taskloom/distributed`) once the task has started: the
   * process that ran its latest attempt, as `hostname:pid`. Absent on a single-process manager.
   */
  readonly host?: string | undefined;
}

/** A key that exists only for the compiler: it carries a task id's result type. */
declare const resultType: unique symbol;

/**
 * A task's id: a string. The id `createTask` returns also carries the handler's result type
 * for the compiler, so that `waitFor(id)` and `getTask(id)` know the type of `result`. Any
 * string is accepted where an id is expected.
 */
export type TaskId<Result = unknown> = string & { readonly [resultType]?: Result };

/** The error a failed task ended with, as plain data: whatever was thrown, on whichever thread. */
export interface TaskFailure {
  /** The error's class name: `TypeError`, `TimeoutError`, `WorkerExitedError`... */
  readonly name: string;
  /** A stable code to branch on: `TASKLOOM_TASK_TIMEOUT`, or the `code` the error had (`ENOENT`). */
  readonly code?: string;
  readonly message: string;
  readonly stack?: string;
  /** The error's own data fields with plain values: `taskId`, `timeoutMs`, `status`, `url`... */
  readonly data?: Readonly<Record<string, ErrorDataValue>>;
}

/** Counts of every task created since the manager was constructed, by state; `total` is their sum. */
export interface TaskCounts {
  total: number;
  pending: number;
  running: number;
  completed: number;
  failed: number;
  cancelled: number;
}

/** How long recent tasks took, in milliseconds: all 0 until a task has been measured. */
export interface TimingFigures {
  readonly p50: number;
  readonly p99: number;
  readonly mean: number;
  readonly max: number;
}

/** What getStats returns: the counts, and timing figures of the recent tasks. */
export interface TaskStats extends TaskCounts {
  /** How long the last 1,000 tasks to start had been pending (a retried task: since its retry was queued). */
  readonly waitTime: TimingFigures;
  /** How long the last 1,000 attempts to end ran, from their start to their outcome. */
  readonly runTime: TimingFigures;
  /**
   * From 0 to 1, as Piscina defines it: the run time of every attempt that has ended, over the
   * time the manager has existed times `maxConcurrentTasks`.
   */
  readonly utilization: number;
  /** Tasks finished (completed, failed or cancelled) per second over the last 10 seconds. */
  readonly throughput: number;
}

export interface RetryOptions {
  /**
   * The total number of tries, the first included (as in BullMQ): 1 means no retry.
   * @default 1
   */
  attempts?: number;
  /**
   * How the delay grows: 'fixed' waits `delayMs` each time; 'exponential' waits
   * `delayMs * 2 ** (retry - 1)`, capped at `maxDelayMs`.
   * @default 'fixed'
   */
  backoff?: 'fixed' | 'exponential';
  /**
   * The delay before the first retry, in milliseconds.
   * @default 0
   */
  delayMs?: number;
  /**
   * The longest delay, in milliseconds.
   * @default Infinity
   */
  maxDelayMs?: number;
  /**
   * A fraction from 0 to 1: each delay is drawn at random between `delay * (1 - jitter)` and
   * `delay`, so that retries of many tasks do not arrive together.
   * @default 0
   */
  jitter?: number;
  /**
   * Retry a task that timed out too. A cancelled task is never retried.
   * @default false
   */
  retryOnTimeout?: boolean;
}

/** The options of `createTask`. */
export interface CreateTaskOptions<Args = unknown> {
  /**
   * Higher runs first; tasks of equal priority run in creation order.
   * @default 0
   */
  priority?: number;
  /** The handler's second argument. Structured-cloned when the handler runs on a worker. */
  args?: Args;
  /**
   * This task's time limit in milliseconds, counted from when it starts.
   * @default the manager's `timeoutMs`
   */
  timeoutMs?: number;
  /** This task's retry policy, merged over the manager's `retry`. */
  retry?: RetryOptions;
  /**
   * With a journal: `false` runs the task without recording it (it is not recovered after a
   * restart), which lets a manager with a journal run a function handler, or arguments that
   * cannot be stored. Without a journal it changes nothing.
   * @default true
   */
  durable?: boolean;
  /**
   * ArrayBuffers, typed arrays (their whole buffer), DataViews and MessagePorts in `args` to move
   * to the worker instead of copying them, as Piscina's `transferList`. They move when the task
   * starts, and are detached on this thread from then on: hand them over with createTask and use
   * them no more (a task cancelled before it starts leaves them untouched). A SharedArrayBuffer is
   * shared, never listed. Only for a worker handler, with one attempt: what moved cannot be sent
   * again. A task with a transfer list always runs in a run of its own, never in a batch.
   * @example
   * const pixels = new Uint8Array(64 * 1024 * 1024);
   * const id = manager.createTask('Blur', blur, { args: { pixels }, transfer: [pixels.buffer] });
   * const blurred = (await manager.waitFor(id)).result; // moved back with transfer() in the handler
   * pixels.byteLength; // 0: it went to the worker
   */
  transfer?: readonly Transferable[];
}
