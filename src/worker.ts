/**
 * `taskloom/worker`: what a handler module imports. It loads nothing but this package's shared
 * code (no pool, no logger, no comlink), so a worker that imports it starts as fast as it can.
 */
export { workerTask, isWorkerTask } from './shared/handler.js';
export { TaskState } from './shared/task.js';
export {
  TaskloomError,
  ManagerStoppedError,
  UnknownTaskError,
  TaskCancelledError,
  TaskTimeoutError,
  QueueFullError,
  DeadlockError,
  CallerEndedError,
  MapItemError,
} from './shared/errors.js';

export type { Handler, TaskHandler, WorkerTask } from './shared/handler.js';
export type { TaskContext, TaskLogger } from './shared/context.js';
export type { ManagerClient } from './shared/client.js';
export type { Task, TaskStats, FinalTaskState, CreateTaskOptions, RetryOptions } from './shared/task.js';
