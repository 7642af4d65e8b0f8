/**
 * The scheduler's own record of a task, and what it holds while the task runs.
 */
import { randomFillSync } from 'node:crypto';
import type { Handler } from '../shared/handler.js';
import type { Movable } from '../shared/transfer.js';
import type { QueueEntry } from './priority-queue.js';
import type { Retained } from './retention.js';
import type { RetryPolicy } from './retry.js';
import type { Run } from './runs/run.js';
import { TaskState, type FinalTaskState, type Task, type TaskFailure } from '../shared/task.js';

/** Random bytes for task ids, drawn 256 ids at a time, as randomUUID() draws its own. */
const randomBytes = new Uint8Array(16 * 256);
let randomOffset = randomBytes.length;
/** The two characters of each byte's hex form, as char codes: high << 8 | low. */
const HEX_PAIRS = Uint16Array.from({ length: 256 }, (_, byte) => {
  const hex = byte.toString(16).padStart(2, '0');
  return (hex.charCodeAt(0) << 8) | hex.charCodeAt(1);
});
/** Where each of the 16 bytes goes in the 36 characters of a UUID: the dashes sit at 8, 13, 18 and 23. */
const HEX_AT = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34] as const;
const idChars = Buffer.from('00000000-0000-0000-0000-000000000000', 'latin1');

/**
 * A random (version 4) UUID, as randomUUID() makes one, written as one flat string: randomUUID()
 * returns a rope of 14 joined strings (about 450 bytes of heap, and half the size of a pending
 * task once flattened), and this takes half its time.
 */
export function newTaskId(): string {
  if (randomOffset === randomBytes.length) {
    randomFillSync(randomBytes);
    randomOffset = 0;
  }
  const at = randomOffset;
  randomOffset += 16;
  // Version 4, and the variant of RFC 9562, in the places the standard gives them.
  randomBytes[at + 6] = ((randomBytes[at + 6] as number) & 0x0f) | 0x40;
  randomBytes[at + 8] = ((randomBytes[at + 8] as number) & 0x3f) | 0x80;
  for (let i = 0; i < 16; i++) {
    const pair = HEX_PAIRS[randomBytes[at + i] as number] as number;
    const to = HEX_AT[i] as number;
    idChars[to] = pair >> 8;
    idChars[to + 1] = pair & 0xff;
  }
  return idChars.toString('latin1');
}

/** The `errors` of a snapshot of a task that has none: one frozen array, shared. */
const NO_ERRORS: readonly string[] = Object.freeze([]);

/** The scheduler's own, mutable record of a task. Times are epoch milliseconds. */
export class TaskRecord implements QueueEntry, Retained {
  readonly id: string;
  readonly name: string;
  readonly seq: number;
  readonly handler: Handler;
  /** Dropped once the task is final, so that retained tasks do not hold their inputs. */
  args: unknown;
  /** What moves to the worker with `args` rather than being copied (createTask's `transfer`); dropped with `args`. */
  transfer: readonly Movable[] | undefined;
  readonly createdAt: number;
  readonly timeoutMs: number;
  readonly retry: RetryPolicy;
  readonly parentId: string | undefined;
  /** Recorded in the manager's journal: set for every task of a journaled manager but those created with `durable: false`. */
  readonly durable: boolean;
  priority: number;
  attempts = 0;
  errors: string[] | undefined = undefined;
  /** Set while a retry waits for its delay. */
  retryTimer: NodeJS.Timeout | undefined = undefined;
  heapIndex = -1;
  /** Its place among the finished tasks kept (retention.ts), or -1. */
  retainedAt = -1;
  state: TaskState = TaskState.PENDING;
  progress = 0;
  result: unknown = undefined;
  error: string | undefined = undefined;
  failure: TaskFailure | undefined = undefined;
  startedAt: number | undefined = undefined;
  completedAt: number | undefined = undefined;
  /** When the task last became pending, then when its current attempt started (see stats.ts). */
  since = 0;
  /** Set when a batch the task was in failed as a whole: it is not batched again. */
  runsAlone = false;
  /** The task's current run, from its start until that run has ended and freed its slot. */
  run: Run | undefined = undefined;
  /**
   * Set on the internal tasks that run the chunks of a `map`: they take slots like any task,
   * but are not listed, counted or announced; their batch hears how they end.
   */
  internal: InternalHooks | undefined = undefined;
  /** Set on the one task record of a `map` batch, which holds no slot itself, until it is final. */
  batch: { cancel(): void } | undefined = undefined;
  /** The live tasks this one's handler created, made on first use; each leaves it as it ends, and it is dropped once this task is final. */
  children: Set<TaskRecord> | undefined = undefined;
  /** Resolvers of `waitFor` calls: the one there is, or a list once there are more (most tasks have one at most). */
  waiters: Waiter | Waiter[] | undefined = undefined;

  /** `createdAt` is given for a task recovered from a journal, which keeps the time it was first created. */
  constructor(id: string, seq: number, spec: TaskSpec, createdAt = Date.now()) {
    this.id = id;
    this.seq = seq;
    this.name = spec.name;
    this.handler = spec.handler;
    this.args = spec.args;
    this.transfer = spec.transfer;
    this.priority = spec.priority;
    this.timeoutMs = spec.timeoutMs;
    this.retry = spec.retry;
    this.parentId = spec.parentId;
    this.durable = spec.durable === true;
    this.createdAt = createdAt;
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
      errors: this.errors === undefined ? NO_ERRORS : Object.freeze([...this.errors]),
      parentId: this.parentId,
      createdAt: new Date(this.createdAt),
      startedAt: this.startedAt === undefined ? undefined : new Date(this.startedAt),
      completedAt: this.completedAt === undefined ? undefined : new Date(this.completedAt),
    });
  }
}

/** Resolves a `waitFor` call with the task's final snapshot. */
export type Waiter = (task: Task) => void;

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
  /** What moves with `args` to the worker instead of being copied. */
  readonly transfer?: readonly Movable[] | undefined;
  readonly priority: number;
  /** Infinity for none. */
  readonly timeoutMs: number;
  readonly retry: RetryPolicy;
  readonly parentId: string | undefined;
  /** Record the task in the journal (see `TaskRecord.durable`). */
  readonly durable?: boolean;
}
