/**
 * A run on a worker thread, through the pool. Its abort is a message to the worker, which aborts
 * the handler's signal; its hard stop terminates the worker (and the pool starts another).
 */
import { serializeError, type TaskOutcome, type TaskRequest } from '../../shared/messages.js';
import type { WorkerTask } from '../../shared/handler.js';
import type { KillSignal } from '../pool.js';
import { runFailure } from '../run-failure.js';
import { Run } from './run.js';

/**
 * A WorkerRun is also the signal Piscina is given for it: the cheapest object Piscina takes (it
 * listens with `once`), where an AbortController per task would cost more than the dispatch.
 */
export class WorkerRun extends Run implements KillSignal {
  /** Piscina's listener: calling it makes Piscina terminate the run's worker. */
  #onKill: (() => void) | undefined = undefined;

  protected launch(): void {
    const { record, dispatch } = this;
    const { module, exportName } = record.handler as WorkerTask;
    const request: TaskRequest = { dispatch, id: record.id, name: record.name, module, exportName, args: record.args };
    this.host.pool.run(request, this).then(
      (outcome) => this.end(outcome),
      (error: unknown) => this.end({ ok: false, error: runFailure(error), progress: undefined }),
    );
  }

  protected interrupt(reason: Error): void {
    // Sent even before the run has reached its worker: the worker keeps it until the task arrives.
    this.host.pool.abort(this.dispatch, serializeError(reason));
  }

  protected kill(): void {
    const onKill = this.#onKill;
    this.#onKill = undefined;
    // Piscina then rejects the run's promise, which ends the run.
    onKill?.();
  }

  protected override end(outcome: TaskOutcome): void {
    this.host.pool.settled(this.dispatch);
    super.end(outcome);
  }

  once(_event: 'abort', listener: () => void): void {
    this.#onKill = listener;
  }

  off(): void {
    this.#onKill = undefined;
  }

  removeListener(): void {
    this.#onKill = undefined;
  }
}
