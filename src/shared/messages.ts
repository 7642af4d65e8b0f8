/**
 * Every message that crosses between the main thread and a worker.
 * Both sides import this file; a message that is not declared here does not exist.
 *
 * Tasks travel through Piscina's own channel (`TaskRequest` in, `TaskReply` out).
 * Everything else travels over one control channel per worker, made by the worker
 * when it loads and handed to the main thread in a `PortHandshake` on its parentPort.
 * Messages on that channel are multiplexed by `dispatch`, a number the main thread gives
 * to each dispatch, so that a message from an earlier run of a task is never taken
 * for a later one.
 */
import type { MessagePort } from 'node:worker_threads';
import { errorClassFor, isSelfDescribed, TaskloomError, type ErrorClass } from './errors.js';

/** The `type` of the handshake a worker posts on its parentPort when it loads. */
export const HANDSHAKE = 'taskloom:control-port';

/**
 * What Piscina hands to the worker entry for each task. A tuple rather than an object: V8 writes
 * an object's keys into every message and the other thread reads them back in, which cost a
 * sequential task about half a microsecond here, of the 15 to 20 a round trip takes.
 */
export type TaskRequest = readonly [
  /** The dispatch number: the key of every control message about this run. */
  dispatch: number,
  id: string,
  name: string,
  /** A file: URL. */
  module: string,
  exportName: string,
  args: unknown,
];

/** What the worker entry returns for one task: its `RunOutcome`, as a tuple for the same reason. */
export type TaskReply =
  | readonly [ok: true, value: unknown, progress: number | undefined, ms: number]
  | readonly [ok: false, error: SerializedError, progress: number | undefined, ms: number];

/**
 * An error as it crosses a thread boundary: plain data, whatever was thrown. This is also what
 * a failed task keeps as its `failure`.
 */
export interface SerializedError {
  readonly name: string;
  readonly message: string;
  readonly stack?: string;
  /** A taskloom error's `TASKLOOM_*` code, or the string `code` any other error had (`ENOENT`, say). */
  readonly code?: string;
  /** The error's own data fields with plain values (`taskId`, `timeoutMs`, `status`, `url`...). */
  readonly data?: Readonly<Record<string, ErrorDataValue>>;
  /** An AggregateError's errors. */
  readonly errors?: readonly SerializedError[];
}

/** A data field of a serialized error: a primitive, or a list of them. */
export type ErrorDataValue = string | number | boolean | null | readonly (string | number | boolean | null)[];

/** What the worker entry returns for each task. It never throws. */
export type TaskOutcome =
  | { readonly ok: true; readonly value: unknown; readonly progress: number | undefined }
  | { readonly ok: false; readonly error: SerializedError; readonly progress: number | undefined };

/**
 * A task's outcome as the worker sends it: with how long it took. When it started is the main
 * thread's own for a lone task, and in the batch's shared memory for an item of a batch.
 */
export type RunOutcome = TaskOutcome & {
  /** The handler's run time, in ms: what the main thread sizes batches from. */
  readonly ms: number;
};

/**
 * What Piscina hands to the worker entry for a batch: several tasks of one handler, run one after
 * another in one run. Each keeps its own dispatch number, context, abort and outcome.
 */
export interface BatchRequest {
  /** The batch's own dispatch number: the key of its reports. */
  readonly batch: number;
  /** A file: URL. */
  readonly module: string;
  readonly exportName: string;
  readonly items: readonly BatchItem[];
  /**
   * Shared with the main thread: each item's state (an Int32 `ItemState`), then, from
   * `startTimesOffset(items.length)`, each item's start time (a Float64, ms since the epoch).
   */
  readonly shared: SharedArrayBuffer;
  /** How long the batch is expected to take, in ms: past it, the worker reports each item's start. */
  readonly budgetMs: number;
}

export interface BatchItem {
  readonly dispatch: number;
  readonly id: string;
  readonly name: string;
  readonly args: unknown;
  /** Report the item's start as it happens: it has a time limit, which counts from its start. */
  readonly reportsStart: boolean;
}

