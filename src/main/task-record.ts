/**
 * The scheduler's own record of a task, and what it holds while the task runs.
 */
import { randomUUID } from 'node:crypto';
import type { Handler } from '../shared/handler.js';
import type { QueueEntry } from './priority-queue.js';
import type { RetryPolicy } from './retry.js';
import type { Run } from './runs/run.js';
import { TaskState, type FinalTaskState, type Task, type TaskFailure } from '../shared/task.js';

/**
 * A random UUID, flattened: randomUUID() returns a rope of 14 joined strings (about 450 bytes of
 * heap); reading one character makes V8 flatten it in place, which halves a pending task's size.
 */
export function newTaskId(): string {
  const id = randomUUID();
  id.charCodeAt(0);
  return id;
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
  readonly timeoutMs: number;
  readonly retry: RetryPolicy;
  readonly parentId: string | undefined;
  priority: number;
  attempts = 0;
  errors: string[] | undefined = undefined;
  /** Set while a retry waits for its delay. */
  retryTimer: NodeJS.Timeout | undefined = undefined;
  heapIndex = -1;
  state: TaskState = TaskState.PENDING;
  progress = 0;
  result: unknown = undefined;
  error: string | undefined = undefined;
  failure: TaskFailure | undefined = undefined;
  startedAt: number | undefined = undefined;
  completedAt: number | undefined = undefined;
  /** The task's current run, from its start until that run has ended and freed its slot. */
  run: Run | undefined = undefined;
  /**
   * Set on the internal tasks that run the chunks of a `map`: they take slots like any task,
   * but are not listed, counted or announced; their batch hears how they end.
   */
  internal: InternalHooks | undefined = undefined;
  /** Set on the one task record of a `map` batch, which holds no slot itself. */
  batch: { cancel(): void } | undefined = undefined;
  /** Tasks this one's handler created, made on first use; dropped once this task is final. */
  children: TaskRecord[] | undefined = undefined;
  /** Resolvers of `waitFor` calls, made on first use. */
  waiters: ((task: Task) => void)[] | undefined = undefined;

  constructor(id: string, seq: number, spec: TaskSpec) {
    this.id = id;
    this.seq = seq;
    this.name = spec.name;
    this.handler = spec.handler;
    this.args = spec.args;
    this.priority = spec.priority;
    this.timeoutMs = spec.timeoutMs;
    this.retry = spec.retry;
    this.parentId = spec.parentId;
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
      failure: this.failure,
      attempts: this.attempts,
      errors: Object.freeze(this.errors === undefined ? [] : [...this.errors]),
      parentId: this.parentId,
      createdAt: new Date(this.createdAt),
      startedAt: this.startedAt === undefined ? undefined : new Date(this.startedAt),
      completedAt: this.completedAt === undefined ? undefined : new Date(this.completedAt),
    });
  }
}

/** What an internal task tells the code that made it. */
export interface InternalHooks {
  onStart(): void;
  onEnd(state: FinalTaskState, result: unknown, error: string | undefined): void;
}

/** Everything createTask settles about a task. */
export interface TaskSpec {
  readonly name: string;
  readonly handler: Handler;
  readonly args: unknown;
  readonly priority: number;
  /** Infinity for none. */
  readonly timeoutMs: number;
  readonly retry: RetryPolicy;
  readonly parentId: string | undefined;
}
