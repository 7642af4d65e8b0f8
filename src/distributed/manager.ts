/**
 * DistributedTaskManager: TaskManager's API over one BullMQ queue in Redis, shared by every
 * process (on any host) that names the same queue. Each process may run tasks on its own
 * worker pool (JobRunner); every process sees every task's events (QueueWatcher) and the
 * counts of the whole queue. Anything that needs Redis returns a promise.
 */
import { randomUUID } from 'node:crypto';
import type { Queue, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Dashboard, DashboardOptions } from '../dashboard/options.js';
import { SafeEmitter } from '../main/events.js';
import { resolveLogger } from '../main/logger.js';
import type { TaskEventCallback, TaskEventType } from '../main/manager.js';
import { checkTimeout } from '../main/options.js';
import { resolveRetry } from '../main/retry.js';
import type { TaskEventName, TaskManagerEvents } from '../main/task-table.js';
import { ManagerStoppedError } from '../shared/errors.js';
import { isWorkerTask, type Handler } from '../shared/handler.js';
import { TaskState, type CreateTaskOptions, type Task, type TaskCounts, type TaskId } from '../shared/task.js';
import { checkFunction, checkNonEmptyString, checkOptions, received } from '../shared/validate.js';
import { bullConnection, connect, loadLibraries } from './connection.js';
import { encodeJobData } from './job-data.js';
import { JobRunner } from './job-runner.js';
import { checkJsonSafe } from './json-safe.js';
import { resolveDistributedOptions, type DistributedTaskManagerOptions, type ResolvedDistributedOptions } from './options.js';
import { toBullPriority } from './priority.js';
import { QueueWatcher } from './queue-watcher.js';
import { snapshot, toTask, type DistributedTask } from './snapshot.js';
import { PENDING_TYPES, QueueStore } from './store.js';

const CREATE_OPTIONS = ['priority', 'args', 'timeoutMs', 'retry'] as const;
const CALLBACK_EVENTS: readonly TaskEventType[] = ['started', 'completed', 'failed', 'cancelled'];
const EVENT_NAMES: readonly string[] = ['created', 'started', 'progress', 'retrying', 'completed', 'failed', 'cancelled'];
const STATES: readonly string[] = Object.values(TaskState);
/** A custom BullMQ backoff type: the delay comes from the task's own retry policy (see JobRunner). */
const BACKOFF = 'taskloom';

/** Everything a started manager holds. */
interface Connection {
  readonly client: Redis;
  readonly store: QueueStore;
  readonly queue: Queue;
  readonly queueEvents: QueueEvents;
  readonly watcher: QueueWatcher;
  readonly runner: JobRunner | undefined;
}

/**
 * Runs tasks across processes and machines that share one queue in Redis, with TaskManager's
 * API: priorities, progress, cancellation, timeouts, retries and events, whichever process runs
 * each task. Handlers are `workerTask` references that every host can load.
 *
 * @example
 * const manager = new DistributedTaskManager({ redis: 'redis://127.0.0.1:6379', queue: 'thumbnails' });
 * const id = await manager.createTask('Resize', workerTask('/srv/app/tasks.js', 'resize'), { priority: 10, args: { path } });
 * const task = await manager.waitFor(id);
 * console.log(task.state, task.host, task.result);
 * await manager.stop();
 */
export class DistributedTaskManager {
  readonly #options: ResolvedDistributedOptions;
  readonly #logger: Logger;
  readonly #events: SafeEmitter<TaskManagerEvents>;
  readonly #connection: Promise<Connection>;
  #stopped: Promise<void> | undefined;

  /**
   * Checks the options at once (throwing a TypeError or RangeError), then connects to Redis in
   * the background: see `ready()`.
   */
  constructor(options: DistributedTaskManagerOptions) {
    this.#options = resolveDistributedOptions(options);
    this.#logger = resolveLogger(this.#options.local.logger);
    this.#events = new SafeEmitter((error, event) => this.#logger.error({ err: error, event }, 'a task event listener failed'));
    this.#connection = this.#start();
    // A failed start is reported by every method; it must not also crash the process as unhandled.
    this.#connection.catch((error: unknown) => this.#logger.error({ err: error }, 'the distributed task manager could not start'));
  }

