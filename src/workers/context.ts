/** The task context of a task that runs on a worker thread: what its handler gets as `task`. */
import { inspect } from 'node:util';
import type { MessagePort } from 'node:worker_threads';
import { checkProgress } from '../shared/validate.js';
import type { ManagerClient } from '../shared/client.js';
import { LOG_LEVELS, type TaskContext, type TaskLogger } from '../shared/context.js';
import type { LogLevelName, TaskRequest, WorkerMessage } from '../shared/messages.js';

/** The context of a task that runs on a worker thread. */
export class WorkerTaskContext implements TaskContext {
  readonly id: string;
  readonly name: string;
  readonly #dispatch: number;
  readonly #port: MessagePort;
  readonly #logLevel: number;
  /** Made on first use of `signal`: most handlers never look, and a signal per task is not free. */
  #controller: AbortController | undefined;
  #abortReason: unknown;
  #isAborted = false;
  readonly #openManager: (dispatch: number) => ManagerClient;
  #manager: ManagerClient | undefined;
  #progress = 0;
  #hasProgress = false;
  #isFlushScheduled = false;
  #hasEnded = false;
  #log: TaskLogger | undefined;

  constructor(request: TaskRequest, port: MessagePort, logLevel: number, openManager: (dispatch: number) => ManagerClient) {
    this.#openManager = openManager;
    this.id = request.id;
    this.name = request.name;
    this.#dispatch = request.dispatch;
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
    this.#manager ??= this.#openManager(this.#dispatch);
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
    const message: WorkerMessage = { type: 'progress', dispatch: this.#dispatch, value: this.#progress };
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
