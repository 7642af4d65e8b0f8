/**
 * `taskloom run jobs.json --redis URL --queue NAME [--no-work]`: submits a job file to a
 * distributed queue, follows its tasks wherever they run (the live view shows each one's host),
 * and reports as `taskloom run` does. Ctrl-C once cancels this run's unfinished tasks in every
 * process and waits for them; Ctrl-C again exits at once.
 */
import { statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import type { LevelWithSilent, Logger } from 'pino';
import { DistributedTaskManager } from '../distributed/manager.js';
import { errorMessage, isTaskloomError } from '../shared/errors.js';
import { TaskState, type CreateTaskOptions, type Task } from '../shared/task.js';
import { ExitCode, SIGNAL_EXIT_CODES, type StopSignal } from './exit-codes.js';
import type { Job } from './jobs.js';
import { LiveView } from './live-view.js';
import { createRunLogger, type OutputMode } from './logging.js';
import { ResultsCollector, writeResultsSync } from './results.js';
import { exitCodeOf, reportRun, type RunOutcome } from './runner.js';
import { UsageError } from './errors.js';

export interface DistributedRunOptions {
  readonly source: string;
  readonly redis: string;
  readonly queue: string;
  /** Run tasks in this process too. */
  readonly work: boolean;
  readonly concurrency: number;
  readonly logLevel: LevelWithSilent;
  readonly mode: OutputMode;
  readonly out: string | undefined;
  readonly preload: readonly string[];
}

const EVENTS = ['created', 'started', 'progress', 'completed', 'failed', 'cancelled'] as const;
const SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/**
 * Runs `jobs` on the queue to the end, or until interrupted; returns the exit code. Throws a
 * UsageError, before anything runs, for an option the manager refuses.
 */
export async function runDistributedJobs(jobs: readonly Job[], options: DistributedRunOptions): Promise<number> {
  let view: LiveView | undefined;
  let onSignal: ((received: StopSignal) => void) | undefined = undefined;
  const logger = createRunLogger(
    options,
    (line) => (view === undefined ? process.stdout.write(`${line}\n`) : view.log(line)),
    () => onSignal?.('SIGPIPE'),
  );
  const manager = createManager(options, logger);
  try {
    await manager.ready();
  } catch (error) {
    await manager.stop();
    process.stderr.write(`taskloom run: nothing was run: ${errorMessage(error)}\n`);
    return isTaskloomError(error) ? ExitCode.BAD_INPUT : ExitCode.TASK_FAILED;
  }

  // The collector follows the events of this run's tasks; final snapshots are also fed to it from waitFor.
  const collector = new ResultsCollector(jobs);
  const feed = new Map<string, (task: Task) => unknown>();
  collector.attach({ on: (event, listener) => feed.set(event, listener) });
  for (const event of EVENTS) manager.on(event, (task) => feed.get(event)?.(task));
  const counts = () => collector.document(options.source, false).stats;
  if (options.mode === 'live')
    view = new LiveView({ on: (event, listener) => manager.on(event, listener), getStats: counts }, options.source);
  else logEvents(manager, logger);

  let signal: StopSignal | undefined;
  const ids: string[] = [];
  onSignal = (received: StopSignal): void => {
    if (signal !== undefined) {
      view?.abandon();
      if (options.out !== undefined) writeQuietly(() => writeResultsSync(options.out as string, collector.document(options.source, true)));
      process.stderr.write(`taskloom: ${received} again: exiting now\n`);
      process.exit(SIGNAL_EXIT_CODES[signal]);
    }
    signal = received;
    view?.interrupt();
    logger.warn({ signal: received }, "interrupted: cancelling this run's unfinished tasks; press Ctrl-C again to exit at once");
    for (const id of ids) void manager.cancelTask(id).catch(() => false);
  };
  const listeners = SIGNALS.map((name) => [name, () => onSignal(name)] as const);
  for (const [name, listener] of listeners) process.on(name, listener);

  try {
    view?.start();
    if (view === undefined) logger.info({ source: options.source, jobs: jobs.length, queue: options.queue }, 'run started');
    for (const [index, job] of jobs.entries()) {
      if (signal !== undefined) break;
      const id = await manager.createTask(job.name, job.handler, taskOptions(job));
      ids.push(id);
      collector.add(index, pendingTask(id, job));
    }
    const ended = await Promise.all(ids.map((id) => manager.waitFor(id)));
    for (const task of ended) feed.get(task.state)?.(task);
  } finally {
    for (const [name, listener] of listeners) process.off(name, listener);
    view?.stop();
    await manager.stop();
  }

  const document = collector.document(options.source, signal !== undefined);
  const writeError = await reportRun(document, options, view === undefined ? logger : undefined);
  const outcome: RunOutcome = { document, signal, writeError };
  return exitCodeOf(outcome);
}

/**
 * The manager of the run. Its constructor checks the options at once, throwing a TypeError or
 * a RangeError for one it refuses (`--redis notaurl`, `--queue a:b`): a usage error, nothing run.
 */
function createManager(options: DistributedRunOptions, logger: Logger): DistributedTaskManager {
  try {
    return new DistributedTaskManager({
      redis: options.redis,
      queue: options.queue,
      work: options.work,
      maxConcurrentTasks: options.concurrency,
      workerPreload: options.preload,
      logger,
    });
  } catch (error) {
    if (error instanceof TypeError || error instanceof RangeError) throw new UsageError(error.message, { cause: error });
    throw error;
  }
}

/** Each task's start and end as log lines, with the host that ran it. */
function logEvents(manager: DistributedTaskManager, logger: Logger): void {
  const fields = (task: Task): Record<string, unknown> => ({ taskId: task.id, taskName: task.name, host: task.host });
  manager.on('started', (task) => logger.info(fields(task), 'task started'));
  manager.on('completed', (task) => logger.info(fields(task), 'task completed'));
  manager.on('failed', (task) => logger.error({ ...fields(task), error: task.error }, 'task failed'));
  manager.on('cancelled', (task) => logger.warn(fields(task), 'task cancelled'));
}

/** The task of a job just submitted, before any event about it has arrived. */
function pendingTask(id: string, job: Job): Task {
  return {
    id,
    name: job.name,
    state: TaskState.PENDING,
    priority: job.priority,
    progress: 0,
    result: undefined,
    error: undefined,
    attempts: 0,
    errors: [],
    parentId: undefined,
    createdAt: new Date(),
    startedAt: undefined,
    completedAt: undefined,
  };
}

function taskOptions(job: Job): CreateTaskOptions {
  const options: CreateTaskOptions = { priority: job.priority, args: job.args };
  if (job.timeoutMs !== undefined) options.timeoutMs = job.timeoutMs;
  if (job.retry !== undefined) options.retry = job.retry;
  return options;
}

function writeQuietly(write: () => void): void {
  try {
    write();
  } catch (error) {
    process.stderr.write(`taskloom: could not write the results file: ${errorMessage(error)}\n`);
  }
}

/** The options of `taskloom run` that concern a distributed run. */
interface RunFlags {
  readonly concurrency?: number;
  readonly out?: string;
  readonly logLevel?: LevelWithSilent;
  readonly preload?: readonly string[];
  readonly redis?: string;
  readonly queue?: string;
  readonly work?: boolean;
  readonly journal?: string;
  readonly dashboard?: unknown;
}

/** Whether `taskloom run` was given a distributed queue. */
export function isDistributed(flags: RunFlags): boolean {
  return flags.redis !== undefined || flags.queue !== undefined || flags.work === false;
}

/** Checks the flags of a distributed `taskloom run`. */
export function distributedRunOptions(source: string, flags: RunFlags, mode: OutputMode): DistributedRunOptions {
  if (flags.redis === undefined || flags.queue === undefined) {
    throw new UsageError('options --redis and --queue go together (and --no-work needs them): give the Redis URL and the queue name');
  }
  if (flags.journal !== undefined || flags.dashboard !== undefined) {
    throw new UsageError('options --journal and --dashboard are for a run on this machine: they do not go with --redis');
  }
  const preload = (flags.preload ?? []).map((module) => {
    const path = resolve(module);
    if (statSync(path, { throwIfNoEntry: false })?.isFile() !== true) {
      throw new UsageError(`option --preload: ${module} does not exist (looked for ${path})`);
    }
    return path;
  });
  return {
    source,
    redis: flags.redis,
    queue: flags.queue,
    work: flags.work !== false,
    concurrency: flags.concurrency ?? availableParallelism(),
    logLevel: flags.logLevel ?? (mode === 'json' ? 'warn' : 'info'),
    mode,
    out: flags.out,
    preload,
  };
}
