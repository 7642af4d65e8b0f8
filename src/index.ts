export { TaskManager } from './main/manager.js';
export { workerTask, isWorkerTask } from './main/handler.js';
export { connectPort as connectManager } from './workers/manager-channel.js';
export { TaskState } from './main/task.js';
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
} from './main/errors.js';
export { MapRun } from './main/batch.js';

export type { TaskManagerOptions } from './main/options.js';
export type { RetryOptions } from './main/retry.js';
export type { MapOptions, Settled } from './main/batch.js';
export type { CreateTaskOptions, TaskEventType, TaskEventCallback } from './main/manager.js';
export type { Handler, TaskHandler, WorkerTask } from './main/handler.js';
export type { Task, TaskStats, FinalTaskState } from './main/task.js';
export type { TaskManagerEvents, TaskEventName } from './main/task-table.js';
export type { TaskContext, TaskLogger } from './workers/context.js';
export type { ManagerClient, ConnectedManager } from './workers/manager-client.js';
