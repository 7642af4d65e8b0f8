/**
 * The built-in actions as ready worker handlers, for `createTask` to run on a worker thread:
 * `manager.createTask('Download', actions.downloadFile, { args: { url, destination } })`.
 * Each names the built module of its action, beside this one.
 */
import { workerTask, type WorkerTask } from '../shared/handler.js';

/** The built-in actions as worker handlers. The task's `args` are the action's options. */
export interface BuiltInActions {
  /** Runs `downloadFile(task, args)`; `args` is a `DownloadFileOptions`. */
  readonly downloadFile: WorkerTask;
  /** Runs `reminderTimer(task, args)`; `args` is a `ReminderTimerOptions`. */
  readonly reminderTimer: WorkerTask;
  /** Runs `periodicHealthCheck(task, args)`; `args` is a `PeriodicHealthCheckOptions`. */
  readonly periodicHealthCheck: WorkerTask;
  /** Runs `batchWebSearch(task, args)`; `args` is a `BatchWebSearchOptions`. */
  readonly batchWebSearch: WorkerTask;
}

/**
 * The built-in actions, ready to pass to `createTask`. Their `args` are the options of the
 * action of the same name, exported from `taskloom/actions`.
 *
 * @example
 * import { TaskManager, actions } from 'taskloom';
 *
 * const manager = new TaskManager({ maxConcurrentTasks: 4, autoStart: true });
 * const id = manager.createTask('Download', actions.downloadFile, {
 *   args: { url: 'https://example.com/file.zip', destination: './downloads/file.zip' },
 * });
 * const task = await manager.waitFor(id);
 */
export const actions: BuiltInActions = Object.freeze({
  downloadFile: workerTask(new URL('./download-file.js', import.meta.url), 'downloadFile'),
  reminderTimer: workerTask(new URL('./reminder-timer.js', import.meta.url), 'reminderTimer'),
  periodicHealthCheck: workerTask(new URL('./periodic-health-check.js', import.meta.url), 'periodicHealthCheck'),
  batchWebSearch: workerTask(new URL('./batch-web-search.js', import.meta.url), 'batchWebSearch'),
});
