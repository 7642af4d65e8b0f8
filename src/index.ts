export { TaskManager } from './main/manager.js';
export { workerTask, isWorkerTask } from './shared/handler.js';
export { transfer } from './shared/transfer.js';
export { connectPort as connectManager } from './workers/manager-channel.js';
export { TaskState } from './shared/task.js';
export { actions } from './actions/handlers.js';
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
  TaskInterruptedError,
  JournalCorruptError,
  JournalLockedError,
  JournalMismatchError,
  JournalUnavailableError,
  MissingDependencyError,
  isTaskloomError,
} from './shared/errors.js';
export { MapRun } from './main/batch.js';

export type { TaskManagerOptions } from './main/options.js';
export type { MapOptions, Settled } from './main/batch.js';
export type { TaskEventType, TaskEventCallback } from './main/manager.js';
export type { Handler, TaskHandler, WorkerTask, HandlerExports, HandlerArgs, HandlerResult } from './shared/handler.js';
export type { Transferable } from './shared/transfer.js';
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
export type { TaskManagerEvents, TaskEventName } from './main/task-table.js';
export type { Dashboard, DashboardOptions } from './dashboard/options.js';
export type { TaskContext, TaskLogger } from './shared/context.js';
export type { SerializedError } from './shared/messages.js';
export type { ManagerClient, ConnectedManager } from './shared/client.js';
