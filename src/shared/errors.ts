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

/** The message of anything that was thrown: an Error's message, or the value as a string. */
export function errorMessage(thrown: unknown): string {
  return thrown instanceof Error ? thrown.message : String(thrown);
}
