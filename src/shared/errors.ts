/**
 * Every error class taskloom throws. Each has a stable `code` to branch on and a `name`
 * that shows in stack traces; wrapping errors pass the original as `cause`.
 *
 * Taskloom's errors carry a `Symbol.for('taskloom.error')` brand, and `instanceof` checks the
 * brand and the code rather than the prototype chain (as undici does with `kUndiciError`). So an
 * error revived on another thread, or made by another copy of the package, is still an
 * `instanceof UnknownTaskError`. Classes register their code with `registerErrorClass`, which is
 * also how a serialized error finds its class again (see `reviveError` in messages.ts).
 */

const BRAND = Symbol.for('taskloom.error');

/** Any error class: its constructor is never called on revival, so its parameters do not matter. */
export type ErrorClass = abstract new (...args: never[]) => Error;

/** Each registered class by its code, and each class's code. */
const classes = new Map<string, ErrorClass>();
const codes = new WeakMap<object, string>();

/**
 * Registers an error class under its stable code, so that errors with that code are revived as
 * instances of it and `instanceof` recognises them by code. Each module that declares error
 * classes registers them when it loads.
 */
export function registerErrorClass(code: string, Class: ErrorClass): void {
  classes.set(code, Class);
  codes.set(Class, code);
}

/** The class registered for `code`, if any. */
export function errorClassFor(code: string): ErrorClass | undefined {
  return classes.get(code);
}

/** Whether `value` is an error made by taskloom, by this copy of the package or another one. */
export function isTaskloomError(value: unknown): value is Error & { readonly code: string } {
  return typeof value === 'object' && value !== null && (value as { [BRAND]?: unknown })[BRAND] === true;
}

/** `instanceof Class`: the brand and the class's code, or for an unregistered class, its prototype chain. */
function isInstance(Class: object, value: unknown): boolean {
  if (Class === TaskloomError) return isTaskloomError(value);
  const code = codes.get(Class);
  if (code === undefined) return Function.prototype[Symbol.hasInstance].call(Class, value);
  return isTaskloomError(value) && value.code === code;
}

export class TaskloomError extends Error {
  readonly code: string;

  constructor(message: string, code: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'TaskloomError';
    this.code = code;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return isInstance(this, value);
  }
}

/** Thrown by createTask and friends once `stop()` has been called. */
export class ManagerStoppedError extends TaskloomError {
  static readonly code = 'TASKLOOM_MANAGER_STOPPED';
  readonly method: string;

  constructor(method: string) {
    super(`Cannot call ${method}(): the task manager has been stopped`, ManagerStoppedError.code);
    this.name = 'ManagerStoppedError';
    this.method = method;
  }
}

/** Rejects `waitFor` for an id that the manager does not know (never created, or dropped by retention). */
export class UnknownTaskError extends TaskloomError {
  static readonly code = 'TASKLOOM_UNKNOWN_TASK';
  readonly taskId: string;

  constructor(taskId: string) {
    super(`No task with id ${JSON.stringify(taskId)}: it was never created, or it has been removed`, UnknownTaskError.code);
    this.name = 'UnknownTaskError';
    this.taskId = taskId;
  }
}

/**
 * The reason `task.signal` is aborted with when a task is cancelled, by `cancelTask`, by a
 * parent's cancellation or by `stop()`. Its name is `AbortError`, as for any aborted operation.
 */
export class TaskCancelledError extends TaskloomError {
  static readonly code = 'TASKLOOM_TASK_CANCELLED';
  readonly taskId: string;

  constructor(taskId: string, why = 'the task was cancelled') {
    super(`Task ${taskId} was cancelled: ${why}`, TaskCancelledError.code);
    this.name = 'AbortError';
    this.taskId = taskId;
  }
}

/**
 * The reason `task.signal` is aborted with when a task runs past its `timeoutMs`. Its name is
 * `TimeoutError`, as for `AbortSignal.timeout()`.
 */
export class TaskTimeoutError extends TaskloomError {
  static readonly code = 'TASKLOOM_TASK_TIMEOUT';
  readonly taskId: string;
  readonly timeoutMs: number;

  constructor(taskId: string, timeoutMs: number) {
    super(`timed out after ${timeoutMs} ms`, TaskTimeoutError.code);
    this.name = 'TimeoutError';
    this.taskId = taskId;
    this.timeoutMs = timeoutMs;
  }
}

