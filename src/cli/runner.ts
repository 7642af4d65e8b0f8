/**
 * Runs checked jobs on a TaskManager and reports on them: the live view, log lines or JSON,
 * then the summary and the results file. Shared by `taskloom run` and `taskloom demo`.
 *
 * Ctrl-C once takes no new jobs and cancels the running ones, then writes the results of
 * everything; Ctrl-C again writes the results as they stand and exits at once.
 */
import type { LevelWithSilent, Logger } from 'pino';
import { TaskManager } from '../main/manager.js';
import { errorMessage } from '../shared/errors.js';
import type { CreateTaskOptions, Task } from '../shared/task.js';
import { ExitCode, SIGNAL_EXIT_CODES, type StopSignal } from './exit-codes.js';
import type { Job } from './jobs.js';
import { resumeJobs, type JournalRun } from './journal.js';
import { LiveView } from './live-view.js';
import { createRunLogger, logTaskEvents, type OutputMode } from './logging.js';
import { ResultsCollector, serializeResults, writeResults, writeResultsSync, type ResultsDocument } from './results.js';
import { renderSummary } from './summary.js';

export interface RunnerOptions {
  /** What is being run, for the view and the results: the job file as given, or `demo`. */
  readonly source: string;
  /** How many tasks run at once. */
  readonly concurrency: number;
  readonly logLevel: LevelWithSilent;
  readonly mode: OutputMode;
  /** Where to write the results document, if anywhere. */
  readonly out: string | undefined;
  /** Modules (absolute paths) every worker imports before its first task. */
  readonly preload?: readonly string[];
  /** `--journal`: record the run, and take up an earlier one where it stopped. */
  readonly journal?: JournalRun;
  /**
   * Called once every job's task exists, before any runs, and awaited: the demo arranges its
   * cancellation here, and `--dashboard` starts the dashboard.
   */
  readonly onCreated?: (manager: TaskManager, tasks: readonly Task[]) => void | Promise<void>;
}

export interface RunOutcome {
  readonly document: ResultsDocument;
  /** The signal that interrupted the run, if one did; SIGPIPE when the reader of its log went away. */
  readonly signal: StopSignal | undefined;
  /** Why the results file could not be written, if it could not. */
  readonly writeError: Error | undefined;
}

/** The signals a run listens for; the third StopSignal, SIGPIPE, comes from its logger. */
const SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/** Runs `jobs` to the end, or until interrupted, and prints the outcome. */
export async function runJobs(jobs: readonly Job[], options: RunnerOptions): Promise<RunOutcome> {
  const { mode, source } = options;
  let view: LiveView | undefined;
  let onSignal: ((received: StopSignal) => void) | undefined = undefined;
  const logger = createRunLogger(
    options,
    (line) => (view === undefined ? process.stdout.write(`${line}\n`) : view.log(line)),
    () => onSignal?.('SIGPIPE'),
  );
  const { journal } = options;
  const manager = new TaskManager({
    maxConcurrentTasks: options.concurrency,
    logger,
    workerPreload: options.preload ?? [],
    ...(journal === undefined ? {} : { journal: journal.plan.path }),
  });
  const collector = new ResultsCollector(jobs);
  collector.attach(manager);
  if (mode === 'live') view = new LiveView(manager, source);
  else logTaskEvents(manager, logger);

  try {
    const create = (job: Job): string => manager.createTask(job.name, job.handler, taskOptions(job));
    const { tasks, skipped } =
      journal === undefined
        ? { tasks: jobs.map((job) => manager.getTask(create(job)) as Task), skipped: 0 }
        : resumeJobs(manager, jobs, journal, create);
    tasks.forEach((task, index) => collector.add(index, task));
    if (journal !== undefined) {
      collector.resumed = { journal: journal.plan.path, skipped };
      if (skipped > 0) {
        logger.info({ journal: journal.plan.path, skipped }, `skipping ${skipped} of ${jobs.length} jobs, done in an earlier run`);
      }
    }
    await options.onCreated?.(manager, tasks);
  } catch (error) {
    await manager.stop();
    throw error;
  }

  let signal: StopSignal | undefined;
  onSignal = (received: StopSignal): void => {
    if (signal !== undefined) {
      exitNow(received);
      return;
    }
    signal = received;
    view?.interrupt();
    logger.warn({ signal: received }, 'interrupted: taking no new jobs and cancelling running tasks; press Ctrl-C again to exit at once');
    void manager.stop();
  };
  const exitNow = (received: StopSignal): never => {
    view?.abandon();
    if (options.out !== undefined) {
      try {
        writeResultsSync(options.out, collector.document(source, true));
      } catch (error) {
        process.stderr.write(`taskloom: could not write the results file ${options.out}: ${errorMessage(error)}\n`);
      }
    }
    process.stderr.write(`taskloom: ${received} again: exiting now\n`);
    process.exit(SIGNAL_EXIT_CODES[signal ?? received]);
  };
  const listeners = SIGNALS.map((name) => [name, () => onSignal(name)] as const);
  for (const [name, listener] of listeners) process.on(name, listener);

  try {
    view?.start();
    if (view === undefined) logger.info({ source, jobs: jobs.length, concurrency: options.concurrency }, 'run started');
    void manager.runTasks();
    await manager.onIdle();
    await manager.stop();
  } finally {
    for (const [name, listener] of listeners) process.off(name, listener);
    view?.stop();
  }

  const document = collector.document(source, signal !== undefined);
  const writeError = await reportRun(document, options, view === undefined ? logger : undefined);
  return { document, signal, writeError };
}

