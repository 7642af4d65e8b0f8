/**
 * Every error class taskloom throws. Each has a stable `code` to branch on and a `name`
 * that shows in stack traces; wrapping errors pass the original as `cause`.
 */

export class TaskloomError extends Error {
  readonly code: string;

  constructor(message: string, code: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'TaskloomError';
    this.code = code;
  }
}

/** Thrown by createTask and friends once `stop()` has been called. */
export class ManagerStoppedError extends TaskloomError {
  constructor(method: string) {
    super(`Cannot call ${method}(): the task manager has been stopped`, 'TASKLOOM_MANAGER_STOPPED');
    this.name = 'ManagerStoppedError';
  }
}

/** Rejects `waitFor` for an id that the manager does not know (never created, or dropped by retention). */
export class UnknownTaskError extends TaskloomError {
  readonly taskId: string;

  constructor(taskId: string) {
    super(`No task with id ${JSON.stringify(taskId)}: it was never created, or it has been removed`, 'TASKLOOM_UNKNOWN_TASK');
    this.name = 'UnknownTaskError';
    this.taskId = taskId;
  }
}

/**
 * The reason `task.signal` is aborted with when a task is cancelled, by `cancelTask`, by a
 * parent's cancellation or by `stop()`. Its name is `AbortError`, as for any aborted operation.
 */
export class TaskCancelledError extends TaskloomError {
  readonly taskId: string;

  constructor(taskId: string, why = 'the task was cancelled') {
    super(`Task ${taskId} was cancelled: ${why}`, 'TASKLOOM_TASK_CANCELLED');
    this.name = 'AbortError';
    this.taskId = taskId;
  }
}

/**
 * The reason `task.signal` is aborted with when a task runs past its `timeoutMs`. Its name is
 * `TimeoutError`, as for `AbortSignal.timeout()`.
 */
export class TaskTimeoutError extends TaskloomError {
  readonly taskId: string;
  readonly timeoutMs: number;

  constructor(taskId: string, timeoutMs: number) {
    super(`timed out after ${timeoutMs} ms`, 'TASKLOOM_TASK_TIMEOUT');
    this.name = 'TimeoutError';
    this.taskId = taskId;
    this.timeoutMs = timeoutMs;
  }
}

/** Thrown by createTask when `maxPendingTasks` tasks are already pending. */
export class QueueFullError extends TaskloomError {
  readonly maxPendingTasks: number;

