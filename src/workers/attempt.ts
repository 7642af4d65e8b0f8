/**
 * One attempt of one task on this worker: its handler called with its context and arguments, and
 * whatever happens turned into an outcome. The run of a lone task and each item of a batch go
 * through here. A handler that returns at once is settled at once, with no promise in between;
 * one that returns a promise is awaited, and fails if a callback of its own throws meanwhile.
 */
import { NotCloneableError } from '../shared/errors.js';
import { serializeError, type RunOutcome } from '../shared/messages.js';
import { isTransferMarker, resolveTransferList } from '../shared/transfer.js';
import { findUncloneable } from './cloneable.js';
import type { WorkerTaskContext } from './context.js';
import type { Handler } from './handlers.js';
import { awaitTask, enterTask, leaveTask } from './task-scope.js';

/**
 * Calls `handler(context, args)` and settles its outcome: at once when it returns a value or
 * throws, later when it returns a promise. A result marked with `transfer()` leaves its list on
 * `context.transfer`.
 */
export function attempt(context: WorkerTaskContext, handler: Handler, args: unknown): RunOutcome | Promise<RunOutcome> {
  const began = performance.now();
  let value: unknown;
  enterTask(context);
  try {
    context.throwIfAborted();
    value = handler(context, args);
  } catch (error) {
    leaveTask();
    return failed(context, error, began);
  }
  if (!isThenable(value)) {
    leaveTask();
    return settled(context, value, began);
  }
  const pending = value;
  return new Promise<unknown>((resolve, reject) => {
    awaitTask(reject);
    pending.then(resolve, reject);
  }).then(
    (result) => {
      leaveTask();
      return settled(context, result, began);
    },
    (error: unknown) => {
      leaveTask();
      return failed(context, error, began);
    },
  );
}

/** The outcome of an attempt that failed before its handler could be called (a module that did not load). */
export function failed(context: WorkerTaskContext, error: unknown, began: number): RunOutcome {
  context.transfer = undefined;
  return { ok: false, error: serializeError(error), progress: context.end(), ms: performance.now() - began };
}

function settled(context: WorkerTaskContext, value: unknown, began: number): RunOutcome {
  let result = value;
  try {
    if (isTransferMarker(value)) {
      context.transfer = resolveTransferList('transfer() list', value.list);
      result = value.value;
    }
    const uncloneable = findUncloneable(result, context.transfer);
    if (uncloneable !== undefined) throw new NotCloneableError(uncloneable.path, uncloneable.description);
  } catch (error) {
    return failed(context, error, began);
  }
  return { ok: true, value: result, progress: context.end(), ms: performance.now() - began };
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}
