/**
 * The statements that write tasks into the journal, each bound column by column in the order its
 * SQL names them. A task's row of `tasks` is written when it is created and changed while it is
 * live; when it ends, one row of `ends` is added, which appends rather than rewrites.
 */
import type { WorkerTask } from '../../shared/handler.js';
import { TaskState } from '../../shared/task.js';
import type { TaskRecord } from '../task-record.js';
import { isLive } from '../task-table.js';
import { encodeErrors, encodeFailure, encodeResult, encodeRetry } from './serialize.js';
import type { Database, Statement } from './sqlite.js';

const INSERT_TASK =
  'INSERT INTO tasks (seq, id, name, module, export, args, timeout_ms, retry, parent_id, created_at, label, priority, state, attempts, errors, started_at) ' +
  'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)';
const UPDATE_LIVE = 'UPDATE tasks SET priority = ?, state = ?, attempts = ?, errors = ?, started_at = ? WHERE seq = ?';
const INSERT_END =
  'INSERT OR REPLACE INTO ends (seq, state, attempts, progress, errors, result, error, failure, started_at, completed_at) ' +
  'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)';

export class TaskWrites {
  readonly #insert: Statement;
  readonly #update: Statement;
  readonly #end: Statement;

  constructor(db: Database) {
    this.#insert = db.prepare(INSERT_TASK);
    this.#update = db.prepare(UPDATE_LIVE);
    this.#end = db.prepare(INSERT_END);
  }

  /** A new task, in row `row`: how it was created, its label, and its live state as it stands. */
  insert(row: number, record: TaskRecord, args: Buffer | null, label: string | null): void {
    const handler = record.handler as WorkerTask;
    this.#insert.run(
      row,
      record.id,
      record.name,
      handler.module,
      handler.exportName,
      args,
      record.timeoutMs === Infinity ? null : record.timeoutMs,
      encodeRetry(record.retry),
      record.parentId ?? null,
      record.createdAt,
      label,
      record.priority,
      liveState(record),
      record.attempts,
      encodeErrors(record.errors),
      record.startedAt ?? null,
    );
  }

  /** A live task's state as it stands: pending or running, priority, attempts, errors. */
  update(row: number, record: TaskRecord): void {
    this.#update.run(record.priority, liveState(record), record.attempts, encodeErrors(record.errors), record.startedAt ?? null, row);
  }

  /** A finished task's final state. A result that cannot be stored is recorded as none. */
  end(row: number, record: TaskRecord): void {
    this.#end.run(
      row,
      record.state,
      record.attempts,
      record.progress,
      encodeErrors(record.errors),
      encodeResult(record.result),
      record.error ?? null,
      encodeFailure(record.failure),
      record.startedAt ?? null,
      record.completedAt ?? Date.now(),
    );
  }
}

/** The state a task's row of `tasks` holds: a live task's own; a finished one's last live state. */
function liveState(record: TaskRecord): TaskState {
  if (isLive(record)) return record.state;
  return record.startedAt === undefined ? TaskState.PENDING : TaskState.RUNNING;
}
