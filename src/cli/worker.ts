/**
 * `taskloom worker --redis URL --queue NAME [--concurrency N] [--preload m]`: runs a distributed
 * queue's tasks in this process until Ctrl-C (or SIGTERM), then stops gracefully: it takes no
 * more tasks and hands the running ones back to the queue, where another worker runs them.
 * A second Ctrl-C exits at once; the tasks it held are recovered by the other workers' stalled
 * check.
 */
import { resolve } from 'node:path';
import type { LevelWithSilent, Logger } from 'pino';
import { DistributedTaskManager } from '../distributed/manager.js';
import { errorMessage, isTaskloomError } from '../shared/errors.js';
import type { Task } from '../shared/task.js';
import { openDashboard, type DashboardFlag } from './dashboard.js';
import { UsageError } from './errors.js';
import { ExitCode, SIGNAL_EXIT_CODES, type StopSignal } from './exit-codes.js';
import { createFdLogger, createLineLogger } from './logging.js';

export interface WorkerCommandOptions {
  readonly redis: string;
  readonly queue: string;
  /** Tasks run at once in this process; the number of CPUs by default. */
  readonly concurrency?: number;
  /** Modules every worker thread imports before its first task, resolved against the working directory. */
  readonly preload?: readonly string[];
  readonly logLevel?: LevelWithSilent;
  /** Serve the dashboard of this process's tasks until it stops: on this port, or any free one for `true`. */
  readonly dashboard?: DashboardFlag;
}

const SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/** Runs the worker until a signal; returns the exit code: 0 after a graceful stop. */
export async function workerCommand(options: WorkerCommandOptions): Promise<number> {
  const level = options.logLevel ?? 'info';
  // Once the reader of its log has gone, the worker stops as a signal would stop it.
  let onBrokenPipe: (() => void) | undefined;
  const logger: Logger = process.stdout.isTTY
    ? createLineLogger(level, (line) => process.stdout.write(`${line}\n`))
    : createFdLogger(level, 1, () => onBrokenPipe?.());
  let manager: DistributedTaskManager;
  try {
    manager = new DistributedTaskManager({
      redis: options.redis,
      queue: options.queue,
      logger,
      ...(options.concurrency === undefined ? {} : { maxConcurrentTasks: options.concurrency }),
      workerPreload: (options.preload ?? []).map((module) => resolve(module)),
    });
  } catch (error) {
    // A bad --redis URL or --preload module: the option is named in the message.
    process.stderr.write(`taskloom worker: ${errorMessage(error)}\n`);
    return ExitCode.BAD_INPUT;
  }
  try {
    await manager.ready();
    const flag = options.dashboard;
    if (flag !== undefined) await openDashboard({ serveDashboard: (dashboard) => manager.serveDashboard(dashboard) }, flag);
  } catch (error) {
    await manager.stop();
    process.stderr.write(`taskloom worker: ${errorMessage(error)}\n`);
    return isTaskloomError(error) || error instanceof UsageError ? ExitCode.BAD_INPUT : ExitCode.TASK_FAILED;
  }
  const host = manager.host;
  const mine = (task: Task): boolean => task.host === host;
  const fields = (task: Task): Record<string, unknown> => ({ taskId: task.id, taskName: task.name });
  manager.on('started', (task) => mine(task) && logger.info(fields(task), 'task started'));
  manager.on('completed', (task) => mine(task) && logger.info(fields(task), 'task completed'));
  manager.on('failed', (task) => mine(task) && logger.error({ ...fields(task), error: task.error }, 'task failed'));
  manager.on('cancelled', (task) => mine(task) && logger.warn(fields(task), 'task cancelled'));
  logger.info({ host, queue: options.queue }, 'worker started: press Ctrl-C to stop');

  const received = await new Promise<StopSignal>((resolve) => {
    for (const name of SIGNALS) process.once(name, () => resolve(name));
    onBrokenPipe = () => resolve('SIGPIPE');
  });
  const again = (): void => {
    process.stderr.write(`taskloom worker: ${received} again: exiting now\n`);
    process.exit(SIGNAL_EXIT_CODES[received]);
  };
  for (const name of SIGNALS) process.once(name, again);
  logger.info({ signal: received }, 'stopping: taking no more tasks, handing the running ones back to the queue');
  await manager.stop();
  for (const name of SIGNALS) process.off(name, again);
  logger.info('worker stopped');
  // After a signal, a graceful stop is a success; a worker whose log nobody reads any more says so.
  return received === 'SIGPIPE' ? ExitCode.BROKEN_PIPE : ExitCode.OK;
}