  constructor(maxPendingTasks: number) {
    super(
      `Cannot create a task: ${maxPendingTasks} tasks are already pending (maxPendingTasks); await manager.whenReady() to wait for room`,
      'TASKLOOM_QUEUE_FULL',
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
  constructor(message: string) {
    super(message, 'TASKLOOM_DEADLOCK');
    this.name = 'DeadlockError';
  }
}

/** Rejects a manager call made from a handler whose task has already ended (cancelled, say). */
export class CallerEndedError extends TaskloomError {
  constructor() {
    super('The calling task is no longer running, so it cannot create tasks', 'TASKLOOM_CALLER_ENDED');
    this.name = 'CallerEndedError';
  }
}

/** Rejects a `map` whose handler threw for one item (unless `settle` was set). */
export class MapItemError extends TaskloomError {
  /** The index of the item in the input. */
  readonly index: number;

  constructor(index: number, error: string) {
    super(`item ${index} failed: ${error}`, 'TASKLOOM_MAP_ITEM_FAILED');
    this.name = 'MapItemError';
    this.index = index;
  }
}

/** A built-in action's HTTP request got an answer outside the statuses it accepts. */
export class HttpStatusError extends TaskloomError {
  readonly status: number;
  readonly url: string;

  constructor(url: string, status: number, statusText: string, hint = '') {
    super(`GET ${url} answered ${status}${statusText === '' ? '' : ` ${statusText}`}${hint}`, 'TASKLOOM_HTTP_STATUS');
    this.name = 'HttpStatusError';
    this.status = status;
    this.url = url;
  }
}

/** A built-in action's HTTP request failed before a complete answer arrived: refused, reset, unreachable. */
export class HttpRequestError extends TaskloomError {
  readonly url: string;

  constructor(url: string, options: ErrorOptions & { cause: unknown }) {
    super(`GET ${url} failed: ${describeCause(options.cause)}`, 'TASKLOOM_HTTP_REQUEST', options);
    this.name = 'HttpRequestError';
    this.url = url;
  }
}

/** A built-in action's HTTP request went quiet for longer than its `timeoutMs`. */
export class HttpTimeoutError extends TaskloomError {
  readonly url: string;
  readonly timeoutMs: number;

  constructor(url: string, timeoutMs: number, what = 'no data arrived for') {
    super(`GET ${url} timed out: ${what} ${timeoutMs} ms`, 'TASKLOOM_HTTP_TIMEOUT');
    this.name = 'HttpTimeoutError';
    this.url = url;
    this.timeoutMs = timeoutMs;
  }
}

/** A response body ended before all the bytes its content-length announced had arrived. */
export class IncompleteBodyError extends TaskloomError {
  readonly url: string;
  readonly bytes: number;
  readonly expectedBytes: number;

  constructor(url: string, bytes: number, expectedBytes: number, options?: ErrorOptions) {
    const why = options?.cause instanceof Error ? ` (${options.cause.message})` : '';
    super(`GET ${url}: the body ended after ${bytes} of ${expectedBytes} bytes${why}`, 'TASKLOOM_BODY_INCOMPLETE', options);
    this.name = 'IncompleteBodyError';
    this.url = url;
    this.bytes = bytes;
    this.expectedBytes = expectedBytes;
  }
}

/** A response body is larger than the caller's `maxBytes`. */
export class BodyTooLargeError extends TaskloomError {
  readonly url: string;
  readonly maxBytes: number;

  constructor(url: string, maxBytes: number, announced?: number) {
    const what = announced === undefined ? `the body grew past` : `the body's content-length, ${announced} bytes, is over`;
    super(`GET ${url}: ${what} \`maxBytes\` (${maxBytes} bytes)`, 'TASKLOOM_BODY_TOO_LARGE');
    this.name = 'BodyTooLargeError';
    this.url = url;
    this.maxBytes = maxBytes;
  }
}

/** batchWebSearch was given no search endpoint, by option or by environment. */
export class MissingSearchEndpointError extends TaskloomError {
  constructor() {
    super(
      'No search endpoint: pass `options.endpoint` or set the TASKLOOM_SEARCH_URL environment variable to a URL ' +
        "template with {query}, for a SearXNG instance such as 'http://localhost:8888/search?q={query}&format=json'",
      'TASKLOOM_NO_SEARCH_ENDPOINT',
    );
    this.name = 'MissingSearchEndpointError';
  }
}

/** The most telling text of a low-level error: its message, or its code when the message is empty. */
function describeCause(cause: unknown): string {
  if (!(cause instanceof Error)) return String(cause);
  const code = (cause as { code?: unknown }).code;
  if (cause.message !== '') return cause.message;
  if (cause instanceof AggregateError && cause.errors[0] instanceof Error) return describeCause(cause.errors[0]);
  return typeof code === 'string' ? code : cause.name;
}

/**
 * A job file that cannot be run. `problems` lists every problem found, each naming the file,
 * the job (its index in a JSON file, its line in an NDJSON file) and the field.
 */
export class JobFileError extends TaskloomError {
  readonly file: string;
  readonly problems: readonly string[];

  constructor(file: string, problems: readonly string[], options?: ErrorOptions) {
    const shown = problems.length === 1 ? (problems[0] ?? '') : `${problems.length} problems:\n  ${problems.join('\n  ')}`;
    super(`Invalid job file ${file}: ${shown}`, 'TASKLOOM_INVALID_JOB_FILE', options);
    this.name = 'JobFileError';
    this.file = file;
    this.problems = problems;
  }
}

/** A bad command-line argument that commander cannot check by itself (a missing folder for --out, say). */
export class UsageError extends TaskloomError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, 'TASKLOOM_USAGE', options);
    this.name = 'UsageError';
  }
}
