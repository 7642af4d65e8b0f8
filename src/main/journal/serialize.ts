/**
 * What a task looks like in the journal: its row of `tasks`, with its row of `ends` once finished,
 * how each value is encoded, and how a row becomes a task record again. Arguments and results are
 * stored as structured-clone data (`v8.serialize`), the same data a worker thread receives;
 * failures, error lists and retry policies as JSON. writes.ts writes the rows.
 */
import { deserialize, serialize } from 'node:v8';
import { workerTask, type WorkerTask } from '../../shared/handler.js';
import type { TaskFailure, TaskState } from '../../shared/task.js';
import { received } from '../../shared/validate.js';
import { NO_RETRY, type RetryPolicy } from '../retry.js';
import { TaskRecord } from '../task-record.js';
import type { Statement } from './sqlite.js';

/** A task as the journal holds it: its row of `tasks`, with its row of `ends` once it is finished (see SELECT_TASKS). */
export interface TaskRow {
  readonly seq: number;
  readonly id: string;
  readonly name: string;
  readonly module: string;
  readonly export: string;
  readonly args: Buffer | null;
  readonly priority: number;
  readonly timeout_ms: number | null;
  readonly retry: string | null;
  readonly parent_id: string | null;
  readonly label: string | null;
  readonly state: TaskState;
  readonly attempts: number;
  readonly progress: number;
  readonly errors: string | null;
  readonly result: Buffer | null;
  readonly error: string | null;
  readonly failure: string | null;
  readonly created_at: number;
  readonly started_at: number | null;
  readonly completed_at: number | null;
}

/** Every task as a TaskRow, its final state when it has one; `t` is its row of `tasks`, `e` of `ends`. Add WHERE and ORDER BY. */
export const SELECT_TASKS =
  'SELECT t.seq, t.id, t.name, t.module, t.export, t.args, t.priority, t.timeout_ms, t.retry, t.parent_id, t.label, ' +
  'coalesce(e.state, t.state) AS state, coalesce(e.attempts, t.attempts) AS attempts, coalesce(e.progress, 0) AS progress, ' +
  'iif(e.seq IS NULL, t.errors, e.errors) AS errors, e.result, e.error, e.failure, t.created_at, ' +
  'coalesce(e.started_at, t.started_at) AS started_at, e.completed_at ' +
  'FROM tasks t LEFT JOIN ends e ON e.seq = t.seq';

/**
 * Runs a SELECT_TASKS statement and yields its rows. Rows are read as arrays and made into
 * objects here, which takes half the time better-sqlite3's own objects do.
 */
export function* readRows(statement: Statement, ...params: unknown[]): Generator<TaskRow> {
  for (const values of statement.raw(true).iterate(...params) as IterableIterator<unknown[]>) yield toRow(values);
}

/** A row of SELECT_TASKS, from its values in column order. */
function toRow(values: unknown[]): TaskRow {
  return {
    seq: values[0] as number,
    id: values[1] as string,
    name: values[2] as string,
    module: values[3] as string,
    export: values[4] as string,
    args: values[5] as Buffer | null,
    priority: values[6] as number,
    timeout_ms: values[7] as number | null,
    retry: values[8] as string | null,
    parent_id: values[9] as string | null,
    label: values[10] as string | null,
    state: values[11] as TaskState,
    attempts: values[12] as number,
    progress: values[13] as number,
    errors: values[14] as string | null,
    result: values[15] as Buffer | null,
    error: values[16] as string | null,
    failure: values[17] as string | null,
    created_at: values[18] as number,
    started_at: values[19] as number | null,
    completed_at: values[20] as number | null,
  };
}

/**
 * The task's arguments as stored, or null for none.
 * @throws {TypeError} naming the path of what cannot be stored (`options.args.user.save is a function`).
 */
export function encodeArgs(args: unknown): Buffer | null {
  if (args === undefined) return null;
  try {
    return serialize(args);
  } catch (error) {
    const problem = findUnstorable(args, 'options.args') ?? `options.args cannot be serialized (${(error as Error).message})`;
    throw new TypeError(
      `Expected \`options.args\` to be data the journal can store (structured-clone data: no functions, symbols or promises), but ${problem}; ` +
        'create the task with `durable: false` to run it unrecorded',
      { cause: error },
    );
  }
}

/** A list of errors as stored: JSON, or null for none. */
export function encodeErrors(errors: readonly string[] | undefined): string | null {
  return errors === undefined ? null : JSON.stringify(errors);
}

/** A failure as stored: JSON, or null for none. */
export function encodeFailure(failure: TaskFailure | undefined): string | null {
  return failure === undefined ? null : JSON.stringify(failure);
}

/** A result as stored: structured-clone data, or null for none. */
export function encodeResult(result: unknown): Buffer | null {
  if (result === undefined) return null;
  try {
    return serialize(result);
  } catch {
    // A worker's result was structured-cloned already, so this should not happen: record the task, without its value.
    return null;
  }
}