/** Thrown by createTask when `maxPendingTasks` tasks are already pending. */
export class QueueFullError extends TaskloomError {
  static readonly code = 'TASKLOOM_QUEUE_FULL';
  readonly maxPendingTasks: number;

  constructor(maxPendingTasks: number) {
    super(
      `Cannot create a task: ${maxPendingTasks} tasks are already pending (maxPendingTasks); await manager.whenReady() to wait for room`,
      QueueFullError.code,
    );
    this.name = 'QueueFullError';
    this.maxPendingTasks = maxPendingTasks;
  }
}

/**
 * Rejects a `waitFor` made from inside a handler that could never resolve: every slot is held
 * by a task that is itself waiting, so the task waited for could never start.
 */
export class DeadlockError extends TaskloomError {
  static readonly code = 'TASKLOOM_DEADLOCK';

  constructor(message: string) {
    super(message, DeadlockError.code);
    this.name = 'DeadlockError';
  }
}

/** Rejects a manager call made from a handler whose task has already ended (cancelled, say). */
export class CallerEndedError extends TaskloomError {
  static readonly code = 'TASKLOOM_CALLER_ENDED';

  constructor() {
    super('The calling task is no longer running, so it cannot create tasks', CallerEndedError.code);
    this.name = 'CallerEndedError';
  }
}

/** Rejects a `map` whose handler threw for one item (unless `settle` was set). */
export class MapItemError extends TaskloomError {
  static readonly code = 'TASKLOOM_MAP_ITEM_FAILED';
  /** The index of the item in the input. */
  readonly index: number;

  constructor(index: number, error: string, options?: ErrorOptions) {
    super(`item ${index} failed: ${error}`, MapItemError.code, options);
    this.name = 'MapItemError';
    this.index = index;
  }
}

/** Rejects a `map` whose input iterator threw (or rejected) while its items were read. */
export class MapInputError extends TaskloomError {
  static readonly code = 'TASKLOOM_MAP_INPUT_FAILED';

  constructor(cause: unknown) {
    super(`Reading the items of map() failed: ${errorMessage(cause)}`, MapInputError.code, { cause });
    this.name = 'MapInputError';
  }
}

/** A task's worker thread exited (`process.exit()` in a handler, say) while it ran the task. */
export class WorkerExitedError extends TaskloomError {
  static readonly code = 'TASKLOOM_WORKER_EXITED';
  readonly exitCode: number;

  constructor(exitCode: number, options?: ErrorOptions) {
    super(`the worker thread exited with code ${exitCode} while running the task`, WorkerExitedError.code, options);
    this.name = 'WorkerExitedError';
    this.exitCode = exitCode;
  }
}

/** A task's worker thread reached its heap limit (the manager's `resourceLimits`) and was ended. */
export class WorkerOutOfMemoryError extends TaskloomError {
  static readonly code = 'TASKLOOM_WORKER_OUT_OF_MEMORY';

  constructor(detail: string, options?: ErrorOptions) {
    super(`worker ran out of memory: ${detail}`, WorkerOutOfMemoryError.code, options);
    this.name = 'WorkerOutOfMemoryError';
  }
}

/** A task's worker thread failed under it in some other way than exiting or running out of memory. */
export class WorkerFailedError extends TaskloomError {
  static readonly code = 'TASKLOOM_WORKER_FAILED';

  constructor(message: string, options?: ErrorOptions) {
    super(message, WorkerFailedError.code, options);
    this.name = 'WorkerFailedError';
  }
}

/** A task's arguments (or a result that got past the worker's own check) could not be copied between threads. */
export class DataCloneFailedError extends TaskloomError {
  static readonly code = 'TASKLOOM_DATA_CLONE_FAILED';

  constructor(detail: string, options?: ErrorOptions) {
    super(`the task's arguments or result could not be cloned between threads: ${detail}`, DataCloneFailedError.code, options);
    this.name = 'DataCloneFailedError';
  }
}

/** A handler module could not be imported in the worker (it threw, or it does not exist). */
export class ModuleLoadError extends TaskloomError {
  static readonly code = 'TASKLOOM_MODULE_LOAD_FAILED';
  /** The module's file: URL. */
  readonly module: string;

  constructor(module: string, options: ErrorOptions & { cause: unknown }) {
    super(`Could not load worker module ${module}: ${errorMessage(options.cause)}`, ModuleLoadError.code, options);
    this.name = 'ModuleLoadError';
    this.module = module;
  }
}

