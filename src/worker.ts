/**
 * `taskloom/worker`: what a handler module imports. It loads nothing but this package's shared
 * code (no pool, no logger, no comlink), so a worker that imports it starts as fast as it can.
 */
export { workerTask, isWorkerTask } from './shared/handler.js';
export { transfer } from './shared/transfer.js';
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
  MapInputError,
  WorkerExitedError,
  WorkerOutOfMemoryError,
  WorkerFailedError,
  DataCloneFailedError,
  ModuleLoadError,
  PreloadError,
  HandlerNotFoundError,
  NotCloneableError,
  isTaskloomError,
} from './shared/errors.js';

export type { Handler, TaskHandler, WorkerTask, HandlerExports, HandlerArgs, HandlerResult } from './shared/handler.js';
export type { Transferable } from './shared/transfer.js';
export type { TaskContext, TaskLogger } from './shared/context.js';
export type { SerializedError } from './shared/messages.js';
export type { ManagerClient } from './shared/client.js';
export type {
  Task,
  TaskFailure,
  TaskId,
  TaskStats,
  TaskCounts,
  TimingFigures,
  FinalTaskState,
  CreateTaskOptions,
  RetryOptions,
} from './shared/task.js';