  /** This process, as `task.host` names it: `hostname:pid`. */
  get host(): string {
    return this.#options.host;
  }

  /** The queue's name. */
  get queueName(): string {
    return this.#options.queue;
  }

  /**
   * Serves the dashboard of the tasks this process runs, as `TaskManager.serveDashboard` does:
   * its running tasks, counts, timing figures and `/metrics`. Only for a manager that works.
   * @example
   * const dashboard = await manager.serveDashboard({ port: 9464 });
   */
  async serveDashboard(options?: DashboardOptions): Promise<Dashboard> {
    const { runner } = await this.#connection;
    if (runner === undefined) {
      throw new TypeError('Expected a manager that runs tasks (`work: true`) to serve a dashboard, got one created with `work: false`');
    }
    return runner.manager.serveDashboard(options);
  }

  /**
   * Resolves once Redis answers (and, with `work`, once this process takes tasks). Rejects
   * within `connectTimeoutMs` with a RedisUnavailableError when Redis cannot be reached, or
   * with a MissingDependencyError when bullmq or ioredis is not installed.
   */
  async ready(): Promise<void> {
    await this.#connection;
  }

  async #start(): Promise<Connection> {
    const { bullmq, Redis } = await loadLibraries();
    const options = this.#options;
    const client = await connect(Redis, options.redis, options.redisLabel, options.connectTimeoutMs);
    const store = new QueueStore(client, options.queue);
    const connection = bullConnection(options.redis);
    const warn = (what: string) => (error: Error) =>
      this.#logger.warn({ err: error }, `${what} reported an error (Redis away?); it goes on`);
    const queue = new bullmq.Queue(options.queue, { connection });
    queue.on('error', warn('the queue'));
    const queueEvents = new bullmq.QueueEvents(options.queue, { connection, lastEventId: await store.lastEventId() });
    queueEvents.on('error', warn('the queue events'));
    const watcher = new QueueWatcher({
      queueEvents,
      events: this.#events,
      fetch: (id) => this.#fetch(store, queue, id),
      isIdle: async () => {
        const counts = await queue.getJobCounts(...PENDING_TYPES, 'active');
        return Object.values(counts).every((count) => count === 0);
      },
      logger: this.#logger,
    });
    const runner = options.work ? new JobRunner(bullmq, options, store, client.duplicate(), this.#logger) : undefined;
    await Promise.all([queue.waitUntilReady(), queueEvents.waitUntilReady(), runner?.start()]);
    return { client, store, queue, queueEvents, watcher, runner };
  }