/** A module of the `workerPreload` option failed when a worker imported it: every task on that worker fails. */
export class PreloadError extends TaskloomError {
  static readonly code = 'TASKLOOM_PRELOAD_FAILED';
  /** The module's file: URL. */
  readonly module: string;

  constructor(module: string, options: ErrorOptions & { cause: unknown }) {
    super(`Worker preload ${module} failed: ${errorMessage(options.cause)}`, PreloadError.code, options);
    this.name = 'PreloadError';
    this.module = module;
  }
}

/** A distributed manager could not reach Redis when it started: refused, unknown host, or no answer in time. */
export class RedisUnavailableError extends TaskloomError {
  static readonly code = 'TASKLOOM_REDIS_UNAVAILABLE';
  /** Where Redis was looked for, without any password: `redis://127.0.0.1:6379`. */
  readonly redis: string;

  constructor(redis: string, detail: string, options?: ErrorOptions) {
    super(`Could not reach Redis at ${redis}: ${detail}`, RedisUnavailableError.code, options);
    this.name = 'RedisUnavailableError';
    this.redis = redis;
  }
}

/** An optional package that a feature needs is not installed; the message says what to install. */
export class MissingDependencyError extends TaskloomError {
  static readonly code = 'TASKLOOM_MISSING_DEPENDENCY';
  readonly packageName: string;

  constructor(packageName: string, feature: string, install: string, options?: ErrorOptions) {
    super(`${feature} needs the package ${packageName}, which is not installed: run \`${install}\``, MissingDependencyError.code, options);
    this.name = 'MissingDependencyError';
    this.packageName = packageName;
  }
}

/**
 * A host that took a distributed task could not load its handler module: it does not exist
 * there, or cannot be resolved or imported. `host` names that process (`hostname:pid`).
 */
export class ModuleUnavailableError extends TaskloomError {
  static readonly code = 'TASKLOOM_MODULE_UNAVAILABLE';
  readonly host: string;
  readonly module: string;

  constructor(host: string, module: string, detail: string, options?: ErrorOptions) {
    super(`host ${host} could not load the handler module ${module}: ${detail}`, ModuleUnavailableError.code, options);
    this.name = 'ModuleUnavailableError';
    this.host = host;
    this.module = module;
  }
}

/**
 * A task of a journaled manager was running when its process ended (a crash, a kill), and the
 * manager that recovered it has `onInterrupted: 'fail'`: the task fails with this error.
 */
export class TaskInterruptedError extends TaskloomError {
  static readonly code = 'TASKLOOM_TASK_INTERRUPTED';
  readonly taskId: string;

  constructor(taskId: string) {
    super('interrupted: the process ended while this task ran', TaskInterruptedError.code);
    this.name = 'TaskInterruptedError';
    this.taskId = taskId;
  }
}

/**
 * A journal file that cannot be read as one: not a taskloom journal, corrupt or truncated. It is
 * left as it is, never replaced: move it away to start a new journal.
 */
export class JournalCorruptError extends TaskloomError {
  static readonly code = 'TASKLOOM_JOURNAL_CORRUPT';
  /** The journal file, as an absolute path. */
  readonly path: string;

  constructor(path: string, detail: string, options?: ErrorOptions) {
    super(
      `The journal ${path} cannot be used: ${detail}. It was left as it is; move it away to start a new journal.`,
      JournalCorruptError.code,
      options,
    );
    this.name = 'JournalCorruptError';
    this.path = path;
  }
}

/** A journal file that another process (or another manager of this one) has open: a lock, not corruption. */
export class JournalLockedError extends TaskloomError {
  static readonly code = 'TASKLOOM_JOURNAL_LOCKED';
  /** The journal file, as an absolute path. */
  readonly path: string;

  constructor(path: string, options?: ErrorOptions) {
    super(
      `The journal ${path} is in use by another process (or by another TaskManager in this one); it is locked until that one stops.`,
      JournalLockedError.code,
      options,
    );
    this.name = 'JournalLockedError';
    this.path = path;
  }
}

/** A journal that is sound but not for this use: written by another version of taskloom, or for another job file. */
export class JournalMismatchError extends TaskloomError {
  static readonly code = 'TASKLOOM_JOURNAL_MISMATCH';
  /** The journal file, as an absolute path. */
  readonly path: string;

