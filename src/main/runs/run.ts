/**
 * One dispatch of a task: an attempt that holds a slot from its start until it ends. A run owns
 * all of that attempt: how it starts, its cooperative abort, its hard stop once the grace period
 * is over, its time limit and its progress. The scheduler holds runs without asking which kind
 * each is: a WorkerRun runs on a worker thread, a MainThreadRun runs a function handler here.
 */
import type { Logger } from 'pino';
import type { ManagerClient } from '../../shared/client.js';
import { TaskTimeoutError } from '../../shared/errors.js';
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
  /** The run has ended, once, however it ended: its slot is free. */
  ended(run: Run, outcome: TaskOutcome): void;
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

  /** Starts the handler, and the task's time limit. */
  start(): void {
    const { timeoutMs } = this.record;
    if (timeoutMs !== Infinity && this.stopReason === undefined) this.#timer = setTimeout(Run.#onTimeout, timeoutMs, this);
    this.launch();
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

  /** Runs the handler. Whatever happens, it ends in exactly one `end`. */
  protected abstract launch(): void;

  /** Aborts the handler's signal: the cooperative stop. */
  protected abstract interrupt(reason: Error): void;

  /** The grace period of a stopped run is over and it has not ended: the hard stop. */
  protected abstract kill(): void;

  /** The run has ended: its timers stop and its slot is freed. Only the first call counts. */
  protected end(outcome: TaskOutcome): void {
    if (this.#hasEnded) return;
    this.#hasEnded = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.host.ended(this, outcome);
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
