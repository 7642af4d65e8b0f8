/**
 * Recovery: a manager constructed on an existing journal gets back every task it holds, with its
 * id, state and result, before the constructor returns.
 *
 * - Finished tasks come back as records, never to run again: the most recent `maxFinishedTasks`
 *   in memory, the others counted and left in the journal, where `getTask` still finds them.
 * - Pending tasks are queued again, in their old order of priority and creation.
 * - A task that was running when its process ended follows `onInterrupted`: 'retry' queues it
 *   again, the interrupted run counted as an attempt (and listed in `errors`); 'fail' ends it
 *   FAILED with a TaskInterruptedError.
 */
import { TaskInterruptedError } from '../../shared/errors.js';
import { describeError, serializeError } from '../../shared/messages.js';
import { TaskState, type FinalTaskState } from '../../shared/task.js';
import type { TaskRecord } from '../task-record.js';
import type { JournalFile } from './journal-file.js';
import { readRows, RecordReader, SELECT_TASKS } from './serialize.js';
import { TaskWrites } from './writes.js';

export type InterruptedPolicy = 'retry' | 'fail';

/** Where recovered tasks go: the manager's scheduler (pending) and task table (finished). */
export interface RecoveryTarget {
  /** Queues a pending task; `recover` makes its record given its place in creation order. */
  restorePending(recover: (seq: number) => TaskRecord): void;
  restoreFinished(record: TaskRecord): void;
  /** Finished tasks left in the journal, beyond `maxFinishedTasks`: counted only. */
  countFinished(state: FinalTaskState, count: number): void;
}

export interface RecoveryOptions {
  readonly onInterrupted: InterruptedPolicy;
  readonly maxFinishedTasks: number;
}

/** How many tasks came back, by what became of them. */
export interface Recovered {
  readonly pending: number;
  readonly interrupted: number;
  readonly finished: number;
}

const FINAL_STATES: readonly FinalTaskState[] = [TaskState.COMPLETED, TaskState.FAILED, TaskState.CANCELLED];

/**
 * Recovers every task of the journal into `target`. `onLive` hears of each task queued again,
 * with the number of its row, which the journal's writes use from then on.
 */
export function recover(
  file: JournalFile,
  target: RecoveryTarget,
  options: RecoveryOptions,
  onLive: (record: TaskRecord, row: number) => void,
): Recovered {
  return file.read((db) => {
    const reader = new RecordReader();
    const finished = restoreFinished(file, reader, target, options.maxFinishedTasks);
    const interrupted: TaskRecord[] = [];
    /** The row of each interrupted task. */
    const rows = new Map<TaskRecord, number>();
    let pending = 0;
    for (const row of readRows(db.prepare(`${SELECT_TASKS} WHERE e.seq IS NULL ORDER BY t.seq`))) {
      if (row.state === TaskState.PENDING) {
        target.restorePending((seq) => {
          const record = reader.read(row, seq, true);
          onLive(record, row.seq);
          return record;
        });
        pending++;
      } else if (options.onInterrupted === 'retry') {
        target.restorePending((seq) => {
          const record = reader.read(row, seq, true);
          onLive(record, row.seq);
          interruptAttempt(record);
          record.state = TaskState.PENDING;
          record.progress = 0;
          interrupted.push(record);
          rows.set(record, row.seq);
          return record;
        });
      } else {
        const record = reader.read(row, row.seq, false);
        const failure = serializeError(new TaskInterruptedError(record.id));
        interruptAttempt(record);
        record.state = TaskState.FAILED;
        record.error = describeError(failure);
        record.failure = failure;
        record.completedAt = Date.now();
        interrupted.push(record);
        rows.set(record, row.seq);
      }
    }
    const writes = new TaskWrites(db);
    db.transaction(() => {
      for (const record of interrupted) {
        const row = rows.get(record) as number;
        if (record.state === TaskState.FAILED) writes.end(row, record);
        else writes.update(row, record);
      }
    })();
    // Failed just now: the most recent finished tasks of all.
    for (const record of interrupted) if (record.state === TaskState.FAILED) target.restoreFinished(record);
    return { pending, interrupted: interrupted.length, finished };
  });
}

/** The interrupted run counts as a failed attempt. */
function interruptAttempt(record: TaskRecord): void {
  (record.errors ??= []).push(new TaskInterruptedError(record.id).message);
}

/**
 * Brings back the most recent finished tasks (by creation), oldest first, and counts the rest;
 * returns how many finished tasks the journal holds.
 */
function restoreFinished(file: JournalFile, reader: RecordReader, target: RecoveryTarget, keep: number): number {
  const { db } = file;
  const counts = db.prepare('SELECT state, count(*) AS count FROM ends GROUP BY state').all() as { state: TaskState; count: number }[];
  const limit = keep === Infinity ? -1 : keep;
  const rows = [...readRows(db.prepare(`${SELECT_TASKS} WHERE e.seq IS NOT NULL ORDER BY t.seq DESC LIMIT ?`), limit)];
  const kept = new Map<TaskState, number>();
  for (const row of rows.reverse()) {
    target.restoreFinished(reader.read(row, -1, false));
    kept.set(row.state, (kept.get(row.state) ?? 0) + 1);
  }
  let total = 0;
  for (const { state, count } of counts) {
    total += count;
    if (FINAL_STATES.includes(state as FinalTaskState)) target.countFinished(state as FinalTaskState, count - (kept.get(state) ?? 0));
  }
  return total;
}
