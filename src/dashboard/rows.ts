/**
 * The task table as the dashboard shows it: running tasks first (oldest start first), then
 * pending ones by priority (higher first, then in creation order), then finished ones (most
 * recent first). A query filters by state and by name, and returns one page of rows: it scans
 * the records once, keeping only the `limit` first rows in a small sorted array, so a page costs
 * O(n) whatever the number of tasks, and the whole table is never copied or sent.
 *
 * A cursor is the position of a page's last row, so the next page starts after it, however the
 * table has changed meanwhile.
 */
import { inspect } from 'node:util';
import { TaskState } from '../shared/task.js';
import type { TaskLogLine } from '../main/task-logs.js';
import type { TaskRecord } from '../main/task-record.js';

export const MAX_LIMIT = 500;
export const DEFAULT_LIMIT = 50;
const MAX_ERROR_LENGTH = 300;
const MAX_SUMMARY_LENGTH = 4000;

export interface RowQuery {
  readonly state: TaskState | undefined;
  /** Lower-case text the name must contain, or undefined for any name. */
  readonly search: string | undefined;
  readonly limit: number;
  /** Rows after this position. */
  readonly after: RowKey | undefined;
}

/** A row's position: its group (0 running, 1 pending, 2 finished), then an order inside the group. */
export type RowKey = readonly [group: number, order: number, tie: number];

export interface RowPage {
  readonly rows: readonly TaskRecord[];
  /** How many tasks pass the filter, on every page. */
  readonly matching: number;
  /** The cursor of the next page, or null on the last one. */
  readonly next: string | null;
}

/** A task as a row of the table: plain data, for JSON. Times are epoch milliseconds. */
export interface TaskRow {
  readonly id: string;
  readonly name: string;
  readonly state: TaskState;
  readonly priority: number;
  readonly progress: number;
  readonly attempts: number;
  readonly startedAt: number | null;
  readonly durationMs: number | null;
  readonly error: string | null;
}

/** A task with everything the detail view shows. */
export interface TaskDetail extends TaskRow {
  readonly createdAt: number;
  readonly completedAt: number | null;
  readonly parentId: string | null;
  /** Every failed attempt's error, oldest first. */
  readonly errors: readonly string[];
  readonly failure: { readonly name: string; readonly code: string | null; readonly message: string } | null;
  /** The arguments, described as text: null once the task has finished (they are not kept). */
  readonly args: string | null;
  /** The result, described as text, once the task has completed. */
  readonly result: string | null;
  readonly logs: readonly TaskLogLine[];
}

function groupOf(record: TaskRecord): number {
  return record.state === TaskState.RUNNING ? 0 : record.state === TaskState.PENDING ? 1 : 2;
}

/** The order of a record inside its group: running by start, pending by priority, finished most recent first. */
function orderOf(record: TaskRecord, group: number): number {
  return group === 0 ? record.since : group === 1 ? -record.priority : -(record.completedAt ?? 0);
}

/** Negative when the row at (group, order, tie) comes before `key`. */
function compareTo(group: number, order: number, tie: number, key: RowKey): number {
  return group - key[0] || order - key[1] || tie - key[2];
}

/** One page of the rows that pass the query's filter. */
export function queryRows(records: Iterable<TaskRecord>, query: RowQuery): RowPage {
  const { state, search, limit, after } = query;
  // The best rows so far, in order, with their keys: at most limit + 1, to know whether more follow.
  const kept: { record: TaskRecord; key: RowKey }[] = [];
  let matching = 0;
  // Most records of a large table come after the last row kept: they are turned away without a key of their own.
  for (const record of records) {
    if (state !== undefined && record.state !== state) continue;
    if (search !== undefined && !record.name.toLowerCase().includes(search)) continue;
    matching++;
    const group = groupOf(record);
    const order = orderOf(record, group);
    const tie = group === 2 ? -record.seq : record.seq;
    if (after !== undefined && compareTo(group, order, tie, after) <= 0) continue;
    const last = kept[kept.length - 1];
    if (kept.length > limit && last !== undefined && compareTo(group, order, tie, last.key) >= 0) continue;
    const key: RowKey = [group, order, tie];
    kept.splice(insertionPoint(kept, key), 0, { record, key });
    if (kept.length > limit + 1) kept.pop();
  }
  const hasMore = kept.length > limit;
  if (hasMore) kept.pop();
  const lastKept = kept[kept.length - 1];
  return {
    rows: kept.map((entry) => entry.record),
    matching,
    next: hasMore && lastKept !== undefined ? encodeCursor(lastKept.key) : null,
  };
}

function insertionPoint(kept: readonly { key: RowKey }[], key: RowKey): number {
  let low = 0;
  let high = kept.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    const [group, order, tie] = (kept[middle] as { key: RowKey }).key;
    if (compareTo(group, order, tie, key) <= 0) low = middle + 1;
    else high = middle;
  }
  return low;
}

export function encodeCursor(key: RowKey): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

/** The position a cursor stands for, or undefined when it is not one this dashboard made. */
export function decodeCursor(cursor: string): RowKey | undefined {
  if (!/^[\w-]{1,200}$/.test(cursor)) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (!Array.isArray(value) || value.length !== 3 || !value.every((item) => typeof item === 'number' && Number.isFinite(item))) {
    return undefined;
  }
  const [group, order, tie] = value as [number, number, number];
  return Number.isInteger(group) && group >= 0 && group <= 2 ? [group, order, tie] : undefined;
}

export function toRow(record: TaskRecord, now: number): TaskRow {
  const { startedAt, completedAt, error } = record;
  return {
    id: record.id,
    name: record.name,
    state: record.state,
    priority: record.priority,
    progress: record.progress,
    attempts: record.attempts,
    startedAt: startedAt ?? null,
    durationMs: startedAt === undefined ? null : (completedAt ?? now) - startedAt,
    error: error === undefined ? null : truncate(error, MAX_ERROR_LENGTH),
  };
}

export function toDetail(record: TaskRecord, logs: readonly TaskLogLine[], now: number): TaskDetail {
  const { failure } = record;
  const isLive = record.state === TaskState.PENDING || record.state === TaskState.RUNNING;
  return {
    ...toRow(record, now),
    error: record.error ?? null,
    createdAt: record.createdAt,
    completedAt: record.completedAt ?? null,
    parentId: record.parentId ?? null,
    errors: record.errors ?? [],
    failure: failure === undefined ? null : { name: failure.name, code: failure.code ?? null, message: failure.message },
    args: isLive ? describe(record.args) : null,
    result: record.state === TaskState.COMPLETED ? describe(record.result) : null,
    logs,
  };
}

/** A value as bounded text, whatever it is: the detail view shows it as text, never as markup. */
function describe(value: unknown): string {
  const text = inspect(value, { depth: 3, maxArrayLength: 20, maxStringLength: 500, breakLength: 100, compact: 3 });
  return truncate(text, MAX_SUMMARY_LENGTH);
}

function truncate(text: string, length: number): string {
  return text.length > length ? `${text.slice(0, length - 1)}…` : text;
}