/**
 * The state of an item of a batch, in the batch's shared memory. The worker moves an item from
 * UNSTARTED to STARTED (then DONE) and the main thread from UNSTARTED to CANCELLED, each with a
 * compare-and-exchange: exactly one of them wins, so a cancelled item never starts. The main
 * thread moves a running item it stops (cancelled, or past its time limit) from STARTED to
 * STOPPING: the worker, as it marks the item DONE, then reports its end at once. The stop's
 * message may not be read before the batch's end, should the items after it run one after
 * another without a pause, and the item's grace period would then run out for nothing.
 */
export const ItemState = { UNSTARTED: 0, STARTED: 1, DONE: 2, CANCELLED: 3, STOPPING: 4 } as const;

/** Where the start times begin in a batch's shared memory: after the states, 8-byte aligned. */
export function startTimesOffset(items: number): number {
  return Math.ceil((items * 4) / 8) * 8;
}

/** The bytes of a batch's shared memory. */
export function sharedBytes(items: number): number {
  return startTimesOffset(items) + items * 8;
}

/** An item's outcome; null for an item that was cancelled before it started. */
export type ItemOutcome = RunOutcome | null;

/** What the worker entry returns for a batch: the outcomes it has not reported yet. */
export interface BatchOutcome {
  /** The index of the item of `outcomes[0]`: those before it went in reports. */
  readonly from: number;
  readonly outcomes: readonly ItemOutcome[];
  /** How many reports the worker sent about this batch on its control port. */
  readonly reports: number;
  /** The worker's thread id: its control port holds those reports. */
  readonly threadId: number;
}

/** Worker → main, on the parentPort, once per worker. */
export interface PortHandshake {
  readonly type: typeof HANDSHAKE;
  readonly threadId: number;
  readonly port: MessagePort;
}

export type LogLevelName = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';

/**
 * Worker → main, on the control port: how a batch has gone so far, sent only when the main thread
 * must know at once (an item's progress, an item with a time limit starting, a batch past its
 * budget, an abort, a call to the manager). Outcomes go first, so that the main thread always
 * learns of items in their order.
 */
export interface BatchReport {
  readonly type: 'batch';
  readonly batch: number;
  /** The index of the item of `outcomes[0]`. */
  readonly from: number;
  readonly outcomes: readonly ItemOutcome[];
  /** The item that runs now, after those, or -1. */
  readonly started: number;
  readonly startedAt: number;
  /** Its progress, if it has set some since the last report. */
  readonly progress: number | undefined;
}

/** Worker → main, on the control port. */
export type WorkerMessage =
  | { readonly type: 'progress'; readonly dispatch: number; readonly value: number }
  | BatchReport
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
 * The manager's side of a client port, as comlink exposes it. `dispatch` is the dispatch number
 * of the task whose handler makes the call (it becomes the parent of tasks it creates), or
 * undefined for a thread of the application's own.
 */
export interface ManagerEndpointApi {
  createTask(dispatch: number | undefined, name: unknown, handler: unknown, options: unknown): RemoteResult<string>;
  getTask(id: unknown): RemoteResult<unknown>;
  listTasks(state: unknown): RemoteResult<unknown[]>;
  cancelTask(id: unknown): RemoteResult<boolean>;
  setPriority(id: unknown, priority: unknown): RemoteResult<boolean>;
  updateProgress(id: unknown, progress: unknown): RemoteResult<boolean>;
  getStats(): RemoteResult<unknown>;
  waitFor(dispatch: number | undefined, id: unknown): Promise<RemoteResult<unknown>>;
}

/** Main → worker, on the control port. */
export interface ControlMessage {
  readonly type: 'abort';
  readonly dispatch: number;
  readonly reason: SerializedError;
}

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

/** Fields serialized on their own, or not at all, rather than as data. */
const NOT_DATA = new Set(['name', 'message', 'stack', 'code', 'cause', 'errors']);
const MAX_DATA_FIELDS = 32;
const MAX_LIST_LENGTH = 100;
const MAX_AGGREGATED = 20;

/**
 * Turns anything that was thrown into plain data that survives structured cloning: its name,
 * message, stack, code, its own data fields with plain values, and an AggregateError's errors.
 */
export function serializeError(thrown: unknown): SerializedError {
  return serialize(thrown, true);
}

