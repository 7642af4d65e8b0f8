/**
 * `taskloom run --journal`: which jobs of a job file the journal already holds, and what to do
 * with each on a rerun.
 *
 * Each task the command creates is labelled in the journal with its job's key: the job's index
 * and a hash of its name, handler and args. On a rerun a job is matched by that key, so a job
 * that changed since (or moved) gets a new key and runs again. The journal also records the job
 * file it was made for: a journal of another job file is refused before anything is changed.
 */
import { createHash } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { JournalMismatchError } from '../shared/errors.js';
import { isWorkerTask } from '../shared/handler.js';
import { TaskState, type Task } from '../shared/task.js';
import { JournalFile } from '../main/journal/journal-file.js';
import { journalOf } from '../main/journal/journal.js';
import type { TaskManager } from '../main/manager.js';
import { UsageError } from './errors.js';
import type { Job } from './jobs.js';

/** A task of an earlier run, as the journal holds it. */
export interface RecordedTask {
  readonly id: string;
  readonly state: TaskState;
}

/** What a rerun does with each job. */
export interface ResumePlan {
  /** The journal file, absolute. */
  readonly path: string;
  /** By job index: the task the journal holds for that job, when it holds one. */
  readonly recorded: ReadonlyMap<number, RecordedTask>;
  /** Tasks still pending or running in the journal whose job changed or is gone: they must not run. */
  readonly stale: readonly string[];
}

const JOB_FILE_KEY = 'job_file';

/**
 * Checks that the journal at `journal` was made for `jobFile` (a new or empty journal is marked
 * as made for it), and reads which jobs it holds. The journal is closed again before this returns.
 * @throws {JournalMismatchError} for a journal of another job file, or one not made by `taskloom run`; it is left unchanged.
 */
export function planResume(journal: string, jobFile: string, jobs: readonly Job[]): ResumePlan {
  const path = resolve(journal);
  const file = openJournalFile(path);
  try {
    checkJobFile(file, realpathSync(jobFile));
    const rows = file.read(
      (db) =>
        db
          .prepare(
            'SELECT t.id, t.label, coalesce(e.state, t.state) AS state FROM tasks t LEFT JOIN ends e ON e.seq = t.seq WHERE t.label IS NOT NULL ORDER BY t.seq',
          )
          .all() as {
          id: string;
          label: string;
          state: TaskState;
        }[],
    );
    // A job rerun after it failed has several tasks: the latest stands for it.
    const byKey = new Map<string, RecordedTask>();
    for (const { id, label, state } of rows) byKey.set(label, { id, state });
    const recorded = new Map<number, RecordedTask>();
    const current = new Set<string>();
    for (const job of jobs) {
      const task = byKey.get(jobKey(job));
      if (task === undefined) continue;
      recorded.set(job.index, task);
      current.add(task.id);
    }
    const stale = rows.filter(({ id, state }) => isLiveState(state) && !current.has(id)).map(({ id }) => id);
    return { path, recorded, stale };
  } finally {
    file.close();
  }
}

/** Opens the journal; a path in a missing or read-only folder is a usage error (exit 2). */
function openJournalFile(path: string): JournalFile {
  try {
    return JournalFile.open(path, '--journal');
  } catch (error) {
    if (error instanceof TypeError) throw new UsageError(`option --journal: ${error.message}`, { cause: error });
    throw error;
  }
}

function checkJobFile(file: JournalFile, jobFile: string): void {
  const recorded = file.read(() => file.getMeta(JOB_FILE_KEY));
  if (recorded === jobFile) return;
  if (recorded !== undefined) {
    throw new JournalMismatchError(
      file.path,
      `was written for another job file, ${recorded}, not ${jobFile}: give another --journal file, or move this one away to start afresh`,
    );
  }
  const count = file.read((db) => db.prepare('SELECT count(*) FROM tasks').pluck().get() as number);
  if (count > 0) {
    throw new JournalMismatchError(file.path, `holds ${count} tasks that taskloom run did not record: give another --journal file`);
  }
  file.setMeta(JOB_FILE_KEY, jobFile);
}

/** What becomes of a job that the journal already holds a task for. */
export function resumeAction(task: RecordedTask, retryFailed: boolean): 'skip' | 'resume' | 'rerun' {
  if (task.state === TaskState.COMPLETED) return 'skip';
  if (task.state === TaskState.FAILED) return retryFailed ? 'rerun' : 'skip';
  if (isLiveState(task.state)) return 'resume';
  return 'rerun';
}

function isLiveState(state: TaskState): boolean {
  return state === TaskState.PENDING || state === TaskState.RUNNING;
}

/** A job's key: `<index>:<hash of its name, handler and args>`. */
export function jobKey(job: Job): string {
  const handler = isWorkerTask(job.handler) ? `${job.handler.module}#${job.handler.exportName}` : '';
  const hash = createHash('sha256')
    .update(canonicalJson([job.name, handler, job.args]))
    .digest('hex');
  return `${job.index}:${hash.slice(0, 32)}`;
}

/** JSON with object keys sorted, so that reordering the keys of a job's args does not change it. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, entry: unknown) =>
    entry !== null && typeof entry === 'object' && !Array.isArray(entry)
      ? Object.fromEntries(Object.entries(entry).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : entry,
  );
}

/** The options of a run with `--journal`. */
export interface JournalRun {
  readonly plan: ResumePlan;
  /** `--retry-failed`: run the jobs that failed again too. */
  readonly retryFailed: boolean;
}

/** The tasks of every job, in job order, and how many jobs were skipped as done in an earlier run. */
export interface ResumedJobs {
  readonly tasks: Task[];
  readonly skipped: number;
}

/**
 * Gives every job its task on a journaled manager: the task of an earlier run when the job is
 * done (or pending, to run again), a new one, labelled with the job's key, otherwise. Tasks of
 * jobs that changed or are gone are cancelled first, so that they never run.
 */
export function resumeJobs(manager: TaskManager, jobs: readonly Job[], run: JournalRun, create: (job: Job) => string): ResumedJobs {
  const journal = journalOf(manager);
  for (const id of run.plan.stale) manager.cancelTask(id);
  let skipped = 0;
  const tasks = jobs.map((job) => {
    const recorded = run.plan.recorded.get(job.index);
    const action = recorded === undefined ? 'rerun' : resumeAction(recorded, run.retryFailed);
    const earlier = recorded === undefined || action === 'rerun' ? undefined : manager.getTask(recorded.id);
    if (earlier !== undefined) {
      if (action === 'skip') skipped++;
      return earlier;
    }
    const id = create(job);
    journal?.label(id, jobKey(job));
    return manager.getTask(id) as Task;
  });
  return { tasks, skipped };
}
