/** TaskManager's options: what callers may pass, the defaults, and the checked result. */
import { availableParallelism } from 'node:os';
import type { Logger } from 'pino';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { toModuleUrl } from './handler.js';
import { isLogger } from './logger.js';
import { checkBoolean, checkNonNegativeNumber, checkOptions, checkPositiveInteger, received } from './validate.js';

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
  workerPreload?: ReadonlyArray<URL | string>;
}

export interface ResolvedOptions {
  readonly maxConcurrentTasks: number;
  readonly autoStart: boolean;
  readonly cancelGraceMs: number;
  readonly maxFinishedTasks: number;
  readonly logger: Logger | false | undefined;
  /** As file: URLs. */
  readonly workerPreload: readonly string[];
}

export const DEFAULT_OPTIONS = {
  autoStart: false,
  cancelGraceMs: 1000,
  maxFinishedTasks: 10_000,
  logger: undefined,
  workerPreload: [],
} as const satisfies Omit<ResolvedOptions, 'maxConcurrentTasks'>;

const KNOWN_OPTIONS = ['maxConcurrentTasks', 'autoStart', 'cancelGraceMs', 'maxFinishedTasks', 'logger', 'workerPreload'] as const;

export function resolveOptions(options: TaskManagerOptions | undefined): ResolvedOptions {
  const given = checkOptions('options', options, KNOWN_OPTIONS);
  const { workerPreload, ...rest } = given;
  const resolved: ResolvedOptions = {
    ...DEFAULT_OPTIONS,
    maxConcurrentTasks: availableParallelism(),
    ...withoutUndefined(rest),
    workerPreload: resolvePreload(workerPreload),
  };
  checkPositiveInteger('options.maxConcurrentTasks', resolved.maxConcurrentTasks);
  checkBoolean('options.autoStart', resolved.autoStart);
  checkNonNegativeNumber('options.cancelGraceMs', resolved.cancelGraceMs);
  if (resolved.maxFinishedTasks !== Infinity) {
    if (typeof resolved.maxFinishedTasks !== 'number' || !Number.isInteger(resolved.maxFinishedTasks)) {
      throw new TypeError(`Expected \`options.maxFinishedTasks\` to be an integer >= 0 or Infinity, ${received(resolved.maxFinishedTasks)}`);
    }
    checkNonNegativeNumber('options.maxFinishedTasks', resolved.maxFinishedTasks);
  }
  if (resolved.logger !== undefined && resolved.logger !== false && !isLogger(resolved.logger)) {
    throw new TypeError(`Expected \`options.logger\` to be a pino logger or false, ${received(resolved.logger)}`);
  }
  return resolved;
}

function resolvePreload(preload: unknown): string[] {
  if (preload === undefined) return [];
  if (!Array.isArray(preload)) throw new TypeError(`Expected \`options.workerPreload\` to be an array of file: URLs or absolute paths, ${received(preload)}`);
  return preload.map((module: unknown, index) => {
    const name = `options.workerPreload[${index}]`;
    const url = toModuleUrl(name, module);
    if (!existsSync(fileURLToPath(url))) throw new TypeError(`Expected \`${name}\` to name an existing module, but ${fileURLToPath(url)} does not exist`);
    return url;
  });
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
