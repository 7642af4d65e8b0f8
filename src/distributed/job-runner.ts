/**
 * Runs the queue's jobs in this process. A BullMQ Worker takes jobs (highest priority first,
 * never more than `maxConcurrentTasks` at once) and hands each to a local TaskManager, so the
 * handler runs on this process's worker threads with the usual task context: progress, log and
 * signal. The local task's end is recorded in Redis (where an accepted cancel wins), then
 * becomes BullMQ's completion or failure; retries and their delays are BullMQ's.
 *
 * Cancels arrive on a pub/sub channel, as BullMQ's own cancel reaches one process only. On
 * `stop()` the running tasks are handed back to the queue for another process to run.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Job, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { TaskManager } from '../main/manager.js';
import { retryDelay } from '../main/retry.js';
import { errorMessage, ModuleUnavailableError, TaskTimeoutError } from '../shared/errors.js';
import { workerTask } from '../shared/handler.js';
import { serializeError } from '../shared/messages.js';
import type { Task, TaskFailure } from '../shared/task.js';
import { bullConnection, type BullMQModule } from './connection.js';
import { decodeRetry, type JobData } from './job-data.js';
import { findProblem } from './json-safe.js';
import type { ResolvedDistributedOptions } from './options.js';
import { ProgressForwarder } from './progress-forwarder.js';
import { CANCELLED_REASON } from './snapshot.js';
import type { QueueStore, RecordedState } from './store.js';

/** A cancel that arrived before its task started here is remembered this long. */
const EARLY_CANCEL_MS = 60_000;
const LOAD_FAILURES = new Set(['TASKLOOM_MODULE_LOAD_FAILED', 'TASKLOOM_HANDLER_NOT_FOUND']);

interface RunningJob {
  readonly localId: string;
  readonly progress: ProgressForwarder;
  isHandedBack: boolean;
}

/** How an attempt ended, before the record in Redis has the last word. */
interface Outcome {
  readonly state: RecordedState;
  readonly result?: unknown;
  readonly error?: string;
  readonly failure?: TaskFailure;
  /** Whether BullMQ may try again. */
  readonly isRetriable: boolean;
}

export class JobRunner {
  readonly #local: TaskManager;
  readonly #worker: Worker<JobData>;
  readonly #store: QueueStore;
  readonly #subscriber: Redis;
  readonly #bullmq: BullMQModule;
  readonly #host: string;
  readonly #logger: Logger;
  readonly #running = new Map<string, RunningJob>();
  readonly #byLocalId = new Map<string, RunningJob>();
  readonly #earlyCancels = new Map<string, number>();
  #stopped: Promise<void> | undefined;

