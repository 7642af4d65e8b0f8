/**
 * What a worker run failed with when its worker failed under it: Piscina rejects the run with
 * the worker's exit, an out-of-memory error or a DataCloneError. Each becomes a taskloom error
 * with a stable code, serialized as the task's `failure`.
 */
import { inspect } from 'node:util';
import {
  DataCloneFailedError,
  errorMessage,
  WorkerExitedError,
  WorkerFailedError,
  WorkerOutOfMemoryError,
  type TaskloomError,
} from '../shared/errors.js';
import { serializeError, type SerializedError } from '../shared/messages.js';

/** Says what happened when a run's promise rejected, as a serialized taskloom error. */
export function runFailure(error: unknown): SerializedError {
  return serializeError(runError(error));
}

function runError(error: unknown): TaskloomError {
  const options = { cause: error };
  const code = (error as { code?: unknown } | null)?.code;
  const message = errorMessage(error);
  if (code === 'ERR_WORKER_OUT_OF_MEMORY') return new WorkerOutOfMemoryError(message, options);
  const exit = /worker exited with code: (-?\d+)/.exec(message);
  if (exit !== null) return new WorkerExitedError(Number(exit[1]), options);
  if (error instanceof Error && error.name === 'DataCloneError') return new DataCloneFailedError(message, options);
  if (error instanceof Error) return new WorkerFailedError(`the worker thread failed: ${message}`, options);
  return new WorkerFailedError(`the worker thread crashed: ${inspect(error, { depth: 2, breakLength: Infinity })}`, options);
}
