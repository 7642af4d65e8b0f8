/** `taskloom run <jobs.json | jobs.ndjson>`: checks a job file, runs every job and reports. */
import { statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, resolve } from 'node:path';
import type { LevelWithSilent } from 'pino';
import { openDashboard, type DashboardFlag } from './dashboard.js';
import {
  JournalCorruptError,
  JournalLockedError,
  JournalMismatchError,
  JournalUnavailableError,
  MissingDependencyError,
} from '../shared/errors.js';
import { JobFileError, UsageError } from './errors.js';
import { ExitCode } from './exit-codes.js';
import { loadJobFile } from './jobs.js';
import { planResume } from './journal.js';
import type { OutputMode } from './logging.js';
import { distributedRunOptions, isDistributed, runDistributedJobs } from './distributed-run.js';
import { exitCodeOf, runJobs, type RunnerOptions } from './runner.js';

/** The options of `taskloom run`, as commander parses them. */
export interface RunCommandOptions {
  /**
   * How many tasks run at once.
   * @default os.availableParallelism()
   */
  concurrency?: number;
  /** Write every task's final record to this JSON file. */
  out?: string;
  /**
   * The least level of the log lines shown.
   * @default 'info' ('warn' with --json)
   */
  logLevel?: LevelWithSilent;
  /** Print one JSON document with every task's record at the end, and no live view. */
  json?: boolean;
  /** Modules every worker imports before its first task (relative to the working directory). */
  preload?: string[];
  /** Record the run in this journal file; a rerun with the same journal runs only the jobs that did not complete. */
  journal?: string;
  /** With `journal`: run again the jobs that failed too. */
  retryFailed?: boolean;
  /** Serve the dashboard while the run lasts: on this port, or any free one for `true`. */
  dashboard?: DashboardFlag;
  /** Submit the jobs to the distributed queue `queue` in this Redis instead (see `taskloom worker`). */
  redis?: string;
  /** With `redis`: the distributed queue's name. */
  queue?: string;
  /** With `redis`: `false` runs no task in this process. */
  work?: boolean;
}

/**
 * Runs the jobs of a job file.
 * @returns The exit code: 0 when every task completed, 1 when any did not, 2 for a bad job
 *   file or option (before anything runs), 130 after Ctrl-C.
 */
export async function runCommand(file: string, options: RunCommandOptions): Promise<number> {
  const mode = chooseMode(options);
  try {
    if (options.out !== undefined) checkOutPath(options.out);
    if (options.retryFailed === true && options.journal === undefined) {
      throw new UsageError('option --retry-failed reruns the failed jobs of a journal: give the journal with --journal');
    }
    const jobs = await loadJobFile(file);
    if (isDistributed(options) && options.dashboard !== undefined) {
      throw new UsageError("option --dashboard serves this process's run; with --redis, serve each worker's: taskloom worker --dashboard");
    }
    if (isDistributed(options) && options.journal !== undefined) {
      throw new UsageError('option --journal records a run of this process; with --redis, the queue in Redis keeps the record');
    }
    if (isDistributed(options)) return await runDistributedJobs(jobs, distributedRunOptions(file, options, mode));
    const preload = checkPreload(options.preload ?? []);
    // Last of the checks: a journal new to this job file is marked as made for it.
    const journal =
      options.journal === undefined
        ? undefined
        : { plan: planResume(options.journal, file, jobs), retryFailed: options.retryFailed === true };
    const outcome = await runJobs(jobs, {
      source: file,
      concurrency: options.concurrency ?? availableParallelism(),
      logLevel: options.logLevel ?? (mode === 'json' ? 'warn' : 'info'),
      mode,
      out: options.out,
      preload,
      ...(journal === undefined ? {} : { journal }),
      ...dashboardHook(options.dashboard),
    });
    return exitCodeOf(outcome);
  } catch (error) {
    if (error instanceof JobFileError) {
      process.stderr.write(`taskloom run: nothing was run, the job file has ${error.problems.length === 1 ? 'a problem' : 'problems'}:\n`);
      for (const problem of error.problems) process.stderr.write(`  ${problem}\n`);
      return ExitCode.BAD_INPUT;
    }
    if (error instanceof UsageError || isJournalError(error)) {
      process.stderr.write(`taskloom run: ${error.message}\n`);
      return ExitCode.BAD_INPUT;
    }
    throw error;
  }
}

/** With --dashboard, a runner hook that serves the dashboard once the tasks exist, before any runs. */
function dashboardHook(flag: DashboardFlag): Pick<RunnerOptions, 'onCreated'> {
  return flag === undefined ? {} : { onCreated: (manager) => openDashboard(manager, flag) };
}

/** A journal that cannot be used: nothing was run, and the journal was left as it was. */
function isJournalError(error: unknown): error is Error {
  return (
    error instanceof JournalCorruptError ||
    error instanceof JournalLockedError ||
    error instanceof JournalMismatchError ||
    error instanceof JournalUnavailableError ||
    error instanceof MissingDependencyError
  );
}

/** The live view on a terminal, unless --json; plain log lines otherwise. */
export function chooseMode(options: { json?: boolean }): OutputMode {
  if (options.json === true) return 'json';
  return process.stdout.isTTY ? 'live' : 'log';
}

/** --preload modules must exist: they are resolved against the working directory. */
function checkPreload(modules: readonly string[]): string[] {
  return modules.map((module) => {
    const path = resolve(module);
    if (statSync(path, { throwIfNoEntry: false })?.isFile() !== true) {
      throw new UsageError(`option --preload: ${module} does not exist (looked for ${path})`);
    }
    return path;
  });
}

/** --out must name a file in a folder that exists, so that results are never lost at the end. */
function checkOutPath(out: string): void {
  const folder = dirname(resolve(out));
  if (statSync(folder, { throwIfNoEntry: false })?.isDirectory() !== true) {
    throw new UsageError(`option --out: the folder ${folder} does not exist, so ${out} could not be written`);
  }
  if (statSync(out, { throwIfNoEntry: false })?.isDirectory() === true) {
    throw new UsageError(`option --out: ${out} is a folder; give a file name`);
  }
}