  constructor(path: string, detail: string, options?: ErrorOptions) {
    super(`The journal ${path} ${detail}`, JournalMismatchError.code, options);
    this.name = 'JournalMismatchError';
    this.path = path;
  }
}

/** better-sqlite3, which the journal needs, is installed but cannot be loaded (built for another Node.js, say). */
export class JournalUnavailableError extends TaskloomError {
  static readonly code = 'TASKLOOM_JOURNAL_UNAVAILABLE';

  constructor(detail: string, options?: ErrorOptions) {
    super(
      `The journal needs better-sqlite3, which is installed but could not be loaded: ${detail}. Rebuild it for this Node.js: \`npm rebuild better-sqlite3\``,
      JournalUnavailableError.code,
      options,
    );
    this.name = 'JournalUnavailableError';
  }
}

/**
 * A handler module has no function under the export name a `workerTask` gives. A TypeError
 * (its `name` is `TypeError`), branded and coded like every other taskloom error.
 */
export class HandlerNotFoundError extends TypeError {
  static readonly code = 'TASKLOOM_HANDLER_NOT_FOUND';
  readonly code = HandlerNotFoundError.code;
  /** The module's file: URL. */
  readonly module: string;
  readonly exportName: string;

  constructor(module: string, exportName: string, found: unknown) {
    const what = found === undefined ? 'no such export' : `${typeof found === 'object' ? 'an' : 'a'} ${typeof found}`;
    super(`Worker module ${module} has no function export named \`${exportName}\` (found ${what})`);
    this.module = module;
    this.exportName = exportName;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return isInstance(this, value);
  }
}

/**
 * A handler returned a value that cannot be copied to the main thread: a function, a symbol,
 * a Promise... `path` says where in the result it is (`result.user.save`). A TypeError (its
 * `name` is `TypeError`), branded and coded like every other taskloom error.
 */
export class NotCloneableError extends TypeError {
  static readonly code = 'TASKLOOM_NOT_CLONEABLE';
  readonly code = NotCloneableError.code;
  readonly path: string;

  /** `problem` is a description such as "result.user.save is a function", which starts with `path`. */
  constructor(path: string, problem: string) {
    super(`The handler's result cannot be cloned to the main thread: ${problem}`);
    this.path = path;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return isInstance(this, value);
  }
}

const SHARED_CLASSES = [
  ManagerStoppedError,
  UnknownTaskError,
  TaskCancelledError,
  TaskTimeoutError,
  QueueFullError,
  DeadlockError,
  CallerEndedError,
  MapItemError,
  MapInputError,
  WorkerExitedError,
  WorkerOutOfMemoryError,
  WorkerFailedError,
  DataCloneFailedError,
  ModuleLoadError,
  PreloadError,
  RedisUnavailableError,
  MissingDependencyError,
  ModuleUnavailableError,
  TaskInterruptedError,
  JournalCorruptError,
  JournalLockedError,
  JournalMismatchError,
  JournalUnavailableError,
  HandlerNotFoundError,
  NotCloneableError,
];
for (const Class of SHARED_CLASSES) registerErrorClass(Class.code, Class);
// On the prototypes, not on each instance: an error revived without its constructor has it too.
for (const Class of [TaskloomError, HandlerNotFoundError, NotCloneableError]) {
  Object.defineProperty(Class.prototype, BRAND, { value: true });
}

/**
 * Failures taskloom reports about a run itself. Their message reads as a sentence of its own,
 * so a task's `error` shows it without the class name (see `describeError`).
 */
const SELF_DESCRIBED: ReadonlySet<string> = new Set([
  TaskTimeoutError.code,
  MapInputError.code,
  WorkerExitedError.code,
  WorkerOutOfMemoryError.code,
  WorkerFailedError.code,
  DataCloneFailedError.code,
  ModuleLoadError.code,
  PreloadError.code,
  TaskInterruptedError.code,
  ModuleUnavailableError.code,
]);

/** Whether an error with this code is shown by its message alone. */
export function isSelfDescribed(code: string | undefined): boolean {
  return code !== undefined && SELF_DESCRIBED.has(code);
}

/** The message of anything that was thrown: an Error's message, or the value as a string. */
export function errorMessage(thrown: unknown): string {
  return thrown instanceof Error ? thrown.message : String(thrown);
}
