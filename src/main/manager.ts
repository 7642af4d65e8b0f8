/**
 * TaskManager: the public face of taskloom. It checks every argument, reads the task table for
 * what callers ask about, and leaves dispatch to its scheduler.
 */
import type { MessagePort } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Dashboard, DashboardOptions } from '../dashboard/options.js';
import type { DashboardSource } from '../dashboard/source.js';
import { ManagerEndpoint } from './endpoint.js';
import { CallerEndedError, ManagerStoppedError, QueueFullError, UnknownTaskError } from '../shared/errors.js';
import { MapRun, type MapOptions, type Settled } from './batch.js';
import { HandlerChecker, isWorkerTask, type Handler, type WorkerTask } from '../shared/handler.js';
import { Journal } from './journal/journal.js';
import { resolveLogger } from './logger.js';
import { DirectClient, type ManagerCalls } from './manager-calls.js';
import { checkTimeout, resolveOptions, type ResolvedOptions, type TaskManagerOptions } from './options.js';
import { resolveRetry } from './retry.js';
import { Scheduler } from './scheduler.js';
import { TaskTimings } from './stats.js';
import { TaskLogs } from './task-logs.js';
import { TaskTable, type TaskEventName, type TaskManagerEvents } from './task-table.js';
import { checkTransfer } from './transfer-args.js';
import { TaskState, type CreateTaskOptions, type Task, type TaskId, type TaskStats } from '../shared/task.js';
import {
  checkBoolean,
  checkFiniteNumber,
  checkFunction,
  checkNonEmptyString,
  checkOptions,
  checkPositiveInteger,
  checkProgress,
  isIterable,
  received,
} from '../shared/validate.js';

/** The events that `addEventCallback` callbacks receive. */
export type TaskEventType = 'started' | 'completed' | 'failed' | 'cancelled';

export type TaskEventCallback = (task: Task, eventType: TaskEventType) => void | Promise<void>;

const CALLBACK_EVENTS: readonly TaskEventType[] = ['started', 'completed', 'failed', 'cancelled'];
const CREATE_OPTIONS = ['priority', 'args', 'timeoutMs', 'retry', 'transfer', 'durable'] as const;
const MAP_OPTIONS = ['concurrency', 'chunkSize', 'priority', 'signal', 'settle', 'name'] as const;
const STATES: readonly string[] = Object.values(TaskState);

/**
 * Runs tasks in parallel on worker threads and tracks every one of them.
 *
 * @example
 * const manager = new TaskManager({ maxConcurrentTasks: 4 });
 * const id = manager.createTask('Hash', workerTask(new URL('./tasks.js', import.meta.url), 'hash'), {
 *   priority: 10,
 *   args: { path: './big.iso' },
 * });
 * manager.runTasks();
 * const task = await manager.waitFor(id);
 * console.log(task.state, task.result);
 * await manager.stop();
 */
export class TaskManager {
  readonly #scheduler: Scheduler;
  readonly #table: TaskTable;
  readonly #handlers: HandlerChecker = new HandlerChecker();
  readonly #options: ResolvedOptions;
  readonly #endpoint: ManagerEndpoint;
  readonly #logs = new TaskLogs();
  readonly #dashboards = new Set<Dashboard>();
  readonly #journal: Journal | undefined;
  #stopped: Promise<void> | undefined;

