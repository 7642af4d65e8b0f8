/** TaskManager's options: what callers may pass, the defaults, and the checked result. */
import { availableParallelism } from 'node:os';
import type { Logger } from 'pino';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { toModuleUrl } from '../shared/handler.js';
import type { ResourceLimits } from 'node:worker_threads';
import { isLogger } from './logger.js';
import type { RetryOptions } from '../shared/task.js';
import { NO_RETRY, resolveRetry, type RetryPolicy } from './retry.js';
import {
  checkBoolean,
  checkFiniteNumber,
  checkNonNegativeNumber,
  checkOneOf,
  checkOptions,
  checkPositiveInteger,
  checkPositiveNumber,
  checkTimerMs,
  MAX_TIMER_MS,
  received,
} from '../shared/validate.js';

export interface TaskManagerOptions {
  /**
   * How many tasks run at once. The worker pool has this many threads, and tasks whose
   * handler is a plain function count against the same limit.
   * @default os.availableParallelism()
   */
  maxConcurrentTasks?: number;
  /**
   * Start dispatching at construction. Otherwise tasks wait as pending until `runTasks()`.
   * @default false
   */
  autoStart?: boolean;
  /**
   * How long a cancelled running task has to settle after its `signal` aborts before its
   * worker is terminated (a hard cancel). A main-thread handler cannot be terminated:
   * after the grace period its slot is freed and a warning is logged.
   * @default 1000
   */
  cancelGraceMs?: number;
  /**
   * How many finished tasks (completed, failed or cancelled) the manager keeps for
   * getTask and listTasks. Beyond it the oldest finished tasks are dropped, so that a
   * long-lived manager holds bounded memory. `Infinity` keeps them all.
   * @default 10000
   */
  maxFinishedTasks?: number;
  /**
   * A pino logger, or `false` for silence. By default warnings and errors (a failing event
   * callback, a crashed worker) go to stderr.
   */
  logger?: Logger | false;
  /**
   * Modules that every worker thread imports, in order, before it runs its first task: a
   * file: URL or an absolute path each. Use it to set up what handler modules need, such as
   * a TypeScript loader (on Node 20 a worker does not inherit the main thread's `--import`).
   * @default []
   * @example
   * // register-tsx.mjs: import { register } from 'tsx/esm/api'; register();
   * new TaskManager({ workerPreload: [new URL('./register-tsx.mjs', import.meta.url)] });
   */
  workerPreload?: readonly (URL | string)[];
  /**
   * The default time limit of a task, counted from when it starts (not from when it was
   * queued). On expiry its signal aborts with a `TimeoutError`, its worker is terminated after
   * `cancelGraceMs` if it has not settled, and it fails with "timed out after N ms".
   * @default Infinity
   */
  timeoutMs?: number;
  /** The default retry policy; `createTask`'s `retry` option is merged over it. */
  retry?: RetryOptions;
  /**
   * The most tasks that may be pending at once. At the bound `createTask` throws a
   * `QueueFullError`; `await manager.whenReady()` waits for room.
   * @default Infinity
   */
  maxPendingTasks?: number;
  /**
   * Limits for each worker thread's heap and stack, as in `new Worker()`. A task that exhausts
   * them fails with "worker ran out of memory" and the pool starts a new worker.
   */
  resourceLimits?: ResourceLimits;
  /**
   * Adaptive batch dispatch: when more tasks are pending than threads are free, a free worker
   * takes several of the top tasks of one handler in one run, as many as are expected to take at
   * most this long, from a moving estimate of the handler's run time measured on the workers. A
   * handler with no estimate yet, or whose tasks take longer, runs one task per run; so does a
   * function handler, and a task with a `transfer` list. A batch that runs past twice its budget
   * gives the tasks it has not started back to the queue, for any free worker. Each task keeps its
   * own record, events, time limit, cancellation and outcome; a task in a batch reads `pending`
   * until its worker starts it. `0` turns batching off: one task per run, as before.
   * @default 1
   * @example
   * new TaskManager({ batchBudgetMs: 0 }); // one task per worker run, always
   */
  batchBudgetMs?: number;
  /**
   * The most tasks one batch holds (see `batchBudgetMs`).
   * @default 64
   */
  maxBatchSize?: number;
  /**
   * A file in which to keep a durable record of every task (SQLite, through the optional
   * dependency better-sqlite3): a path, relative to the working directory, or a file: URL. It is
   * made if it does not exist. A manager constructed on an existing journal gets its tasks back
   * before the constructor returns: pending ones run again, finished ones come back as records.
   * With a journal, a task's handler must be a `workerTask(...)` and its arguments structured-clone
   * data, unless it is created with `durable: false`.
   * @default undefined (no journal)
   * @example
   * const manager = new TaskManager({ journal: './run.db' });
   */
  journal?: string | URL;
  /**
   * What becomes of a task that was running when the journal's last process ended: `'retry'` runs
   * it again (the interrupted run counts as an attempt), `'fail'` ends it FAILED with
   * "interrupted: the process ended while this task ran".
   * @default 'retry'
   */
  onInterrupted?: 'retry' | 'fail';
  /**
   * How long, in milliseconds, the journal keeps a finished task after it finished: older ones
   * are removed at construction and then about once a minute. `compactJournal()` removes them all.
   * @default Infinity
   */
  maxJournalAge?: number;
}

