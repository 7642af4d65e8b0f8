/** TaskManager's options: what callers may pass, the defaults, and the checked result. */
import { availableParallelism } from 'node:os';
import type { Logger } from 'pino';
import { existsSync } from 'node:fs';
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
  checkObject,
  checkOptions,
  checkPositiveInteger,
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
] as const;

export function resolveOptions(options: TaskManagerOptions | undefined): ResolvedOptions {
  const given = checkOptions('options', options, KNOWN_OPTIONS);
  const { workerPreload, retry, ...rest } = given;
  const resolved: ResolvedOptions = {
    ...DEFAULT_OPTIONS,
    maxConcurrentTasks: availableParallelism(),
    ...withoutUndefined(rest),
    workerPreload: resolvePreload(workerPreload),
    retry: resolveRetry('options.retry', retry),
  };
  checkPositiveInteger('options.maxConcurrentTasks', resolved.maxConcurrentTasks);
  checkBoolean('options.autoStart', resolved.autoStart);
  checkNonNegativeNumber('options.cancelGraceMs', resolved.cancelGraceMs);
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
  if (resolved.resourceLimits !== undefined) checkObject('options.resourceLimits', resolved.resourceLimits);
  if (resolved.logger !== undefined && resolved.logger !== false && !isLogger(resolved.logger)) {
    throw new TypeError(`Expected \`options.logger\` to be a pino logger or false, ${received(resolved.logger)}`);
  }
  return resolved;
}

/** A positive integer, or Infinity for no limit. */
function checkLimit(name: string, value: unknown): void {
  if (value !== Infinity) checkPositiveInteger(name, value);
}

/** A time limit in milliseconds: a number > 0, or Infinity for none. */
export function checkTimeout(name: string, value: unknown): asserts value is number {
  if (value === Infinity) return;
  checkFiniteNumber(name, value);
  if (value <= 0) throw new RangeError(`Expected \`${name}\` to be a number of milliseconds > 0, ${received(value)}`);
}

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

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
