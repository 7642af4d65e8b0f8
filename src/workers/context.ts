/** The task context of a task that runs on a worker thread: what its handler gets as `task`. */
import { inspect } from 'node:util';
import type { MessagePort } from 'node:worker_threads';
import { checkProgress } from '../shared/validate.js';
import type { ManagerClient } from '../shared/client.js';
import { LOG_LEVELS, type TaskContext, type TaskLogger } from '../shared/context.js';
import type { LogLevelName, WorkerMessage } from '../shared/messages.js';
import type { Movable } from '../shared/transfer.js';

/** What every task on this worker shares, set up by the entry when the worker loads. */
export interface WorkerSetup {
  /** pino's numeric level of the manager's logger: lines below it are not sent. */
  readonly logLevel: number;
  /** Why every task on this worker fails: a `workerPreload` module that failed. */
  readonly preloadFailure: Error | undefined;
  /** The manager's client for the run with this dispatch number. */
  openManager(dispatch: number): ManagerClient;
}

/** What a context reaches back to: the run of one task, or the batch the task is an item of. */
export interface ContextHost {
  /** The worker's control port, for log lines. */
  readonly port: MessagePort;
  /** pino's numeric level of the manager's logger: lines below it are not sent. */
  readonly logLevel: number;
  /** The handler set `task.progress`: tell the main thread (called once per tick at most). */
  progress(context: WorkerTaskContext, value: number): void;
  /** The handler touched `task.manager`: the manager's client for this task. */
  manager(context: WorkerTaskContext): ManagerClient;
}

/** The context of a task that runs on a worker thread. */
export class WorkerTaskContext implements TaskContext {
  readonly id: string;
  readonly name: string;
  /** The dispatch number of this run of the task. */
  readonly dispatch: number;
  /** The async id that marks the start of the handler (see task-scope.ts). */
  mark = 0;
  /** What the handler's result moves to the main thread rather than copies, if it said so with transfer(). */
  transfer: Movable[] | undefined = undefined;
  readonly #host: ContextHost;
  /** Made on first use of `signal`: most handlers never look, and a signal per task is not free. */
  #controller: AbortController | undefined = undefined;
  #abortReason: unknown = undefined;
  #isAborted = false;
  #manager: ManagerClient | undefined = undefined;
  #progress = 0;
  #hasProgress = false;
  #isFlushScheduled = false;
  #hasEnded = false;
  #log: TaskLogger | undefined = undefined;

  constructor(dispatch: number, id: string, name: string, host: ContextHost) {
    this.dispatch = dispatch;
    this.id = id;
    this.name = name;
    this.#host = host;
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
      queueMicrotask(() => {
        this.#isFlushScheduled = false;
        // The final value travels with the outcome, so a flush after the end would only be dropped.
        if (!this.#hasEnded) this.#host.progress(this, this.#progress);
      });
    }
  }

  get log(): TaskLogger {
    this.#log ??= createPortLogger(this.#host.port, this.id, this.name, this.#host.logLevel);
    return this.#log;
  }

  get manager(): ManagerClient {
    this.#manager ??= this.#host.manager(this);
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
}

/** A logger whose lines go to the main thread on `port`, tagged with the task's id and name. */
export function createPortLogger(port: MessagePort, id: string, name: string, threshold: number): TaskLogger {
  const send = (level: LogLevelName, fieldsOrMsg: object | string, msg?: string): void => {
    if (LOG_LEVELS[level] < threshold) return;
    const fields = typeof fieldsOrMsg === 'string' ? undefined : normaliseFields(fieldsOrMsg);
    const text = typeof fieldsOrMsg === 'string' ? fieldsOrMsg : msg;
    const message: WorkerMessage = { type: 'log', id, name, level, msg: text, fields };
    try {
      port.postMessage(message);
    } catch {
      // Fields that cannot be cloned (a function, say) still reach the log, as text.
      port.postMessage({ ...message, fields: { unclonableFields: inspect(fieldsOrMsg, { depth: 2, breakLength: Infinity }) } });
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