/** Where a run's results go and how they are shown: what `reportRun` needs of its options. */
export interface ReportOptions {
  readonly mode: OutputMode;
  readonly out: string | undefined;
}

/**
 * The end of a run, local or distributed: a last log line (when there was no live view), the
 * results file, then the summary or the JSON document on stdout. Returns why the results file
 * could not be written, if it could not.
 */
export async function reportRun(document: ResultsDocument, options: ReportOptions, logger: Logger | undefined): Promise<Error | undefined> {
  logger?.info({ stats: document.stats, durationMs: document.durationMs }, 'run finished');
  let writeError: Error | undefined;
  if (options.out !== undefined) {
    try {
      await writeResults(options.out, document);
    } catch (error) {
      writeError = error instanceof Error ? error : new Error(String(error));
      process.stderr.write(`taskloom: could not write the results file ${options.out}: ${errorMessage(error)}\n`);
    }
  }
  printOutcome(document, options, writeError);
  return writeError;
}

/** The exit code for a run's outcome: 130 or 143 after a signal, 1 when a task did not complete, else 0. */
export function exitCodeOf(outcome: RunOutcome): number {
  if (outcome.signal !== undefined) return SIGNAL_EXIT_CODES[outcome.signal];
  const { stats } = outcome.document;
  return stats.completed === stats.total && outcome.writeError === undefined ? ExitCode.OK : ExitCode.TASK_FAILED;
}

function printOutcome(document: ResultsDocument, options: ReportOptions, writeError: Error | undefined): void {
  if (options.mode === 'json') {
    process.stdout.write(serializeResults(document));
    return;
  }
  // A terminal that reports no size (0 columns) gets the usual default.
  const width = process.stdout.isTTY ? (process.stdout.columns || 100) - 1 : 120;
  process.stdout.write(`\n${renderSummary(document, width)}\n`);
  const skipped = document.resumed?.skipped ?? 0;
  if (skipped > 0)
    process.stdout.write(
      `Skipped ${skipped} ${skipped === 1 ? 'job' : 'jobs'} done in an earlier run (journal ${document.resumed?.journal})\n`,
    );
  if (options.out !== undefined && writeError === undefined) process.stdout.write(`Results written to ${options.out}\n`);
}

/** createTask's options for a job: only those the job file sets, besides its priority and args. */
function taskOptions(job: Job): CreateTaskOptions {
  const options: CreateTaskOptions = { priority: job.priority, args: job.args };
  if (job.timeoutMs !== undefined) options.timeoutMs = job.timeoutMs;
  if (job.retry !== undefined) options.retry = job.retry;
  return options;
}
