/**
 * The task context's public shape: the first argument of every handler, on a worker thread or
 * on the main thread.
 */
import type { ManagerClient } from './client.js';
import type { LogLevelName } from './messages.js';

/** A pino-style logger: `log.info('text')` or `log.info({ some: 'fields' }, 'text')`. */
export interface TaskLogger {
  trace(fieldsOrMsg: object | string, msg?: string): void;
  debug(fieldsOrMsg: object | string, msg?: string): void;
  info(fieldsOrMsg: object | string, msg?: string): void;
  warn(fieldsOrMsg: object | string, msg?: string): void;
  error(fieldsOrMsg: object | string, msg?: string): void;
  fatal(fieldsOrMsg: object | string, msg?: string): void;
}

/** What a handler gets as its first argument. */
export interface TaskContext {
  /** The task's id, as returned by `createTask`. */
  readonly id: string;
  /** The task's name. */
  readonly name: string;
  /**
   * Aborted when the task is cancelled (by `cancelTask` or `stop()`). Handlers should pass it
   * to whatever they await, or check it between steps, and return promptly once it aborts.
   */
  readonly signal: AbortSignal;
  /**
   * The task's progress, from 0 to 100. Setting it reports progress to the manager:
   * `task.progress = 50`. Settings made in one tick reach the manager as one update.
   */
  progress: number;
  /** A logger whose lines reach the manager's logger tagged with the task's id and name. */
  readonly log: TaskLogger;
  /**
   * The manager, from inside the handler: create child tasks (their `parentId` is this task's
   * id), query tasks and stats, and wait for tasks. On a worker the channel to the manager is
   * opened on first use, once per worker; a handler that never touches it pays nothing.
   */
  readonly manager: ManagerClient;
}

export const LOG_LEVELS: Readonly<Record<LogLevelName, number>> = {
  trace: 10,
  debug: 20,
  info: 30,
  warn: 40,
  error: 50,
  fatal: 60,
};
