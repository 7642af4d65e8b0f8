/**
 * Starting a run: on a worker through the pool, or a function handler on the main thread.
 * Either way the caller hears how it ended exactly once, through `settle`.
 */
import type { Logger } from 'pino';
import type { ManagerClient } from '../shared/client.js';
import { serializeError, type TaskOutcome, type TaskRequest } from '../shared/messages.js';
import { MainTaskContext, runOnMainThread } from './main-context.js';
import { describeRunFailure, RunKill, type WorkerPool } from './pool.js';
import type { RunState, TaskRecord } from './task-record.js';

/** How a run ended: its outcome, or (when its worker failed under it) what happened. */
export type Settle = (outcome: TaskOutcome | undefined, failure?: string) => void;

export class Launcher {
  readonly #pool: WorkerPool;
  readonly #logger: Logger;
  readonly #managerClient: (runKey: number) => ManagerClient;
  #lastKey = 0;

  constructor(pool: WorkerPool, logger: Logger, managerClient: (runKey: number) => ManagerClient) {
    this.#pool = pool;
    this.#logger = logger;
    this.#managerClient = managerClient;
  }

  /** The run of a task's next attempt, with a dispatch number of its own. */
  newRun(record: TaskRecord): RunState {
    this.#lastKey = this.#lastKey === 0x7fffffff ? 1 : this.#lastKey + 1;
    return {
      key: this.#lastKey,
      stopReason: undefined,
      controller: undefined,
      kill: typeof record.handler === 'function' ? undefined : new RunKill(),
      graceTimer: undefined,
      timeoutTimer: undefined,
    };
  }

  launch(record: TaskRecord, run: RunState, report: (progress: number) => void, settle: Settle): void {
    const { handler } = record;
    if (typeof handler !== 'function') {
      const request: TaskRequest = {
        run: run.key,
        id: record.id,
        name: record.name,
        module: handler.module,
        exportName: handler.exportName,
        args: record.args,
      };
      this.#pool.run(request, run.kill!).then(settle, (error: unknown) => settle(undefined, describeRunFailure(error)));
    } else if (run.stopReason !== undefined) {
      // Cancelled by a 'started' listener before it could begin.
      queueMicrotask(() => settle(undefined, 'cancelled before it started'));
    } else {
      const context = new MainTaskContext(record, run, this.#logger, { report, manager: () => this.#managerClient(run.key) });
      runOnMainThread(
        handler,
        context,
        record.args,
        (value) => settle({ ok: true, value, progress: undefined }),
        (error) => settle({ ok: false, error: serializeError(error), progress: undefined }),
      );
    }
  }
}