export interface ResolvedOptions {
  readonly maxConcurrentTasks: number;
  readonly autoStart: boolean;
  readonly cancelGraceMs: number;
  readonly maxFinishedTasks: number;
  readonly logger: Logger | false | undefined;
  /** As file: URLs. */
  readonly workerPreload: readonly string[];
  readonly timeoutMs: number;
  readonly retry: RetryPolicy;
  readonly maxPendingTasks: number;
  readonly resourceLimits: ResourceLimits | undefined;
  readonly batchBudgetMs: number;
  readonly maxBatchSize: number;
  /** The journal file, as an absolute path; undefined for none. */
  readonly journal: string | undefined;
  readonly onInterrupted: 'retry' | 'fail';
  readonly maxJournalAge: number;
}

export const DEFAULT_OPTIONS = {
  autoStart: false,
  cancelGraceMs: 1000,
  maxFinishedTasks: 10_000,
  logger: undefined,
  workerPreload: [],
  timeoutMs: Infinity,
  retry: NO_RETRY,
  maxPendingTasks: Infinity,
  resourceLimits: undefined,
  batchBudgetMs: 1,
  maxBatchSize: 64,
  journal: undefined,
  onInterrupted: 'retry',
  maxJournalAge: Infinity,
} as const satisfies Omit<ResolvedOptions, 'maxConcurrentTasks'>;

const KNOWN_OPTIONS = [
  'maxConcurrentTasks',
  'autoStart',
  'cancelGraceMs',
  'maxFinishedTasks',
  'logger',
  'workerPreload',
  'timeoutMs',
  'retry',
  'maxPendingTasks',
  'resourceLimits',
  'batchBudgetMs',
  'maxBatchSize',
  'journal',
  'onInterrupted',
  'maxJournalAge',
] as const;

export function resolveOptions(options: TaskManagerOptions | undefined): ResolvedOptions {
  const given = checkOptions('options', options, KNOWN_OPTIONS);
  const { workerPreload, retry, journal, ...rest } = given;
  const resolved: ResolvedOptions = {
    ...DEFAULT_OPTIONS,
    maxConcurrentTasks: availableParallelism(),
    ...withoutUndefined(rest),
    workerPreload: resolvePreload(workerPreload),
    retry: resolveRetry('options.retry', retry),
    journal: resolveJournalPath(journal),
  };
  checkPositiveInteger('options.maxConcurrentTasks', resolved.maxConcurrentTasks);
  checkBoolean('options.autoStart', resolved.autoStart);
  checkTimerMs('options.cancelGraceMs', resolved.cancelGraceMs);
  if (resolved.maxFinishedTasks !== Infinity) {
    if (typeof resolved.maxFinishedTasks !== 'number' || !Number.isInteger(resolved.maxFinishedTasks)) {
      throw new TypeError(
        `Expected \`options.maxFinishedTasks\` to be an integer >= 0 or Infinity, ${received(resolved.maxFinishedTasks)}`,
      );
    }
    checkNonNegativeNumber('options.maxFinishedTasks', resolved.maxFinishedTasks);
  }
  checkLimit('options.maxPendingTasks', resolved.maxPendingTasks);
  checkTimeout('options.timeoutMs', resolved.timeoutMs);
  checkNonNegativeNumber('options.batchBudgetMs', resolved.batchBudgetMs);
  // A batch that runs past twice its budget gives back what it has not started: a timer holds that.
  if (resolved.batchBudgetMs > MAX_BATCH_BUDGET_MS) {
    throw new RangeError(`Expected \`options.batchBudgetMs\` to be at most ${MAX_BATCH_BUDGET_MS}, ${received(resolved.batchBudgetMs)}`);
  }
  checkPositiveInteger('options.maxBatchSize', resolved.maxBatchSize);
  if (resolved.resourceLimits !== undefined) checkResourceLimits(resolved.resourceLimits);
  checkOneOf('options.onInterrupted', resolved.onInterrupted, INTERRUPTED_POLICIES);
  if (resolved.maxJournalAge !== Infinity) checkPositiveNumber('options.maxJournalAge', resolved.maxJournalAge);
  if (resolved.logger !== undefined && resolved.logger !== false && !isLogger(resolved.logger)) {
    throw new TypeError(`Expected \`options.logger\` to be a pino logger or false, ${received(resolved.logger)}`);
  }
  return resolved;
}