  /**
   * Creates a task in the queue; whichever process has a free slot first runs it (higher
   * priorities first, first-in first-out among equals).
   *
   * @param handler A `workerTask(...)` reference whose module every host can load: a file at
   *   the same path everywhere, or a package specifier (see `packageTask`). A function is refused.
   * @param options `priority`: a multiple of 0.01 from -10000 to 10000 (default 0); `args`: plain
   *   JSON data; `timeoutMs` and `retry` as TaskManager's.
   * @returns The task's id, once the task is stored in Redis.
   * @example
   * const id = await manager.createTask('Resize', workerTask('/srv/app/tasks.js', 'resize'), { priority: 10, args: { path } });
   */
  async createTask<Args, Result>(
    name: string,
    handler: Handler<Args, Result>,
    options?: CreateTaskOptions<NoInfer<Args>>,
  ): Promise<TaskId<Result>> {
    if (this.#stopped !== undefined) throw new ManagerStoppedError('createTask');
    checkNonEmptyString('name', name);
    checkHandler(handler);
    const { priority = 0, args, timeoutMs = this.#options.local.timeoutMs, retry } = checkOptions('options', options, CREATE_OPTIONS);
    const bullPriority = toBullPriority('options.priority', priority);
    if (args !== undefined) checkJsonSafe('options.args', args);
    checkTimeout('options.timeoutMs', timeoutMs);
    const policy = resolveRetry('options.retry', retry, this.#options.local.retry);
    const { queue } = await this.#connection;
    const id = randomUUID();
    const keep = retention(this.#options.local.maxFinishedTasks);
    await queue.add(name, encodeJobData(handler.module, handler.exportName, args, timeoutMs, policy), {
      jobId: id,
      priority: bullPriority,
      attempts: policy.attempts,
      ...(policy.attempts > 1 ? { backoff: { type: BACKOFF } } : {}),
      removeOnComplete: keep,
      removeOnFail: keep,
    });
    return id;
  }

  /** A snapshot of the task, wherever it runs; undefined for an unknown id (or one dropped by retention). */
  async getTask<Result>(id: TaskId<Result>): Promise<DistributedTask<Result> | undefined> {
    checkId(id);
    const { store, queue } = await this.#connection;
    return (await this.#fetch(store, queue, id)) as DistributedTask<Result> | undefined;
  }

  async #fetch(store: QueueStore, queue: Queue, id: string): Promise<DistributedTask | undefined> {
    const [hash, bullState] = await Promise.all([store.jobHash(id), queue.getJobState(id)]);
    if (hash !== undefined) {
      const task = toTask(id, hash, bullState);
      if (task !== undefined) return task;
    }
    const cancelled = await store.cancelledHash(id);
    return cancelled === undefined ? undefined : snapshot(id, cancelled, TaskState.CANCELLED);
  }

  /**
   * Snapshots of the queue's tasks that Redis keeps, oldest first, optionally of one state.
   * @example
   * const running = await manager.listTasks(TaskState.RUNNING);
   */
  async listTasks(state?: TaskState): Promise<DistributedTask[]> {
    if (state !== undefined && !STATES.includes(state)) {
      throw new RangeError(`Expected \`state\` to be one of ${STATES.map((s) => `'${s}'`).join(', ')}, ${received(state)}`);
    }
    const { store, queue } = await this.#connection;
    const groups: [readonly string[], string][] = [
      [PENDING_TYPES, 'waiting'],
      [['active'], 'active'],
      [['completed'], 'completed'],
      [['failed'], 'failed'],
    ];
    const tasks = new Map<string, DistributedTask>();
    for (const [types, bullState] of groups) {
      const ids = await queue.getRanges(types as Parameters<Queue['getRanges']>[0], 0, -1, true);
      const hashes = await store.jobHashes(ids);
      ids.forEach((id, index) => {
        const hash = hashes[index];
        const task = hash === undefined ? undefined : toTask(id, hash, bullState);
        if (task !== undefined && (state === undefined || task.state === state)) tasks.set(id, task);
      });
    }
    if (state === undefined || state === TaskState.CANCELLED) {
      for (const [id, hash] of await store.cancelledHashes()) if (!tasks.has(id)) tasks.set(id, snapshot(id, hash, TaskState.CANCELLED));
    }
    return [...tasks.values()].sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
  }

  /**
   * Cancels a pending or running task, in whichever process runs it. A pending task is removed
   * from the queue; a running one has its `signal` aborted there, and its worker is terminated
   * if it has not settled within `cancelGraceMs`. From this call on the task is CANCELLED, and it
   * is never retried.
   * @returns true when the task was pending or running; false for a finished, cancelled or unknown task.
   */
  async cancelTask(id: string): Promise<boolean> {
    checkId(id);
    const { store, queue } = await this.#connection;
    const answer = await store.cancel(id, this.#options.local.maxFinishedTasks);
    if (answer === 'running') {
      await store.publishCancel(id);
      return true;
    }
    if (answer !== 'pending') return false;
    // A process may have taken the job since: then the cancel is carried to it.
    if ((await queue.remove(id)) === 0) await store.publishCancel(id);
    return true;
  }

  /**
   * Changes the priority of a pending task: it moves to its new place in the queue (behind the
   * tasks that already have that priority).
   * @returns true when the task was pending; false otherwise.
   */
  async setPriority(id: string, priority: number): Promise<boolean> {
    checkId(id);
    const bullPriority = toBullPriority('priority', priority);
    const { queue } = await this.#connection;
    const job = await queue.getJob(id);
    if (job === undefined) return false;
    const bullState = await job.getState();
    if (!(PENDING_TYPES as readonly string[]).includes(bullState) || (await this.getTask(id))?.state !== TaskState.PENDING) return false;
    await job.changePriority({ priority: bullPriority });
    return true;
  }

  /** Counts of the whole queue, whichever process created or ran the tasks; `total` is their sum. */
  async getStats(): Promise<TaskCounts> {
    const { store, queue } = await this.#connection;
    const [counts, finals] = await Promise.all([queue.getJobCounts(...PENDING_TYPES, 'active'), store.finalCounts()]);
    const pending = PENDING_TYPES.reduce((sum, type) => sum + (counts[type] ?? 0), 0);
    const running = counts['active'] ?? 0;
    return { total: pending + running + finals.completed + finals.failed + finals.cancelled, pending, running, ...finals };
  }

  /**
   * Resolves with the task's snapshot once it is final, wherever it ran. Rejects with
   * UnknownTaskError for an id the queue does not know.
   */
  async waitFor<Result>(id: TaskId<Result>): Promise<DistributedTask<Result>> {
    checkId(id);
    const { watcher } = await this.#connection;
    return (await watcher.waitFor(id)) as DistributedTask<Result>;
  }

  /** Resolves once nothing in the queue is pending or running, in any process. */
  async onIdle(): Promise<void> {
    const { watcher } = await this.#connection;
    await watcher.onIdle();
  }

  /**
   * Registers a callback for 'started', 'completed', 'failed' and 'cancelled' of every task of
   * the queue. It may be async; one that throws or rejects is logged and harms nothing else.
   * @returns A function that unregisters the callback.
   */
  addEventCallback(callback: TaskEventCallback): () => void {
    checkFunction('callback', callback);
    const listeners = CALLBACK_EVENTS.map((eventType) => {
      const listener = (task: Task): unknown => callback(task, eventType);
      this.#events.on(eventType, listener);
      return [eventType, listener] as const;
    });
    return () => {
      for (const [eventType, listener] of listeners) this.#events.off(eventType, listener);
    };
  }

  /** Listens to one kind of event of every task of the queue, as TaskManager's `on`. Snapshots carry `host`. */
  on<E extends TaskEventName>(event: E, listener: (...args: TaskManagerEvents[E]) => unknown): this {
    checkEventName(event);
    checkFunction('listener', listener);
    this.#events.on(event, listener);
    return this;
  }

  off<E extends TaskEventName>(event: E, listener: (...args: TaskManagerEvents[E]) => unknown): this {
    checkEventName(event);
    this.#events.off(event, listener);
    return this;
  }

  /**
   * Stops this process's part: it takes no more tasks, hands the tasks running here back to the
   * queue (another process runs them again), and closes its connections. Other processes and
   * the queue's tasks go on. Calling it again returns the same promise.
   */
  stop(): Promise<void> {
    this.#stopped ??= this.#connection.then(
      async ({ client, queue, queueEvents, watcher, runner }) => {
        await runner?.stop();
        watcher.close();
        await Promise.all([queueEvents.close(), queue.close()]);
        client.disconnect();
      },
      () => undefined,
    );
    return this.#stopped;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

function checkHandler(handler: unknown): asserts handler is { module: string; exportName: string } {
  if (typeof handler === 'function') {
    throw new TypeError(
      'Expected `handler` to be a workerTask(module, exportName) reference: a distributed task may run in another process or on another host, and a function cannot travel there',
    );
  }
  if (!isWorkerTask(handler)) throw new TypeError(`Expected \`handler\` to be a workerTask(...) reference, ${received(handler)}`);
}

function checkId(id: unknown): asserts id is string {
  if (typeof id !== 'string') throw new TypeError(`Expected \`id\` to be a task id string, ${received(id)}`);
}

function checkEventName(event: unknown): void {
  if (typeof event !== 'string' || !EVENT_NAMES.includes(event)) {
    throw new RangeError(`Expected \`event\` to be one of ${EVENT_NAMES.map((e) => `'${e}'`).join(', ')}, ${received(event)}`);
  }
}

/** BullMQ's retention of finished jobs for `maxFinishedTasks`. */
function retention(maxFinishedTasks: number): boolean | { count: number } {
  if (maxFinishedTasks === Infinity) return false;
  return maxFinishedTasks === 0 ? true : { count: maxFinishedTasks };
}