function serialize(thrown: unknown, withErrors: boolean): SerializedError {
  if (!(thrown instanceof Error)) {
    return { name: 'NonErrorThrown', message: `a non-Error value was thrown: ${describeThrown(thrown)}` };
  }
  const code = (thrown as { code?: unknown }).code;
  const data = dataFields(thrown);
  const errors = withErrors && thrown instanceof AggregateError && Array.isArray(thrown.errors) ? (thrown.errors as unknown[]) : undefined;
  return {
    name: thrown.name,
    message: thrown.message,
    ...(thrown.stack === undefined ? {} : { stack: thrown.stack }),
    ...(typeof code === 'string' ? { code } : {}),
    ...(data === undefined ? {} : { data }),
    ...(errors === undefined ? {} : { errors: errors.slice(0, MAX_AGGREGATED).map((error) => serialize(error, false)) }),
  };
}

/** An error's own enumerable fields whose values are plain: `taskId`, `status`, `errno`, `path`... */
function dataFields(error: Error): Record<string, ErrorDataValue> | undefined {
  let data: Record<string, ErrorDataValue> | undefined;
  let count = 0;
  for (const key of Object.keys(error)) {
    if (NOT_DATA.has(key)) continue;
    let value: unknown;
    try {
      value = (error as unknown as Record<string, unknown>)[key];
    } catch {
      continue;
    }
    if (!isPlain(value) && !(Array.isArray(value) && value.length <= MAX_LIST_LENGTH && value.every(isPlain))) continue;
    (data ??= {})[key] = value;
    if (++count === MAX_DATA_FIELDS) break;
  }
  return data;
}

/** A value that survives both structured cloning and JSON (the CLI writes failures as JSON). */
function isPlain(value: unknown): value is string | number | boolean | null {
  const type = typeof value;
  return value === null || type === 'string' || (type === 'number' && Number.isFinite(value)) || type === 'boolean';
}

/** The built-in classes a serialized error is revived as, by name, when it has no registered code. */
const BUILT_IN: Readonly<Record<string, ErrorClass>> = {
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
  AggregateError,
};

/**
 * Re-creates a serialized error on this thread, as an instance of its class: the class registered
 * for its code (every taskloom error), else the built-in class of its name (TypeError,
 * RangeError...), else Error. A taskloom code that no loaded module registered still gives a
 * branded TaskloomError. The name, code, stack and data fields are those of the original.
 */
export function reviveError(data: SerializedError): Error {
  const error = construct(data);
  const fields: Record<string, unknown> = { ...data.data };
  if (error.name !== data.name) fields.name = data.name;
  if (data.code !== undefined) fields.code = data.code;
  for (const [key, value] of Object.entries(fields)) {
    Object.defineProperty(error, key, { value, writable: true, enumerable: true, configurable: true });
  }
  if (data.stack !== undefined) error.stack = data.stack;
  return error;
}

function construct(data: SerializedError): Error {
  const registered = data.code === undefined ? undefined : errorClassFor(data.code);
  if (registered !== undefined) return Reflect.construct(Error, [data.message], registered) as Error;
  if (data.code?.startsWith('TASKLOOM_') === true) return new TaskloomError(data.message, data.code);
  if (data.name === 'AggregateError') return new AggregateError((data.errors ?? []).map(reviveError), data.message);
  const Class = Object.hasOwn(BUILT_IN, data.name) ? BUILT_IN[data.name] : undefined;
  return Class === undefined ? new Error(data.message) : (Reflect.construct(Error, [data.message], Class) as Error);
}

/**
 * An error as a task's `error` message: the message, after the name unless it adds nothing (an
 * `Error`, or one of taskloom's failures of a run, whose messages read on their own).
 */
export function describeError(error: SerializedError): string {
  const isBare = error.name === 'Error' || error.name === 'NonErrorThrown' || isSelfDescribed(error.code);
  return isBare ? error.message : `${error.name}: ${error.message}`;
}

/** JSON.stringify as it is: undefined for a value whose toJSON returns undefined. */
const stringify: (value: unknown) => string | undefined = JSON.stringify;

function describeThrown(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === undefined || value === null || typeof value !== 'object') return String(value);
  try {
    return stringify(value) ?? Object.prototype.toString.call(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}