  constructor(bullmq: BullMQModule, options: ResolvedDistributedOptions, store: QueueStore, subscriber: Redis, logger: Logger) {
    this.#bullmq = bullmq;
    this.#store = store;
    this.#subscriber = subscriber;
    this.#host = options.host;
    this.#logger = logger;
    // Retries and time limits come with each job; BullMQ does the retrying.
    const { retry: _retry, timeoutMs: _timeoutMs, ...local } = options.localOptions;
    this.#local = new TaskManager({ ...local, maxFinishedTasks: 0, autoStart: true });
    this.#local.on('progress', (task) => this.#byLocalId.get(task.id)?.progress.set(task.progress));
    subscriber.on('message', (_channel: string, id: string) => this.#cancel(id));
    this.#worker = new bullmq.Worker<JobData>(options.queue, (job, token) => this.#process(job, token ?? ''), {
      connection: bullConnection(options.redis),
      concurrency: options.local.maxConcurrentTasks,
      name: options.host,
      autorun: false,
      stalledInterval: options.stalledIntervalMs,
      lockDuration: options.lockDurationMs,
      maxStalledCount: options.maxStalledCount,
      settings: { backoffStrategy: (attemptsMade: number, _type, _error, job) => delayBeforeRetry(job as Job<JobData>, attemptsMade) },
    });
    this.#worker.on('error', (error) => logger.warn({ err: error }, 'the queue worker reported an error (Redis away?); it goes on'));
    // A task recovered from dead processes too many times fails in BullMQ without reaching a handler: record it.
    this.#worker.on('failed', (job) => {
      if (job?.id !== undefined && job.deferredFailure)
        void this.#store.finish(job.id, 'failed', true, job.deferredFailure).catch(() => undefined);
    });
  }

  /** Subscribes to cancels, then starts taking jobs. */
  async start(): Promise<void> {
    await this.#subscriber.subscribe(this.#store.keys.cancelChannel);
    void this.#worker.run().catch((error: unknown) => this.#logger.error({ err: error }, 'the queue worker stopped'));
    await this.#worker.waitUntilReady();
  }

  /** The local manager that runs this process's tasks: what `serveDashboard` shows. */
  get manager(): TaskManager {
    return this.#local;
  }

  /** How many tasks run here now. */
  get runningCount(): number {
    return this.#running.size;
  }

  /** Takes no more jobs, hands the running ones back to the queue, and stops the threads. */
  stop(): Promise<void> {
    this.#stopped ??= (async () => {
      const closing = this.#worker.close();
      for (const running of this.#running.values()) {
        running.isHandedBack = true;
        this.#local.cancelTask(running.localId);
      }
      await closing;
      await this.#local.stop();
      this.#subscriber.disconnect();
    })();
    return this.#stopped;
  }

  async #process(job: Job<JobData>, token: string): Promise<unknown> {
    const id = job.id as string;
    if (this.#stopped !== undefined) return this.#handBack(job, token);
    const outcome = await this.#run(job);
    if (outcome === undefined) return this.#handBack(job, token);
    const failure = outcome.failure === undefined ? '' : JSON.stringify(outcome.failure);
    const state = await this.#store.finish(id, outcome.state, !outcome.isRetriable, outcome.error, failure);
    if (state === 'cancelled') throw new this.#bullmq.UnrecoverableError(`${CANCELLED_REASON}: the task was cancelled`);
    if (state === 'completed') return outcome.result ?? null;
    const message = outcome.error ?? 'the task failed';
    throw outcome.isRetriable ? new Error(message) : new this.#bullmq.UnrecoverableError(message);
  }

  /** Runs one attempt on the local pool; undefined when it was handed back. */
  async #run(job: Job<JobData>): Promise<Outcome | undefined> {
    const id = job.id as string;
    const { data } = job;
    let localId: string;
    try {
      const module = this.#resolveModule(data.module);
      localId = this.#local.createTask(job.name, workerTask(module, data.exportName), {
        args: data.args,
        timeoutMs: data.timeoutMs ?? Infinity,
      });
    } catch (error) {
      const failure =
        error instanceof ModuleUnavailableError ? error : new ModuleUnavailableError(this.#host, data.module, errorMessage(error));
      return this.#failure(job, failure.message, serializeError(failure));
    }
    const progress = new ProgressForwarder(
      (value) => job.updateProgress(value),
      (error) => this.#logger.warn({ err: error, taskId: id }, 'a progress update did not reach Redis'),
    );
    const running: RunningJob = { localId, progress, isHandedBack: false };
    this.#running.set(id, running);
    this.#byLocalId.set(localId, running);
    if (this.#earlyCancels.delete(id)) this.#local.cancelTask(localId);
    let task: Task;
    try {
      task = await this.#local.waitFor(localId);
    } finally {
      this.#running.delete(id);
      this.#byLocalId.delete(localId);
    }
    if (running.isHandedBack) {
      progress.discard();
      return undefined;
    }
    await progress.flush(task.progress);
    return this.#outcome(job, task);
  }

  #outcome(job: Job<JobData>, task: Task): Outcome {
    if (task.state === 'cancelled') return { state: 'cancelled', isRetriable: false };
    if (task.state === 'completed') {
      const problem = findProblem(task.result, 'result', new Set());
      if (problem === undefined) return { state: 'completed', result: task.result, isRetriable: false };
      const error = new TypeError(`The handler's result cannot travel through Redis as JSON: ${problem}`);
      return this.#failure(job, `TypeError: ${error.message}`, serializeError(error), true);
    }
    const failure = task.failure;
    if (failure?.code !== undefined && LOAD_FAILURES.has(failure.code)) {
      const error = new ModuleUnavailableError(this.#host, job.data.module, failure.message);
      return this.#failure(job, error.message, serializeError(error));
    }
    const isTimeout = failure?.code === TaskTimeoutError.code;
    return this.#failure(job, task.error ?? 'the task failed', failure, isTimeout && !job.data.retry.retryOnTimeout);
  }

  #failure(job: Job<JobData>, error: string, failure: TaskFailure | undefined, isFinal = false): Outcome {
    const attempts = job.opts.attempts ?? 1;
    const isRetriable = !isFinal && job.attemptsMade + 1 < attempts;
    return failure === undefined ? { state: 'failed', error, isRetriable } : { state: 'failed', error, failure, isRetriable };
  }

  /** A file: URL that exists here, or a package specifier resolved here. */
  #resolveModule(module: string): string {
    if (module.startsWith('file:')) {
      if (!existsSync(fileURLToPath(module))) throw new ModuleUnavailableError(this.#host, module, 'no such file on this host');
      return module;
    }
    try {
      return import.meta.resolve(module);
    } catch (error) {
      throw new ModuleUnavailableError(this.#host, module, errorMessage(error), { cause: error });
    }
  }

  /** Puts the job back in the queue for another process, with its attempts untouched. */
  async #handBack(job: Job<JobData>, token: string): Promise<never> {
    await job.moveToWait(token);
    throw new this.#bullmq.WaitingError();
  }

  /** A cancel for `id` was published: abort it if it runs here, or remember it in case it is about to. */
  #cancel(id: string): void {
    const running = this.#running.get(id);
    if (running !== undefined) {
      this.#local.cancelTask(running.localId);
      return;
    }
    const now = Date.now();
    for (const [early, at] of this.#earlyCancels) if (now - at > EARLY_CANCEL_MS) this.#earlyCancels.delete(early);
    this.#earlyCancels.set(id, now);
  }
}

/** The delay before retry number `retry`, by the task's own retry policy. */
function delayBeforeRetry(job: Job<JobData> | undefined, retry: number): number {
  return job === undefined ? 0 : retryDelay(decodeRetry(job.data), retry);
}
