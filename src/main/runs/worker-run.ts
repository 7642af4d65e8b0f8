/**
 * A run on a worker thread, through the pool. Its abort is a message to the worker, which aborts
 * the handler's signal; its hard stop terminates the worker (and the pool starts another).
 */
import { serializeError, type TaskOutcome, type TaskReply, type TaskRequest } from '../../shared/messages.js';
import type { WorkerTask } from '../../shared/handler.js';
import { hasMovedAway, resolveTransferList, type Movable } from '../../shared/transfer.js';
import type { KillSignal } from '../pool.js';
import { runFailure } from '../run-failure.js';
import { Run } from './run.js';

/**
 * What the runs handed to the pool list, until they settle. Piscina posts a run as soon as a thread
 * is free, but holds it while the pool's threads are still starting: a buffer is detached only
 * once its run is posted, and until then it must count as moving, or a second task listing it
 * would be posted with a buffer already gone, which the worker cannot read.
 */
const moving = new WeakSet<Movable>();

/** Why a transfer list can no longer be sent, if it cannot: what it lists has moved away since, or is moving. */
function transferProblem(list: readonly Movable[]): Error | undefined {
  const taken = list.findIndex((movable) => moving.has(movable));
  if (taken !== -1) {
    return new TypeError(
      `Expected \`options.transfer[${taken}]\` to be an ArrayBuffer or MessagePort that can move, but another task is moving it to a worker`,
    );
  }
  // createTask checked the list: all that can have changed since is a buffer moved away.
  if (!list.some(hasMovedAway)) return undefined;
  try {
    resolveTransferList('options.transfer', list);
    return undefined;
  } catch (error) {
    return error as Error;
  }
}

/**
 * A WorkerRun is also the signal Piscina is given for it: the cheapest object Piscina takes (it
 * listens with `once`), where an AbortController per task would cost more than the dispatch.
 */
export class WorkerRun extends Run implements KillSignal {
  /** Piscina's listener: calling it makes Piscina terminate the run's worker. */
  #onKill: (() => void) | undefined = undefined;
  /** What the run moves, counted as moving until it ends. */
  #moving: readonly Movable[] | undefined = undefined;

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
    const { transfer } = record;
    this.host.pool.run(request, this, transfer).then(
      (outcome) => this.#settle(handler, outcome),
      (error: unknown) => this.end({ ok: false, error: runFailure(error), progress: undefined }),
    );
    if (transfer === undefined) return;
    // Handed over: what it lists moves with the run, and is the worker's from then on.
    for (const movable of transfer) moving.add(movable);
    this.#moving = transfer;
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
    if (this.#moving !== undefined) {
      for (const movable of this.#moving) moving.delete(movable);
      this.#moving = undefined;
    }
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
