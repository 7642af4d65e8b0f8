/**
 * A run of a function handler on the main thread. Its abort aborts the handler's signal; there
 * is no hard stop for code on the main thread, so once the grace period is over its slot is
 * freed with a warning, whatever the handler still does.
 */
import type { ManagerClient } from '../../shared/client.js';
import type { TaskContext, TaskLogger } from '../../shared/context.js';
import type { TaskHandler } from '../../shared/handler.js';
import { serializeError } from '../../shared/messages.js';
import { isTransferMarker } from '../../shared/transfer.js';
import { checkProgress } from '../../shared/validate.js';
import { Run, type RunHost } from './run.js';

export class MainThreadRun extends Run {
  /** The controller of the handler's `task.signal`, made on first use: most handlers never look. */
  #controller: AbortController | undefined = undefined;

  /** The handler's `task.signal`. */
  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.stopReason !== undefined) this.#controller.abort(this.stopReason);
    }
    return this.#controller.signal;
  }

  protected launch(): void {
    if (this.stopReason !== undefined) {
      // Stopped by a 'started' listener before it could begin.
      queueMicrotask(() => this.end(this.stoppedOutcome()));
      return;
    }
    const handler = this.record.handler as TaskHandler;
    let returned: unknown;
    try {
      returned = handler(new MainTaskContext(this, this.host), this.record.args);
    } catch (error) {
      // A handler that throws synchronously ends like one that rejects.
      returned = Promise.reject(error);
    }
    Promise.resolve(returned).then(
      // transfer() moves nothing on the thread the result is already on: the value is the result.
      (value) => this.end({ ok: true, value: isTransferMarker(value) ? value.value : value, progress: undefined }),
      (error: unknown) => this.end({ ok: false, error: serializeError(error), progress: undefined }),
    );
  }

  protected interrupt(reason: Error): void {
    this.#controller?.abort(reason);
  }

  protected kill(): void {
    const { record, host } = this;
    host.logger.warn(
      { taskId: record.id, taskName: record.name, graceMs: host.cancelGraceMs },
      'a main-thread handler did not stop within the grace period; its slot is freed',
    );
    this.end(this.stoppedOutcome());
  }
}

/** What a function handler gets as `task`. */
class MainTaskContext implements TaskContext {
  readonly #run: MainThreadRun;
  readonly #host: RunHost;
  #log: TaskLogger | undefined;
  #manager: ManagerClient | undefined;

  constructor(run: MainThreadRun, host: RunHost) {
    this.#run = run;
    this.#host = host;
  }

  get id(): string {
    return this.#run.record.id;
  }

  get name(): string {
    return this.#run.record.name;
  }

  get signal(): AbortSignal {
    return this.#run.signal;
  }

  get progress(): number {
    return this.#run.record.progress;
  }

  set progress(value: number) {
    checkProgress('task.progress', value);
    this.#run.progress(value);
  }

  get log(): TaskLogger {
    const { record } = this.#run;
    this.#log ??= this.#host.logger.child({ taskId: record.id, taskName: record.name }) as unknown as TaskLogger;
    return this.#log;
  }

  /** The manager itself, called directly on behalf of this run: no port, no copies. */
  get manager(): ManagerClient {
    this.#manager ??= this.#host.managerClient(this.#run.dispatch);
    return this.#manager;
  }
}