  constructor(options?: TaskManagerOptions) {
    const resolved = resolveOptions(options);
    const logger = this.#logs.wrap(resolveLogger(resolved.logger));
    this.#options = resolved;
    this.#table = new TaskTable(resolved.maxFinishedTasks, logger, new TaskTimings(resolved.maxConcurrentTasks));
    const calls: ManagerCalls = {
      createTask: (dispatch, name, handler, createOptions) =>
        this.#createTask(name as string, handler as Handler, createOptions as CreateTaskOptions | undefined, this.#parentOf(dispatch)),
      getTask: (id) => this.getTask(id as string),
      listTasks: (state) => this.listTasks(state as TaskState | undefined),
      cancelTask: (id) => this.cancelTask(id as string),
      setPriority: (id, priority) => this.setPriority(id as string, priority as number),
      updateProgress: (id, progress) => this.updateProgress(id as string, progress as number),
      getStats: () => this.getStats(),
      waitFor: (dispatch, id) => this.#waitFor(dispatch, id),
    };
    this.#endpoint = new ManagerEndpoint(calls);
    this.#scheduler = new Scheduler({
      table: this.#table,
      maxConcurrentTasks: resolved.maxConcurrentTasks,
      maxPendingTasks: resolved.maxPendingTasks,
      cancelGraceMs: resolved.cancelGraceMs,
      logger,
      workerPreload: resolved.workerPreload,
      resourceLimits: resolved.resourceLimits,
      batchBudgetMs: resolved.batchBudgetMs,
      maxBatchSize: resolved.maxBatchSize,
      onManagerPort: (port) => this.#endpoint.serve(port, true),
      managerClient: (dispatch) => new DirectClient(calls, dispatch),
    });
    this.#journal = resolved.journal === undefined ? undefined : this.#openJournal(resolved.journal, logger);
    if (resolved.autoStart) void this.runTasks();
  }

  /** Opens the journal and takes back every task it holds; from then on it hears of every change. */
  #openJournal(path: string, logger: Logger): Journal {
    const { journal, recovered } = Journal.open(
      {
        path,
        onInterrupted: this.#options.onInterrupted,
        maxJournalAge: this.#options.maxJournalAge,
        maxFinishedTasks: this.#options.maxFinishedTasks,
        logger,
        owner: this,
      },
      {
        restorePending: (recover) => this.#scheduler.restore(recover),
        restoreFinished: (record) => this.#table.restoreFinished(record),
        countFinished: (state, count) => this.#table.countFinished(state, count),
      },
    );
    this.#table.observer = journal;
    logger.debug({ journal: path, ...recovered }, 'journal opened');
    return journal;
  }

  /** How many tasks run at once: the size of the worker pool. */
  get maxConcurrentTasks(): number {
    return this.#options.maxConcurrentTasks;
  }

  /**
   * Creates a task and queues it. It runs once a slot is free and no pending task has a
   * higher priority (and once `runTasks()` has been called, unless `autoStart` is set).
   *
   * @param name A human-readable name.
   * @param handler A `workerTask(...)` reference, run on a worker thread, or a function, run on
   *   the main thread. Either is called as `handler(task, args)`.
   * @returns The task's id.
   * @throws {ManagerStoppedError} after `stop()`.
   * @throws {QueueFullError} when `maxPendingTasks` tasks are already pending.
   * @example
   * const id = manager.createTask('Urgent', workerTask(tasksUrl, 'work'), { priority: 100, args: 42 });
   */
  createTask<Args, Result>(name: string, handler: Handler<Args, Result>, options?: CreateTaskOptions<NoInfer<Args>>): TaskId<Result> {
    return this.#createTask(name, handler as Handler, options, undefined);
  }

  #createTask(name: string, handler: Handler, options: CreateTaskOptions | undefined, parentId: string | undefined): string {
    if (this.#scheduler.isStopping) throw new ManagerStoppedError('createTask');
    checkNonEmptyString('name', name);
    this.#handlers.check(handler);
    const given = checkOptions('options', options, CREATE_OPTIONS);
    const { priority = 0, timeoutMs = this.#options.timeoutMs, retry, durable = true } = given;
    checkFiniteNumber('options.priority', priority);
    checkBoolean('options.durable', durable);
    checkTimeout('options.timeoutMs', timeoutMs);
    const retryPolicy = resolveRetry('options.retry', retry, this.#options.retry);
    const transfer = given.transfer === undefined ? undefined : checkTransfer(handler, given.transfer, retryPolicy);
    if (this.#scheduler.isQueueFull) throw new QueueFullError(this.#options.maxPendingTasks);
    const isDurable = this.#journal?.prepare(handler, given.args, durable) ?? false;
    return this.#scheduler.create({
      name,
      handler,
      args: given.args,
      transfer,
      priority,
      timeoutMs,
      retry: retryPolicy,
      parentId,
      durable: isDurable,
    });
  }

  /**
   * A snapshot of the task, or undefined for an unknown id (or one dropped by retention). With a
   * journal, a finished task that retention dropped is read back from the journal.
   */
  getTask<Result>(id: TaskId<Result>): Task<Result> | undefined {
    checkId(id);
    return (this.#table.snapshot(id) ?? this.#journal?.read(id)) as Task<Result> | undefined;
  }

  /**
   * Snapshots of the tasks the manager keeps, in creation order, optionally of one state.
   * @example
   * const running = manager.listTasks(TaskState.RUNNING);
   */
  listTasks(state?: TaskState): Task[] {
    if (state !== undefined && !STATES.includes(state)) {
      throw new RangeError(`Expected \`state\` to be one of ${STATES.map((s) => `'${s}'`).join(', ')}, ${received(state)}`);
    }
    return this.#table.list(state);
  }

  /**
   * Cancels a pending or running task. A pending task leaves the queue at once, and one waiting
   * in a batch on a worker is taken back before it starts: neither ever runs. A running one has
   * its `signal` aborted, and its worker is terminated if it has not settled within
   * `cancelGraceMs`. From this call on the task's state is CANCELLED, whatever the handler does.
   * @returns true when the task was pending or running; false for a finished or unknown task,
   *   including one of a batch that its worker had finished just before (it completes then).
   */
  cancelTask(id: string): boolean {
    checkId(id);
    return this.#scheduler.cancel(id);
  }

  /**
   * Changes the priority of a pending task that is still in the queue.
   * @returns true when the task was pending in the queue; false otherwise, including for a task
   *   handed to a worker in a batch (see `batchBudgetMs`), which still reads `pending` until the
   *   worker starts it, but is no longer in the queue to reorder.
   */
  setPriority(id: string, priority: number): boolean {
    checkId(id);
    checkFiniteNumber('priority', priority);
    if (!this.#scheduler.setPriority(id, priority)) return false;
    this.#table.touch();
    const record = this.#table.get(id);
    if (record !== undefined) this.#journal?.changed(record);
    return true;
  }

  /**
   * Sets a pending or running task's progress from the main thread, from 0 to 100.
   * @returns true when the task was pending or running; false otherwise.
   */
  updateProgress(id: string, progress: number): boolean {
    checkId(id);
    checkProgress('progress', progress);
    return this.#table.updateProgress(id, progress);
  }

  /**
   * Registers a callback for 'started', 'completed', 'failed' and 'cancelled'. It may be
   * async; one that throws or rejects is logged and harms nothing else.
   * @returns A function that unregisters the callback.
   * @example
   * const off = manager.addEventCallback((task, eventType) => console.log(task.name, eventType));
   */
  addEventCallback(callback: TaskEventCallback): () => void {
    checkFunction('callback', callback);
    const listeners = CALLBACK_EVENTS.map((eventType) => {
      const listener = (task: Task): unknown => callback(task, eventType);
      this.#table.events.on(eventType, listener);
      return [eventType, listener] as const;
    });
    return () => {
      for (const [eventType, listener] of listeners) this.#table.events.off(eventType, listener);
    };
  }

  /** Listens to one kind of event: 'created', 'started', 'progress', 'retrying', 'completed', 'failed' or 'cancelled'. */
  on<E extends TaskEventName>(event: E, listener: (...args: TaskManagerEvents[E]) => unknown): this {
    checkEventName(event);
    checkFunction('listener', listener);
    this.#table.events.on(event, listener);
    return this;
  }

  off<E extends TaskEventName>(event: E, listener: (...args: TaskManagerEvents[E]) => unknown): this {
    checkEventName(event);
    this.#table.events.off(event, listener);
    return this;
  }

  /**
   * Counts of every task created since construction, by state (`total` is their sum), and timing
   * figures: `waitTime` and `runTime` (`{ p50, p99, mean, max }` in ms over the last 1,000 tasks),
   * `utilization` (0 to 1) and `throughput` (tasks finished per second over the last 10 s).
   * @example
   * const { pending, runTime, throughput } = manager.getStats();
   * console.log(`${pending} pending, p99 ${runTime.p99.toFixed(1)} ms, ${throughput.toFixed(0)} tasks/s`);
   */
  getStats(): TaskStats {
    return this.#table.stats();
  }

  /**
   * Serves the dashboard: a live web page of the tasks, a JSON API and Prometheus metrics at
   * `/metrics`. Every route needs the token. It binds 127.0.0.1 unless told otherwise, and
   * refuses any other address without an explicit token. `stop()` closes it.
   * @returns The dashboard: open `dashboard.url` (it carries the token) in a browser.
   * @example
   * const dashboard = await manager.serveDashboard({ port: 8080 });
   * console.log(`Dashboard: ${dashboard.url}`);
   * // later
   * await dashboard.close();
   */
  async serveDashboard(options?: DashboardOptions): Promise<Dashboard> {
    if (this.#scheduler.isStopping) throw new ManagerStoppedError('serveDashboard');
    const { startDashboard } = await import('../dashboard/server.js');
    const dashboard = await startDashboard(this.#dashboardSource(), options);
    // stop() may have been called while it started.
    if (this.#stopped !== undefined) {
      await dashboard.close();
      throw new ManagerStoppedError('serveDashboard');
    }
    this.#dashboards.add(dashboard);
    return dashboard;
  }

  /**
   * Registers taskloom's metrics in a prom-client registry of your own, to be served with yours:
   * `taskloom_tasks_finished_total{state}`, `taskloom_tasks_pending`, `taskloom_tasks_running`,
   * `taskloom_utilization`, the histograms `taskloom_task_wait_seconds` and
   * `taskloom_task_run_seconds`, `taskloom_task_retries_total` and `taskloom_task_timeouts_total`.
   * All are read from the manager when scraped, and count from its creation.
   * @example
   * import { Registry } from 'prom-client';
   * const registry = new Registry();
   * await manager.registerMetrics(registry);
   * response.end(await registry.metrics());
   */
  async registerMetrics(registry: Registry): Promise<void> {
    const { registerMetrics } = await import('../dashboard/metrics.js');
    registerMetrics(this.#table, registry);
  }

  #dashboardSource(): DashboardSource {
    return {
      table: this.#table,
      logs: this.#logs,
      cancel: (id) => this.cancelTask(id),
      setPriority: (id, priority) => this.setPriority(id, priority),
      onClosed: (dashboard) => this.#dashboards.delete(dashboard),
    };
  }

  /**
   * Starts dispatching tasks (unless `autoStart` already did). Calling it again returns the
   * same promise, which resolves once the manager has stopped.
   */
  runTasks(): Promise<void> {
    return this.#scheduler.run();
  }

  /**
   * Resolves with the task's snapshot once it is final, whether it completed, failed or was
   * cancelled. Rejects with UnknownTaskError for an id the manager does not know.
   */
  waitFor<Result>(id: TaskId<Result>): Promise<Task<Result>> {
    try {
      checkId(id);
    } catch (error) {
      return Promise.reject(error);
    }
    const waiting = this.#table.waitFor(id) as Promise<Task<Result>> | undefined;
    if (waiting !== undefined) return waiting;
    const stored = this.#journal?.read(id) as Task<Result> | undefined;
    return stored === undefined ? Promise.reject(new UnknownTaskError(id)) : Promise.resolve(stored);
  }

  /**
   * Removes every finished task from the journal and gives the space back to the file system;
   * pending and running tasks stay. It first writes the changes still waiting to be written, so
   * that the journal holds every task as it stands. Tasks in memory are not affected. Without a
   * journal, does nothing and returns 0. (`maxJournalAge` removes finished tasks by age instead.)
   * @returns How many finished tasks were removed.
   * @example
   * const removed = manager.compactJournal();
   */
  compactJournal(): number {
    return this.#journal?.compact() ?? 0;
  }

  /**
   * Resolves once a task can be created without passing `maxPendingTasks` (at once when there
   * is room). A producer that awaits it before each `createTask` never sees a QueueFullError.
   * @example
   * for await (const item of source) {
   *   await manager.whenReady();
   *   manager.createTask('Item', handler, { args: item });
   * }
   */
  whenReady(): Promise<void> {
    return this.#scheduler.whenReady();
  }

  /**
   * Forgets a finished task, so that getTask no longer returns it.
   * @returns true when the task was finished and is now forgotten; false for a pending, running or unknown task.
   */
  removeTask(id: string): boolean {
    checkId(id);
    return this.#table.remove(id);
  }

  /** Forgets every finished task. Returns how many were forgotten. Stats are not affected. */
  clearFinished(): number {
    return this.#table.clearFinished();
  }

  /**
   * Runs a worker handler over every item of an iterable or async iterable, and yields the
   * results in input order. The batch is one task (see `getTask(run.id)`): one progress figure,
   * one set of events. With `chunkSize` above 1 each worker run handles that many items.
   * Input is read only as fast as results are taken, so an endless input runs in bounded memory.
   * An item that throws rejects the batch with a MapItemError naming its index, unless
   * `settle: true`, which yields every item's outcome instead.
   * @example
   * const squares = await manager.map(workerTask(tasksUrl, 'square'), [1, 2, 3], { chunkSize: 256 }).toArray();
   */
  map<Item, Result>(
    handler: WorkerTask<Item, Result>,
    items: Iterable<NoInfer<Item>> | AsyncIterable<NoInfer<Item>>,
    options: MapOptions & { settle: true },
  ): MapRun<Settled<Result>>;
  map<Item, Result>(
    handler: WorkerTask<Item, Result>,
    items: Iterable<NoInfer<Item>> | AsyncIterable<NoInfer<Item>>,
    options?: MapOptions,
  ): MapRun<Result>;
  map(handler: WorkerTask, items: Iterable<unknown> | AsyncIterable<unknown>, options?: MapOptions): MapRun<unknown> {
    if (this.#scheduler.isStopping) throw new ManagerStoppedError('map');
    if (!isWorkerTask(handler)) {
      throw new TypeError(`Expected \`handler\` to be a workerTask(...) reference, ${received(handler)}`);
    }
    this.#handlers.check(handler);
    if (!isIterable(items)) {
      throw new TypeError(`Expected \`items\` to be an iterable or an async iterable, ${received(items)}`);
    }
    const given = checkOptions('options', options, MAP_OPTIONS);
    const { concurrency = this.#options.maxConcurrentTasks, chunkSize = 1, priority = 0, settle = false, name = 'map', signal } = given;
    checkPositiveInteger('options.concurrency', concurrency);
    checkPositiveInteger('options.chunkSize', chunkSize);
    checkFiniteNumber('options.priority', priority);
    checkBoolean('options.settle', settle);
    checkNonEmptyString('options.name', name);
    if (signal !== undefined && !(signal instanceof AbortSignal)) {
      throw new TypeError(`Expected \`options.signal\` to be an AbortSignal, ${received(signal)}`);
    }
    return new MapRun({
      scheduler: this.#scheduler,
      table: this.#table,
      name,
      handler,
      items,
      concurrency,
      chunkSize,
      priority,
      settle,
      signal,
    });
  }

  /**
   * A MessagePort for a worker thread of your own: send it there (in the transfer list) and call
   * `connectManager(port)` on it to create, query and wait for tasks from that thread.
   * @example
   * const port = manager.createClientPort();
   * const thread = new Worker(new URL('./producer.js', import.meta.url), { workerData: { port }, transferList: [port] });
   */
  createClientPort(): MessagePort {
    if (this.#scheduler.isStopping) throw new ManagerStoppedError('createClientPort');
    return this.#endpoint.createClientPort();
  }

  /** The id of the task whose live run has dispatch number `dispatch`: the parent of the tasks it creates. */
  #parentOf(dispatch: number | undefined): string | undefined {
    if (dispatch === undefined) return undefined;
    const task = this.#scheduler.runningTask(dispatch);
    if (task === undefined) throw new CallerEndedError();
    return task.id;
  }

  /** waitFor from a handler: a wait that could never end is refused (see Scheduler.waitForFrom). */
  #waitFor(dispatch: number | undefined, id: unknown): Promise<Task> {
    const task = dispatch === undefined ? undefined : this.#scheduler.runningTask(dispatch);
    if (task === undefined || typeof id !== 'string') return this.waitFor(id as string);
    try {
      return this.#scheduler.waitForFrom(task, id) ?? Promise.reject(new UnknownTaskError(id));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Resolves when no task is pending or running and every worker slot is free. */
  onIdle(): Promise<void> {
    return this.#scheduler.onIdle();
  }

  /**
   * Cancels every pending and running task, waits for the running ones to wind down (at most
   * `cancelGraceMs`), and terminates the worker threads. Calling it again returns the same promise.
   */
  stop(): Promise<void> {
    if (this.#stopped === undefined) this.#freezeJournal();
    this.#stopped ??= this.#scheduler
      .stop()
      .then(() => this.#journal?.close())
      .then(() => this.#endpoint.close())
      .then(async () => {
        await Promise.all(Array.from(this.#dashboards, (dashboard) => dashboard.close()));
      });
    return this.#stopped;
  }

  /**
   * The journal keeps what stop() cancels as it was, pending or running, so that a manager
   * constructed on it later takes those tasks up: it records nothing from here on.
   */
  #freezeJournal(): void {
    this.#table.observer = undefined;
    this.#journal?.flush();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

function checkId(id: unknown): asserts id is string {
  if (typeof id !== 'string') throw new TypeError(`Expected \`id\` to be a task id string, ${received(id)}`);
}

const EVENT_NAMES: readonly string[] = ['created', 'started', 'progress', 'retrying', 'completed', 'failed', 'cancelled'];

function checkEventName(event: unknown): void {
  if (typeof event !== 'string' || !EVENT_NAMES.includes(event)) {
    throw new RangeError(`Expected \`event\` to be one of ${EVENT_NAMES.map((e) => `'${e}'`).join(', ')}, ${received(event)}`);
  }
}
