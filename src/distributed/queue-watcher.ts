/**
 * The queue's events as taskloom's, in every process: BullMQ's QueueEvents reads the queue's
 * event stream (no polling), and each event becomes 'created', 'started', 'progress',
 * 'retrying' or a final event with a snapshot of the task. Events of one task are emitted in
 * order, its final event once, and nothing after it. Waiters of `waitFor` and `onIdle` are
 * resolved from the same events.
 */
import type { QueueEvents } from 'bullmq';
import type { Logger } from 'pino';
import type { SafeEmitter } from '../main/events.js';
import type { TaskEventName, TaskManagerEvents } from '../main/task-table.js';
import { ManagerStoppedError, UnknownTaskError } from '../shared/errors.js';
import { TaskState } from '../shared/task.js';
import { CANCELLED_REASON, inState, type DistributedTask } from './snapshot.js';

/** How many ended tasks are remembered, so that a late duplicate of a final event is dropped. */
const ENDED_MEMORY = 100_000;

const FINAL_EVENTS: ReadonlySet<TaskEventName> = new Set(['completed', 'failed', 'cancelled']);
const FINISHED_BULL_STATES: ReadonlySet<string> = new Set(['completed', 'failed']);

export function isFinal(task: DistributedTask): boolean {
  return task.state === TaskState.COMPLETED || task.state === TaskState.FAILED || task.state === TaskState.CANCELLED;
}

export interface WatcherOptions {
  readonly queueEvents: QueueEvents;
  readonly events: SafeEmitter<TaskManagerEvents>;
  /** Reads a task from Redis. */
  readonly fetch: (id: string) => Promise<DistributedTask | undefined>;
  /** Whether nothing in the queue is pending or running. */
  readonly isIdle: () => Promise<boolean>;
  readonly logger: Logger;
}

export class QueueWatcher {
  readonly #options: WatcherOptions;
  readonly #waiters = new Map<string, { resolve: (task: DistributedTask) => void; reject: (error: unknown) => void }[]>();
  /** Ids whose final event has been handled, oldest first. */
  readonly #ended = new Set<string>();
  /** Each task's events in order: the tail of its chain. */
  readonly #chains = new Map<string, Promise<void>>();
  /** The latest snapshot of each live task that someone listens to, for progress events. */
  readonly #latest = new Map<string, DistributedTask>();
  #onFinal: (() => void)[] = [];

