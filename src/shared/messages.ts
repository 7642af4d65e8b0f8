/**
 * Every message that crosses between the main thread and a worker.
 * Both sides import this file; a message that is not declared here does not exist.
 *
 * Tasks travel through Piscina's own channel (`TaskRequest` in, `TaskOutcome` out).
 * Everything else travels over one control channel per worker, made by the worker
 * when it loads and handed to the main thread in a `PortHandshake` on its parentPort.
 * Messages on that channel are multiplexed by `run`, a number the main thread gives
 * to each dispatch, so that a message from an earlier run of a task is never taken
 * for a later one.
 */
import type { MessagePort } from 'node:worker_threads';

/** The `type` of the handshake a worker posts on its parentPort when it loads. */
export const HANDSHAKE = 'taskloom:control-port';

/** What Piscina hands to the worker entry for each task. */
export interface TaskRequest {
  /** The dispatch number: the key of every control message about this run. */
  readonly run: number;
  readonly id: string;
  readonly name: string;
  /** A file: URL. */
  readonly module: string;
  readonly exportName: string;
  readonly args: unknown;
}

/** An error as it crosses a thread boundary: plain data, whatever was thrown. */
export interface SerializedError {
  readonly name: string;
  readonly message: string;
  readonly stack?: string;
  readonly code?: string;
}

/** What the worker entry returns for each task. It never throws. */
export type TaskOutcome =
  | { readonly ok: true; readonly value: unknown; readonly progress: number | undefined }
  | { readonly ok: false; readonly error: SerializedError; readonly progress: number | undefined };

/** Worker → main, on the parentPort, once per worker. */
export interface PortHandshake {
  readonly type: typeof HANDSHAKE;
  readonly threadId: number;
  readonly port: MessagePort;
}

export type LogLevelName = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';

/** Worker → main, on the control port. */
export type WorkerMessage =
  | { readonly type: 'progress'; readonly run: number; readonly value: number }
  | {
      readonly type: 'log';
      /** Logs name the task itself, not the run: a line may arrive after its run has ended. */
      readonly id: string;
      readonly name: string;
      readonly level: LogLevelName;
      readonly msg: string | undefined;
      readonly fields: Record<string, unknown> | undefined;
    }
  | ManagerPortMessage;

/**
 * Worker → main, on the control port, once per worker and only when a handler first touches
 * `task.manager`: the port over which the worker calls the manager (with comlink).
 */
export interface ManagerPortMessage {
  readonly type: 'manager-port';
  readonly port: MessagePort;
}

/** What every manager call over a port resolves with: errors travel as data, and are re-thrown as the same class. */
export type RemoteResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: SerializedError };

/**
 * The manager's side of a client port, as comlink exposes it. `caller` is the dispatch number
 * of the task whose handler makes the call (it becomes the parent of tasks it creates), or
 * undefined for a thread of the application's own.
 */
export interface ManagerEndpointApi {
  createTask(caller: number | undefined, name: unknown, handler: unknown, options: unknown): RemoteResult<string>;
  getTask(id: unknown): RemoteResult<unknown>;
  listTasks(state: unknown): RemoteResult<unknown[]>;
  cancelTask(id: unknown): RemoteResult<boolean>;
  setPriority(id: unknown, priority: unknown): RemoteResult<boolean>;
  updateProgress(id: unknown, progress: unknown): RemoteResult<boolean>;
  getStats(): RemoteResult<unknown>;
  waitFor(caller: number | undefined, id: unknown): Promise<RemoteResult<unknown>>;
}

/** Main → worker, on the control port. */
export type ControlMessage = { readonly type: 'abort'; readonly run: number; readonly reason: SerializedError };

/** Data the main thread gives every worker at start-up. */
export interface WorkerStartData {
  /** pino's numeric level of the manager's logger: lines below it are not sent. */
  readonly logLevel: number;
  /** Modules (file: URLs) each worker imports, in order, before its first task. */
  readonly preload: readonly string[];
}

/** What a chunk of a `manager.map(...)` batch carries to the worker: its items, in one run. */
export interface ChunkArgs {
  readonly module: string;
  readonly exportName: string;
  readonly items: readonly unknown[];
  /** The index of the first item in the whole input. */
  readonly offset: number;
  readonly settle: boolean;
}

export type SettledItem = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: string };

export interface ChunkResult {
  /** Each item's result in order, or with `settle`, each item's outcome. */
  readonly results: unknown[];
  /** Without `settle`, the first item that failed; the chunk stops there. */
  readonly failure?: { readonly index: number; readonly error: SerializedError };
}

/** Turns anything that was thrown into plain data that survives structured cloning. */
export function serializeError(thrown: unknown): SerializedError {
  if (thrown instanceof Error) {
    const code = (thrown as { code?: unknown }).code;
    return {
      name: thrown.name,
      message: thrown.message,
      ...(thrown.stack === undefined ? {} : { stack: thrown.stack }),
      ...(typeof code === 'string' ? { code } : {}),
    };
  }
  return { name: 'NonErrorThrown', message: `a non-Error value was thrown: ${describeThrown(thrown)}` };
}

const REVIVED: Readonly<Record<string, new (message: string) => Error>> = { TypeError, RangeError };

/** Re-creates a serialized error on this thread: the same class where it is a built-in one, with its name and code. */
export function reviveError(data: SerializedError): Error {
  const Class = REVIVED[data.name] ?? Error;
  const error = new Class(data.message);
  if (error.name !== data.name) error.name = data.name;
  if (data.code !== undefined) Object.assign(error, { code: data.code });
  return error;
}

/** An error as a task's `error` message: the message, after the name unless it says nothing more than `Error`. */
export function describeError(error: SerializedError): string {
  return error.name === 'Error' || error.name === 'NonErrorThrown' ? error.message : `${error.name}: ${error.message}`;
}

function describeThrown(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === undefined || value === null || typeof value !== 'object') return String(value);
  try {
    return JSON.stringify(value) ?? Object.prototype.toString.call(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}
