/**
 * One attempt of a task: a run owns all of it, how it starts, its cooperative abort, its hard stop
 * once the grace period is over, its time limit and its progress. The scheduler holds runs without
 * asking which kind each is: a WorkerRun runs one task on a worker thread, a MainThreadRun runs a
 * function handler here, and an ItemRun is one task of a batch (batch-run.ts), which shares one
 * worker run with others and may wait in it a moment before it starts.
 */
import type { Logger } from 'pino';
import type { ManagerClient } from '../../shared/client.js';
import { TaskTimeoutError } from '../../shared/errors.js';
import type { WorkerTask } from '../../shared/handler.js';
import { serializeError, type TaskOutcome } from '../../shared/messages.js';
import { TaskState } from '../../shared/task.js';
import type { WorkerPool } from '../pool.js';
import type { TaskRecord } from '../task-record.js';
import type { TaskTable } from '../task-table.js';

/** What every run reaches back to. The scheduler makes one, shared by all its runs. */
export interface RunHost {
  readonly pool: WorkerPool;
  readonly table: TaskTable;
  readonly logger: Logger;
  readonly cancelGraceMs: number;
  /** The `task.manager` of a main-thread handler: calls made on behalf of the run with this dispatch number. */
  managerClient(dispatch: number): ManagerClient;
  /** The run's time limit is over: the run is stopped already, and its attempt fails with `reason`. */
  timedOut(run: Run, reason: TaskTimeoutError): void;
  /** The run has ended, once, however it ended. */
  ended(run: Run, outcome: TaskOutcome): void;
  /** A slot is free: a run of one task has ended, or a batch has. */
  freed(): void;
  /** A run that waited in a batch has started, at `startedAt` (ms since the epoch, on its worker's clock). */
  began(run: Run, startedAt: number): void;
  /**
   * A run that waited in a batch will not run there: its task goes back to the queue, unattempted.
   * `runsAlone` asks that it not be batched again (its batch failed as a whole).
   */
  requeued(run: Run, runsAlone: boolean): void;
  /** Tasks of `handler` ran for `ms` in all, `count` of them, measured on the worker: what batches are sized from. */
  measured(handler: WorkerTask, ms: number, count: number): void;
}

export abstract class Run {
  /**
   * The dispatch number: new for each run, and the key of every message about it, so that a
   * message from an earlier run of a task is never taken for a later one.
   */
  readonly dispatch: number;
  readonly record: TaskRecord;
  protected readonly host: RunHost;
  /** Why the run was stopped (cancelled or timed out), once it was. */
  protected stopReason: Error | undefined = undefined;
  /** The time limit while the run runs; once it is stopped, the end of its grace period. */
  #timer: NodeJS.Timeout | undefined = undefined;
  #hasEnded = false;

  constructor(host: RunHost, record: TaskRecord, dispatch: number) {
    this.host = host;
    this.record = record;
    this.dispatch = dispatch;
  }

  /** Whether this is still its task's run and the task still runs: not stopped, not ended. */
  get isLive(): boolean {
    return this.record.run === this && this.record.state === TaskState.RUNNING;
  }

  /** Whether the run waits in a batch on a worker, not started yet: its task is still pending. */
  get isWaiting(): boolean {
    return this.waits();
  }

  get hasEnded(): boolean {
    return this.#hasEnded;
  }

  /** Starts the handler, and the task's time limit, counted from `startedAt` (ms since the epoch). */
  start(startedAt: number): void {
    const { timeoutMs } = this.record;
    if (timeoutMs !== Infinity && this.stopReason === undefined) {
      const left = Math.max(0, timeoutMs - (Date.now() - startedAt));
      this.#timer = setTimeout(Run.#onTimeout, left, this);
    }
    this.launch();
  }

  /**
   * Takes back a run that waits in a batch before it starts, so that it never does: true when it
   * was taken back (it has ended), false when it had started already.
   */
  withdraw(): boolean {
    return false;
  }

  /**
   * Stops the run: its handler's signal aborts with `reason` now, and if the run has not ended
   * once the grace period is over, it is stopped by force. Only the first call counts.
   */
  abort(reason: Error): void {
    if (this.stopReason !== undefined || this.#hasEnded) return;
    this.stopReason = reason;
    this.interrupt(reason);
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = setTimeout(Run.#onGraceOver, this.host.cancelGraceMs, this);
    this.#timer.unref();
  }

  /** The one way in for a run's progress, from either thread. Dropped once the run is not live. */
  progress(value: number): void {
    if (this.isLive) this.host.table.setProgress(this.record, value);
  }

  /** Whether the run waits in a batch, not started yet: only an item of a batch ever does. */
  protected waits(): boolean {
    return false;
  }

  /** Runs the handler. Whatever happens, it ends in exactly one `end`. */
  protected abstract launch(): void;

  /** Aborts the handler's signal: the cooperative stop. */
  protected abstract interrupt(reason: Error): void;

  /** The grace period of a stopped run is over and it has not ended: the hard stop. */
  protected abstract kill(): void;

  /** The run has ended: its timers stop, its attempt ends, and its slot is freed. Only the first call counts. */
  protected end(outcome: TaskOutcome): void {
    if (!this.close()) return;
    this.host.ended(this, outcome);
    this.release();
  }

  /** Marks the run as ended and stops its timers; false when it had ended already. */
  protected close(): boolean {
    if (this.#hasEnded) return false;
    this.#hasEnded = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    return true;
  }

  /** The run's slot is free: a run of one task holds one; an item of a batch leaves it to its batch. */
  protected release(): void {
    this.host.freed();
  }

  /** How a run that was stopped ends when its handler never gave an outcome. */
  protected stoppedOutcome(): TaskOutcome {
    return { ok: false, error: serializeError(this.stopReason), progress: undefined };
  }

  static #onTimeout(run: Run): void {
    run.#timer = undefined;
    if (!run.isLive) return;
    const reason = new TaskTimeoutError(run.record.id, run.record.timeoutMs);
    run.abort(reason);
    run.host.timedOut(run, reason);
  }

  static #onGraceOver(run: Run): void {
    run.#timer = undefined;
    if (!run.#hasEnded) run.kill();
  }
}
