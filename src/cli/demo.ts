/**
 * `taskloom demo`: an embedded job set that needs no network and no arguments. CPU-heavy
 * tasks at three priorities, reminder timers, a task cancelled midway and one that fails on
 * purpose, in well under 30 seconds.
 */
import type { LevelWithSilent } from 'pino';
import { workerTask, type Handler } from '../shared/handler.js';
import type { FinalTaskState } from '../shared/task.js';
import { builtInAction } from './actions.js';
import { openDashboard, type DashboardFlag } from './dashboard.js';
import { ExitCode } from './exit-codes.js';
import type { Job } from './jobs.js';
import { chooseMode } from './run.js';
import { UsageError } from './errors.js';
import { exitCodeOf, runJobs, type RunnerOptions, type RunOutcome } from './runner.js';

/** The demo's handlers are built next to the worker entry, and loaded from there. */
const DEMO_TASKS = new URL('./demo-tasks.js', import.meta.url);

/** The options of `taskloom demo`. */
export interface DemoCommandOptions {
  /**
   * How many tasks run at once: fewer than the jobs, so that priorities show.
   * @default 3
   */
  concurrency?: number;
  out?: string;
  logLevel?: LevelWithSilent;
  json?: boolean;
  /** Serve the dashboard while the demo runs: on this port, or any free one for `true`. */
  dashboard?: DashboardFlag;
}

interface DemoJob {
  readonly name: string;
  readonly handler: Handler;
  readonly args: unknown;
  readonly priority: number;
  /** How the job should end: the demo exits 1 when one ends otherwise. */
  readonly expected: FinalTaskState;
  /** Cancel the task once its progress reaches this. */
  readonly cancelAtProgress?: number;
}

const LOW = 0;
const NORMAL = 5;
const URGENT = 10;
const CANCEL_AT = 40;

function demoJobs(): DemoJob[] {
  const task = (exportName: string): Handler => workerTask(DEMO_TASKS, exportName);
  const reminderTimer = builtInAction('reminderTimer');
  // Queued low priority first: the urgent jobs still start first.
  return [
    { name: 'Hash chain 600k links', handler: task('hashChain'), args: { links: 600_000 }, priority: LOW, expected: 'completed' },
    { name: 'Primes below 150M', handler: task('primeSieve'), args: { limit: 150_000_000 }, priority: LOW, expected: 'completed' },
    {
      name: 'Reminder: stretch your legs',
      handler: reminderTimer,
      args: { durationSeconds: 3, message: 'Time to stretch your legs' },
      priority: LOW,
      expected: 'completed',
    },
    { name: 'Hash chain 800k links', handler: task('hashChain'), args: { links: 800_000 }, priority: NORMAL, expected: 'completed' },
    {
      name: 'Primes below 300M (cancelled midway)',
      handler: task('primeSieve'),
      args: { limit: 300_000_000 },
      priority: NORMAL,
      expected: 'cancelled',
      cancelAtProgress: CANCEL_AT,
    },
    {
      name: 'Verify checksums (fails on purpose)',
      handler: task('verifyChecksums'),
      args: { records: 10_000, failAt: 6_000 },
      priority: NORMAL,
      expected: 'failed',
    },
    {
      name: 'Reminder: tea is ready',
      handler: reminderTimer,
      args: { durationSeconds: 2, message: 'Your tea is ready' },
      priority: NORMAL,
      expected: 'completed',
    },
    { name: 'URGENT hash chain 1M links', handler: task('hashChain'), args: { links: 1_000_000 }, priority: URGENT, expected: 'completed' },
    {
      name: 'URGENT primes below 200M',
      handler: task('primeSieve'),
      args: { limit: 200_000_000 },
      priority: URGENT,
      expected: 'completed',
    },
    { name: 'URGENT hash chain 900k links', handler: task('hashChain'), args: { links: 900_000 }, priority: URGENT, expected: 'completed' },
  ];
}

/**
 * Runs the demo.
 * @returns 0 when every job ended as the demo intends (one failed, one cancelled, the rest
 *   completed), 1 otherwise, 130 after Ctrl-C (143 after SIGTERM).
 */
export async function demoCommand(options: DemoCommandOptions): Promise<number> {
  const demo = demoJobs();
  const jobs: Job[] = demo.map((job, index) => ({
    index,
    line: undefined,
    name: job.name,
    handler: job.handler,
    args: job.args,
    priority: job.priority,
  }));
  const mode = chooseMode(options);
  const concurrency = options.concurrency ?? 3;
  if (mode !== 'json') process.stdout.write(describeDemo(demo, concurrency));
  const outcome = await runDemo(jobs, {
    source: 'demo',
    concurrency,
    logLevel: options.logLevel ?? (mode === 'json' ? 'warn' : 'info'),
    mode,
    out: options.out,
    onCreated: async (manager, tasks) => {
      demo.forEach((job, index) => {
        const id = tasks[index]?.id;
        const threshold = job.cancelAtProgress;
        if (id === undefined || threshold === undefined) return;
        const onProgress = (task: { id: string; progress: number }): void => {
          if (task.id !== id || task.progress < threshold) return;
          manager.off('progress', onProgress);
          manager.cancelTask(id);
        };
        manager.on('progress', onProgress);
      });
      if (options.dashboard !== undefined) await openDashboard(manager, options.dashboard);
    },
  });
  if (outcome === undefined) return ExitCode.BAD_INPUT;
  if (outcome.signal !== undefined) return exitCodeOf(outcome);
  const surprises = outcome.document.tasks.flatMap((record, index) => {
    const expected = demo[index]?.expected;
    return record.state === expected ? [] : [`"${record.name}" ended ${record.state}, but the demo expects ${expected ?? 'nothing'}`];
  });
  if (mode !== 'json') {
    process.stdout.write(
      surprises.length === 0 ? 'Demo finished: every job ended as intended.\n' : `Demo went wrong:\n  ${surprises.join('\n  ')}\n`,
    );
  } else if (surprises.length > 0) {
    process.stderr.write(`taskloom demo: ${surprises.join('; ')}\n`);
  }
  return surprises.length === 0 && outcome.writeError === undefined ? ExitCode.OK : ExitCode.TASK_FAILED;
}

/** Runs the demo's jobs; undefined, once said on stderr, when an option could not be honoured (--dashboard's port in use). */
async function runDemo(jobs: readonly Job[], options: RunnerOptions): Promise<RunOutcome | undefined> {
  try {
    return await runJobs(jobs, options);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`taskloom demo: ${error.message}\n`);
    return undefined;
  }
}

function describeDemo(demo: readonly DemoJob[], concurrency: number): string {
  const cancelled = demo.find((job) => job.expected === 'cancelled');
  const failing = demo.find((job) => job.expected === 'failed');
  return [
    `taskloom demo: ${demo.length} jobs on ${concurrency} worker threads.`,
    `  - Jobs are queued low priority first, yet the URGENT ones (priority ${URGENT}) start first.`,
    `  - "${cancelled?.name ?? ''}" is cancelled once it reaches ${CANCEL_AT}%.`,
    `  - "${failing?.name ?? ''}" fails, and its error is reported.`,
    '',
  ].join('\n');
}