const RESOURCE_LIMITS = ['maxYoungGenerationSizeMb', 'maxOldGenerationSizeMb', 'codeRangeSizeMb', 'stackSizeMb'] as const;

/**
 * The workers' resource limits, as Worker takes them: each a number of megabytes > 0. A worker
 * given a bad one fails to start, which would leave its task waiting for a thread that never comes.
 */
function checkResourceLimits(limits: ResourceLimits): void {
  const given = checkOptions('options.resourceLimits', limits, RESOURCE_LIMITS);
  for (const key of RESOURCE_LIMITS) {
    if (given[key] !== undefined) checkPositiveNumber(`options.resourceLimits.${key}`, given[key]);
  }
}

/** A positive integer, or Infinity for no limit. */
function checkLimit(name: string, value: unknown): void {
  if (value !== Infinity) checkPositiveInteger(name, value);
}

/** A time limit in milliseconds: a number > 0 that a timer can hold, or Infinity for none. */
export function checkTimeout(name: string, value: unknown): asserts value is number {
  if (value === Infinity) return;
  checkFiniteNumber(name, value);
  if (value <= 0) throw new RangeError(`Expected \`${name}\` to be a number of milliseconds > 0, ${received(value)}`);
  if (value > MAX_TIMER_MS) {
    throw new RangeError(
      `Expected \`${name}\` to be at most ${MAX_TIMER_MS} ms (about 24.8 days), or Infinity for none, ${received(value)}`,
    );
  }
}

const MAX_BATCH_BUDGET_MS = Math.floor((MAX_TIMER_MS - 1) / 2);

function resolvePreload(preload: unknown): string[] {
  if (preload === undefined) return [];
  if (!Array.isArray(preload)) {
    throw new TypeError(`Expected \`options.workerPreload\` to be an array of file: URLs or absolute paths, ${received(preload)}`);
  }
  return preload.map((module: unknown, index) => {
    const name = `options.workerPreload[${index}]`;
    const url = toModuleUrl(name, module);
    if (!existsSync(fileURLToPath(url))) {
      throw new TypeError(`Expected \`${name}\` to name an existing module, but ${fileURLToPath(url)} does not exist`);
    }
    return url;
  });
}

const INTERRUPTED_POLICIES = ['retry', 'fail'] as const;

/** The journal's path, absolute: given as a path (relative to the working directory) or a file: URL. */
function resolveJournalPath(journal: unknown): string | undefined {
  if (journal === undefined) return undefined;
  if (journal instanceof URL) {
    if (journal.protocol !== 'file:') {
      throw new TypeError(`Expected \`options.journal\` to be a path or a file: URL, got a ${journal.protocol} URL: ${journal.href}`);
    }
    return fileURLToPath(journal);
  }
  if (typeof journal !== 'string' || journal.length === 0) {
    throw new TypeError(`Expected \`options.journal\` to be a path or a file: URL, ${received(journal)}`);
  }
  return journal.startsWith('file:') ? fileURLToPath(journal) : resolve(journal);
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
