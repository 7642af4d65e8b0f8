/**
 * Results: the latest snapshot of every job's task, kept from the manager's events, and the
 * results document that `--out` and `--json` write.
 */
import { randomBytes } from 'node:crypto';
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { rename, rm, writeFile } from 'node:fs/promises';
import type { Task, TaskCounts } from '../shared/task.js';
import { jsonReplacer } from './format.js';
import type { Job } from './jobs.js';

/** One job's final record in the results document. Times are ISO strings; absent values are null. */
export interface ResultRecord {
  readonly index: number;
  readonly line: number | null;
  readonly name: string;
  readonly id: string;
  readonly state: Task['state'];
  readonly priority: number;
  readonly progress: number;
  readonly result: unknown;
  readonly error: string | null;
  readonly createdAt: string;
  readonly startedAt: string | null;
  readonly completedAt: string | null;
  /** From start to end; null for a task that never started. */
  readonly durationMs: number | null;
}

/** What `--out` writes and `--json` prints. */
export interface ResultsDocument {
  /** The job file, as given on the command line (or `demo`). */
  readonly source: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly durationMs: number;
  /** True when the run was cut short by Ctrl-C (or SIGTERM). */
  readonly interrupted: boolean;
  readonly stats: TaskCounts;
  /** Every job, in file order. */
  readonly tasks: readonly ResultRecord[];
  /** With `--journal`: the journal, and how many jobs it held as done by an earlier run, which were not run again. */
  readonly resumed?: Resumed;
}

export interface Resumed {
  readonly journal: string;
  readonly skipped: number;
}

const EVENTS = ['created', 'started', 'progress', 'completed', 'failed', 'cancelled'] as const;

/** Keeps the latest snapshot of each job's task, by job, from the manager's events. */
export class ResultsCollector {
  readonly #jobs: readonly Job[];
  readonly #tasks: (Task | undefined)[];
  readonly #indexById = new Map<string, number>();
  readonly #startedAt = Date.now();
  /** Set for a run with a journal. */
  resumed: Resumed | undefined = undefined;

  constructor(jobs: readonly Job[]) {
    this.#jobs = jobs;
    this.#tasks = jobs.map(() => undefined);
  }

  /** Follows the manager's events from now on: a TaskManager's, or a distributed manager's. */
  attach(manager: { on(event: (typeof EVENTS)[number], listener: (task: Task) => unknown): unknown }): void {
    const update = (task: Task): void => {
      const index = this.#indexById.get(task.id);
      if (index !== undefined) this.#tasks[index] = task;
    };
    for (const event of EVENTS) manager.on(event, update);
  }

  /** Records the task created for the job at `index`. */
  add(index: number, task: Task): void {
    this.#indexById.set(task.id, index);
    this.#tasks[index] ??= task;
  }

  /** The results document as things stand now. */
  document(source: string, isInterrupted: boolean): ResultsDocument {
    const finishedAt = Date.now();
    const records: ResultRecord[] = [];
    const stats: TaskCounts = { total: 0, pending: 0, running: 0, completed: 0, failed: 0, cancelled: 0 };
    this.#tasks.forEach((task, index) => {
      if (task === undefined) return;
      const job = this.#jobs[index] as Job;
      records.push(toRecord(job, task));
      stats.total++;
      stats[task.state]++;
    });
    return {
      source,
      startedAt: new Date(this.#startedAt).toISOString(),
      finishedAt: new Date(finishedAt).toISOString(),
      durationMs: finishedAt - this.#startedAt,
      interrupted: isInterrupted,
      stats,
      tasks: records,
      ...(this.resumed === undefined ? {} : { resumed: this.resumed }),
    };
  }
}

function toRecord(job: Job, task: Task): ResultRecord {
  const startedAt = task.startedAt?.getTime();
  const completedAt = task.completedAt?.getTime();
  return {
    index: job.index,
    line: job.line ?? null,
    name: task.name,
    id: task.id,
    state: task.state,
    priority: task.priority,
    progress: task.progress,
    result: task.result ?? null,
    error: task.error ?? null,
    createdAt: task.createdAt.toISOString(),
    startedAt: startedAt === undefined ? null : new Date(startedAt).toISOString(),
    completedAt: completedAt === undefined ? null : new Date(completedAt).toISOString(),
    durationMs: startedAt === undefined ? null : (completedAt ?? Date.now()) - startedAt,
  };
}

/** The document as JSON text, with results that JSON cannot hold (bigints, Maps...) converted. */
export function serializeResults(document: ResultsDocument): string {
  return `${JSON.stringify(document, jsonReplacer, 2)}\n`;
}

/**
 * Writes the results file whole or not at all: to a temporary file next to it, then renamed
 * over `path`. The temporary file has an unpredictable name and is created exclusively, so
 * that a file or symlink planted in its place is never written through.
 */
export async function writeResults(path: string, document: ResultsDocument): Promise<void> {
  const temporary = temporaryName(path);
  try {
    await writeFile(temporary, serializeResults(document), { flag: 'wx' });
    await rename(temporary, path);
  } catch (error) {
    // The write's error is the one to report, not a failure to tidy up after it.
    if (!isSomeoneElses(error)) await rm(temporary, { force: true }).catch(() => undefined);
    throw error;
  }
}

/** As writeResults, synchronously: for the second Ctrl-C, which exits at once. */
export function writeResultsSync(path: string, document: ResultsDocument): void {
  const temporary = temporaryName(path);
  try {
    writeFileSync(temporary, serializeResults(document), { flag: 'wx' });
    renameSync(temporary, path);
  } catch (error) {
    if (!isSomeoneElses(error)) removeQuietly(temporary);
    throw error;
  }
}

function removeQuietly(path: string): void {
  try {
    rmSync(path, { force: true });
  } catch {
    // As in writeResults: the write's error is the one to report.
  }
}

/** `<path>.<random>.tmp`: in the same folder, so that the rename cannot cross file systems. */
function temporaryName(path: string): string {
  return `${path}.${randomBytes(8).toString('hex')}.tmp`;
}

/**
 * The exclusive create failed because something is already at that name: it is not ours to
 * remove. (Only the create can fail so: a rename over a file replaces it.)
 */
function isSomeoneElses(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | null)?.code === 'EEXIST';
}
