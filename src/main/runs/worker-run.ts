/**
 * A run on a worker thread, through the pool. Its abort is a message to the worker, which aborts
 * the handler's signal; its hard stop terminates the worker (and the pool starts another).
 */
import { serializeError, type TaskOutcome, type TaskReply, type TaskRequest } from '../../shared/messages.js';
import type { WorkerTask } from '../../shared/handler.js';
import { isDetached, resolveTransferList, type Movable } from '../../shared/transfer.js';
import type { KillSignal } from '../pool.js';
import { runFailure } from '../run-failure.js';
import { Run } from './run.js';

/** Why a transfer list can no longer be sent, if it cannot: what it lists has moved away since. */
function transferProblem(list: readonly Movable[]): Error | undefined {
  // createTask checked the list: all that can have changed since is a buffer moved away.
  if (!list.some(hasMovedAway)) return undefined;
  try {
    resolveTransferList('options.transfer', list);
    return undefined;
  } catch (error) {
    return error as Error;
  }
}

function hasMovedAway(movable: Movable): boolean {
  return movable instanceof ArrayBuffer && isDetached(movable);
}

/**
 * A WorkerRun is also the signal Piscina is given for it: the cheapest object Piscina takes (it
 * listens with `once`), where an AbortController per task would cost more than the dispatch.
 */
export class WorkerRun extends Run implements KillSignal {
  /** Piscina's listener: calling it makes Piscina terminate the run's worker. */
  #onKill: (() => void) | undefined = undefined;

  protected launch(): void {
    const { record, dispatch } = this;
    const handler = record.handler as WorkerTask;
    const problem = record.transfer === undefined ? undefined : transferProblem(record.transfer);
    if (problem !== undefined) {
      // What it lists has moved away since createTask (another task took it): it cannot be sent.
      queueMicrotask(() => this.end({ ok: false, error: serializeError(problem), progress: undefined }));
      return;
    }
    const request: TaskRequest = [dispatch, record.id, record.name, handler.module, handler.exportName, record.args];
    this.host.pool.run(request, this, record.transfer).then(
      (outcome) => this.#settle(handler, outcome),
      (error: unknown) => this.end({ ok: false, error: runFailure(error), progress: undefined }),
    );
    // Sent: what it listed has moved, and is held by the worker now.
    record.transfer = undefined;
  }

  #settle(handler: WorkerTask, reply: TaskReply): void {
    this.host.measured(handler, reply[3], 1);
    this.end(reply[0] ? { ok: true, value: reply[1], progress: reply[2] } : { ok: false, error: reply[1], progress: reply[2] });
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