  constructor(options: WatcherOptions) {
    this.#options = options;
    const { queueEvents } = options;
    queueEvents.on('added', ({ jobId }) => this.#handle(jobId, 'created'));
    queueEvents.on('active', ({ jobId }) => this.#handle(jobId, 'started'));
    queueEvents.on('progress', ({ jobId, data }) => this.#handle(jobId, 'progress', typeof data === 'number' ? data : undefined));
    queueEvents.on('waiting', ({ jobId, prev }) => {
      if (prev === 'active') this.#handle(jobId, 'retrying');
    });
    // Tasks are never created delayed: a delayed job is a failed attempt waiting for its retry.
    queueEvents.on('delayed', ({ jobId }) => this.#handle(jobId, 'retrying'));
    queueEvents.on('completed', ({ jobId }) => this.#handle(jobId, 'completed'));
    queueEvents.on('failed', ({ jobId, failedReason }) => {
      this.#handle(jobId, failedReason.startsWith(CANCELLED_REASON) ? 'cancelled' : 'failed');
    });
    // Only a cancel removes a job that has not finished.
    queueEvents.on('removed', ({ jobId, prev }) => {
      if (!FINISHED_BULL_STATES.has(prev)) this.#handle(jobId, 'cancelled');
    });
  }

  /** Resolves with the task once it is final; rejects with UnknownTaskError for an unknown id. */
  waitFor(id: string): Promise<DistributedTask> {
    return new Promise((resolve, reject) => {
      const waiter = { resolve, reject };
      const list = this.#waiters.get(id);
      if (list === undefined) this.#waiters.set(id, [waiter]);
      else list.push(waiter);
      this.#options.fetch(id).then((task) => {
        if (task !== undefined && !isFinal(task)) return;
        this.#removeWaiter(id, waiter);
        if (task === undefined) reject(new UnknownTaskError(id));
        else resolve(task);
      }, reject);
    });
  }

  /** Resolves once nothing in the queue is pending or running. */
  async onIdle(): Promise<void> {
    for (;;) {
      const nextFinal = new Promise<void>((resolve) => this.#onFinal.push(resolve));
      if (await this.#options.isIdle()) return;
      await nextFinal;
    }
  }

  /** Rejects every waiter: the manager has stopped. */
  close(): void {
    const error = new ManagerStoppedError('waitFor');
    for (const list of this.#waiters.values()) for (const waiter of list) waiter.reject(error);
    this.#waiters.clear();
    for (const resolve of this.#onFinal.splice(0)) resolve();
  }

  #removeWaiter(id: string, waiter: unknown): void {
    const list = this.#waiters.get(id);
    if (list === undefined) return;
    const index = list.findIndex((entry) => entry === waiter);
    if (index !== -1) list.splice(index, 1);
    if (list.length === 0) this.#waiters.delete(id);
  }

  #handle(id: string, event: TaskEventName, progress?: number): void {
    if (this.#ended.has(id)) return;
    const isFinalEvent = FINAL_EVENTS.has(event);
    if (isFinalEvent) this.#remember(id);
    const { events } = this.#options;
    const isWanted = events.hasListeners(event) || (isFinalEvent && this.#waiters.has(id));
    if (!isWanted) {
      if (isFinalEvent) {
        this.#latest.delete(id);
        this.#finalSeen();
      }
      return;
    }
    const previous = this.#chains.get(id) ?? Promise.resolve();
    const next = previous
      .then(async () => {
        const task = await this.#snapshot(id, event, progress);
        if (isFinalEvent) this.#latest.delete(id);
        else this.#latest.set(id, task);
        events.emit(event, task);
        if (isFinalEvent) this.#resolveWaiters(id, task);
      })
      .catch((error: unknown) => this.#options.logger.warn({ err: error, taskId: id, event }, 'a queue event could not be read'))
      .finally(() => {
        if (this.#chains.get(id) === next) this.#chains.delete(id);
        if (isFinalEvent) this.#finalSeen();
      });
    this.#chains.set(id, next);
  }

  async #snapshot(id: string, event: TaskEventName, progress: number | undefined): Promise<DistributedTask> {
    const state = stateOfEvent(event);
    const latest = this.#latest.get(id);
    if (event === 'progress' && latest !== undefined && progress !== undefined) return Object.freeze({ ...latest, progress });
    const task = (await this.#options.fetch(id)) ?? latest ?? bareTask(id, state);
    const shown = inState(task, state);
    return progress === undefined || shown.progress === progress ? shown : Object.freeze({ ...shown, progress });
  }

  #resolveWaiters(id: string, task: DistributedTask): void {
    const list = this.#waiters.get(id);
    this.#waiters.delete(id);
    for (const waiter of list ?? []) waiter.resolve(task);
  }

  #finalSeen(): void {
    for (const resolve of this.#onFinal.splice(0)) resolve();
  }

  #remember(id: string): void {
    this.#ended.add(id);
    if (this.#ended.size > ENDED_MEMORY) {
      const oldest = this.#ended.values().next().value;
      if (oldest !== undefined) this.#ended.delete(oldest);
    }
  }
}

function stateOfEvent(event: TaskEventName): TaskState {
  switch (event) {
    case 'created':
    case 'retrying':
      return TaskState.PENDING;
    case 'started':
    case 'progress':
      return TaskState.RUNNING;
    case 'completed':
      return TaskState.COMPLETED;
    case 'failed':
      return TaskState.FAILED;
    case 'cancelled':
      return TaskState.CANCELLED;
  }
}

/** A task that could be read nowhere (dropped by retention already): what the event says of it. */
function bareTask(id: string, state: TaskState): DistributedTask {
  return Object.freeze({
    id,
    name: '',
    state,
    priority: 0,
    progress: 0,
    result: undefined,
    error: undefined,
    failure: undefined,
    attempts: 0,
    errors: [],
    parentId: undefined,
    createdAt: new Date(0),
    startedAt: undefined,
    completedAt: undefined,
    host: undefined,
  });
}