/** Retry policies are shared objects (the manager's default, mostly): each is written out once. */
const retryTexts = new WeakMap<RetryPolicy, string | null>();

/** A retry policy as stored: JSON, or null for the default of one attempt. */
export function encodeRetry(policy: RetryPolicy): string | null {
  let text = retryTexts.get(policy);
  if (text === undefined) {
    const isDefault = Object.entries(NO_RETRY).every(([key, value]) => policy[key as keyof RetryPolicy] === value);
    text = isDefault ? null : JSON.stringify({ ...policy, maxDelayMs: policy.maxDelayMs === Infinity ? null : policy.maxDelayMs });
    retryTexts.set(policy, text);
  }
  return text;
}

function decodeRetry(text: string | null): RetryPolicy {
  if (text === null) return NO_RETRY;
  const policy = JSON.parse(text) as Omit<RetryPolicy, 'maxDelayMs'> & { maxDelayMs: number | null };
  return Object.freeze({ ...policy, maxDelayMs: policy.maxDelayMs ?? Infinity });
}

/** Rebuilds task records from rows. Handler references are shared between the tasks that name the same one. */
export class RecordReader {
  readonly #handlers = new Map<string, WorkerTask>();
  readonly #retries = new Map<string | null, RetryPolicy>();

  /** The record of a row, with the place `seq` in this manager's creation order; its arguments are read only when `withArgs`. */
  read(row: TaskRow, seq: number, withArgs: boolean): TaskRecord {
    const record = new TaskRecord(
      row.id,
      seq,
      {
        name: row.name,
        handler: this.#handler(row.module, row.export),
        args: withArgs && row.args !== null ? deserialize(row.args) : undefined,
        priority: row.priority,
        timeoutMs: row.timeout_ms ?? Infinity,
        retry: this.#retry(row.retry),
        parentId: row.parent_id ?? undefined,
        durable: true,
      },
      row.created_at,
    );
    record.state = row.state;
    record.attempts = row.attempts;
    record.progress = row.progress;
    record.errors = row.errors === null ? undefined : (JSON.parse(row.errors) as string[]);
    record.result = row.result === null ? undefined : deserialize(row.result);
    record.error = row.error ?? undefined;
    record.failure = row.failure === null ? undefined : (JSON.parse(row.failure) as TaskFailure);
    record.startedAt = row.started_at ?? undefined;
    record.completedAt = row.completed_at ?? undefined;
    return record;
  }

  #handler(module: string, exportName: string): WorkerTask {
    const key = `${exportName}\n${module}`;
    let handler = this.#handlers.get(key);
    if (handler === undefined) {
      handler = workerTask(module, exportName);
      this.#handlers.set(key, handler);
    }
    return handler;
  }

  #retry(text: string | null): RetryPolicy {
    let policy = this.#retries.get(text);
    if (policy === undefined) {
      policy = decodeRetry(text);
      this.#retries.set(text, policy);
    }
    return policy;
  }
}

/** How many values the search for an unstorable one looks at, at most. */
const MAX_VISITS = 10_000;

/** Where in `value` is something v8.serialize refuses, as "options.args.user.save is a function"; undefined if not found. */
function findUnstorable(value: unknown, root: string): string | undefined {
  let visits = 0;
  const seen = new Set<object>();
  const visit = (node: unknown, path: string): string | undefined => {
    if (++visits > MAX_VISITS) return undefined;
    if (typeof node === 'function' || typeof node === 'symbol') return `${path} is a ${typeof node}`;
    if (node === null || typeof node !== 'object' || seen.has(node)) return undefined;
    seen.add(node);
    if (node instanceof Promise) return `${path} is a Promise`;
    if (node instanceof WeakMap || node instanceof WeakSet || node instanceof WeakRef) return `${path} is a ${node.constructor.name}`;
    if (ArrayBuffer.isView(node) || node instanceof ArrayBuffer || node instanceof Date || node instanceof RegExp) return undefined;
    if (node instanceof Map) {
      for (const [key, entry] of node) {
        const found = visit(key, `${path} key`) ?? visit(entry, `${path}.get(${String(key)})`);
        if (found !== undefined) return found;
      }
      return undefined;
    }
    if (node instanceof Set) {
      for (const entry of node) {
        const found = visit(entry, `${path} entry`);
        if (found !== undefined) return found;
      }
      return undefined;
    }
    for (const [key, entry] of Object.entries(node)) {
      const found = visit(entry, Array.isArray(node) ? `${path}[${key}]` : `${path}.${key}`);
      if (found !== undefined) return found;
    }
    return isPlain(node) || canSerialize(node) ? undefined : `${path} cannot be serialized (${received(node)})`;
  };
  return visit(value, root);
}

function isPlain(node: object): boolean {
  const prototype: unknown = Object.getPrototypeOf(node);
  return prototype === Object.prototype || prototype === null || Array.isArray(node);
}

function canSerialize(node: object): boolean {
  try {
    serialize(node);
    return true;
  } catch {
    return false;
  }
}
