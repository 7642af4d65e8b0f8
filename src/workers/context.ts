/**
 * The task context: the first argument of every handler, on a worker thread or on the main
 * thread. This file holds its public shape and the worker thread's implementation.
 */
import type { MessagePort } from 'node:worker_threads';
import { checkProgress } from '../main/validate.js';
import type { ManagerClient } from './manager-client.js';
import type { LogLevelName, TaskRequest, WorkerMessage } from './messages.js';

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

/** The context of a task that runs on a worker thread. */
export class WorkerTaskContext implements TaskContext {
  readonly id: string;
  readonly name: string;
  readonly #run: number;
  readonly #port: MessagePort;
  readonly #logLevel: number;
  /** Made on first use of `signal`: most handlers never look, and a signal per task is not free. */
  #controller: AbortController | undefined;
  #abortReason: unknown;
  #isAborted = false;
  readonly #openManager: (runKey: number) => ManagerClient;
  #manager: ManagerClient | undefined;
  #progress = 0;
  #hasProgress = false;
  #isFlushScheduled = false;
  #hasEnded = false;
  #log: TaskLogger | undefined;

  constructor(request: TaskRequest, port: MessagePort, logLevel: number, openManager: (runKey: number) => ManagerClient) {
    this.#openManager = openManager;
    this.id = request.id;
    this.name = request.name;
    this.#run = request.run;
    this.#port = port;
    this.#logLevel = logLevel;
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#isAborted) this.#controller.abort(this.#abortReason);
    }
    return this.#controller.signal;
  }

  get progress(): number {
    return this.#progress;
  }

  set progress(value: number) {
    checkProgress('task.progress', value);
    this.#progress = value;
    this.#hasProgress = true;
    if (!this.#isFlushScheduled) {
      this.#isFlushScheduled = true;
      queueMicrotask(() => this.#flushProgress());
    }
  }

  get log(): TaskLogger {
    this.#log ??= createPortLogger(this.#port, this.id, this.name, this.#logLevel);
    return this.#log;
  }

  get manager(): ManagerClient {
    this.#manager ??= this.#openManager(this.#run);
    return this.#manager;
  }

  abort(reason: unknown): void {
    if (this.#isAborted) return;
    this.#isAborted = true;
    this.#abortReason = reason;
    this.#controller?.abort(reason);
  }

  /** Throws the abort reason if the run was aborted: checked before the handler starts. */
  throwIfAborted(): void {
    if (this.#isAborted) throw this.#abortReason;
  }

  /** Marks the run as over and returns the last progress the handler set, if it set any. */
  end(): number | undefined {
    this.#hasEnded = true;
    return this.#hasProgress ? this.#progress : undefined;
  }

  #flushProgress(): void {
    this.#isFlushScheduled = false;
    // The final value travels with the outcome, so a flush after the end would only be dropped.
    if (this.#hasEnded) return;
    const message: WorkerMessage = { type: 'progress', run: this.#run, value: this.#progress };
    this.#port.postMessage(message);
  }
}

function createPortLogger(port: MessagePort, id: string, name: string, threshold: number): TaskLogger {
  const send = (level: LogLevelName, fieldsOrMsg: object | string, msg?: string): void => {
    if (LOG_LEVELS[level] < threshold) return;
    const fields = typeof fieldsOrMsg === 'string' ? undefined : normaliseFields(fieldsOrMsg);
    const text = typeof fieldsOrMsg === 'string' ? fieldsOrMsg : msg;
    const message: WorkerMessage = { type: 'log', id, name, level, msg: text, fields };
    try {
      port.postMessage(message);
    } catch {
      // Fields that cannot be cloned (a function, say) still reach the log, as text.
      port.postMessage({ ...message, fields: { unclonableFields: String(fieldsOrMsg) } });
    }
  };
  return {
    trace: (a, b) => send('trace', a, b),
    debug: (a, b) => send('debug', a, b),
    info: (a, b) => send('info', a, b),
    warn: (a, b) => send('warn', a, b),
    error: (a, b) => send('error', a, b),
    fatal: (a, b) => send('fatal', a, b),
  };
}

/** pino logs a bare Error as `{ err }`; do the same so that it survives the trip. */
function normaliseFields(fields: object): Record<string, unknown> {
  if (fields instanceof Error) return { err: fields };
  return fields as Record<string, unknown>;
}
