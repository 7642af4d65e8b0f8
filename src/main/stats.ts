/**
 * The timing figures of getStats(), and the histograms of the Prometheus metrics: how long tasks
 * waited and ran, how busy the slots were, and how many tasks finished per second. The task table
 * calls in as tasks are queued, start and end, with the time it reads anyway for the task's own
 * timestamps (Date.now(): createdAt, startedAt, completedAt), so that timing a task reads no clock
 * of its own: each call costs a few array writes, and the figures are worked out when read. The
 * price is the clock's resolution: durations are whole milliseconds.
 *
 * Each record keeps `since`: when it last became pending, then when its current attempt started.
 */
import { TaskState, type TimingFigures } from '../shared/task.js';
import type { TaskRecord } from './task-record.js';

/** How many of the latest waits, and of the latest runs, the figures cover. */
export const TIMING_WINDOW = 1000;

/** The histograms' upper bounds, in seconds: from half a millisecond to five minutes. */
export const HISTOGRAM_BOUNDS = [0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300] as const;

/** Throughput counts finished tasks in slots of half a second, 20 of them: the last 10 s. */
const RATE_SLOT_MS = 500;
const RATE_SLOTS = 20;
/** Throughput divides by at least this, so that a manager a few milliseconds old reports no wild rate. */
const MIN_RATE_SPAN_MS = 1000;

const NO_FIGURES: TimingFigures = Object.freeze({ p50: 0, p99: 0, mean: 0, max: 0 });

/** A histogram's cumulative counts, as Prometheus shows them: per bucket (the last is +Inf), their sum and count. */
export interface HistogramCounts {
  /** How many durations were at most each bound of HISTOGRAM_BOUNDS, then in all. */
  readonly buckets: readonly number[];
  /** In seconds. */
  readonly sum: number;
  readonly count: number;
}

/** Durations in milliseconds: the last TIMING_WINDOW in a ring, and every one in a histogram. */
class Durations {
  readonly #recent = new Float64Array(TIMING_WINDOW);
  #next = 0;
  #size = 0;
  #figures: TimingFigures | undefined = NO_FIGURES;
  /** Per bucket, not cumulative: index i counts durations above bound i - 1 and up to bound i. */
  readonly #buckets = new Float64Array(HISTOGRAM_BOUNDS.length + 1);
  #sumMs = 0;
  #count = 0;

  add(ms: number): void {
    const duration = ms > 0 ? ms : 0;
    this.#recent[this.#next] = duration;
    this.#next = this.#next + 1 === TIMING_WINDOW ? 0 : this.#next + 1;
    if (this.#size < TIMING_WINDOW) this.#size++;
    this.#figures = undefined;
    let bucket = 0;
    while (bucket < HISTOGRAM_BOUNDS.length && duration > (HISTOGRAM_BOUNDS[bucket] as number) * 1000) bucket++;
    (this.#buckets[bucket] as number)++;
    this.#sumMs += duration;
    this.#count++;
  }

  figures(): TimingFigures {
    if (this.#figures !== undefined) return this.#figures;
    // A typed array sorts numerically.
    const sorted = this.#recent.slice(0, this.#size).sort();
    let sum = 0;
    for (const value of sorted) sum += value;
    this.#figures = Object.freeze({
      p50: quantile(sorted, 0.5),
      p99: quantile(sorted, 0.99),
      mean: sum / sorted.length,
      max: sorted[sorted.length - 1] ?? 0,
    });
    return this.#figures;
  }

  histogram(): HistogramCounts {
    let total = 0;
    const buckets = Array.from(this.#buckets, (count) => (total += count));
    return { buckets, sum: this.#sumMs / 1000, count: this.#count };
  }
}

/** The q-quantile of sorted values, interpolating linearly between order statistics. */
function quantile(sorted: Float64Array, q: number): number {
  const position = (sorted.length - 1) * q;
  const lower = Math.floor(position);
  const low = sorted[lower] ?? 0;
  const high = sorted[Math.ceil(position)] ?? low;
  return low + (high - low) * (position - lower);
}

export class TaskTimings {
  readonly #slots: number;
  readonly #since = Date.now();
  readonly #waits = new Durations();
  readonly #runs = new Durations();
  /** The run time of every slot-holding attempt that has ended. */
  #busyMs = 0;
  /** Slot-holding attempts in progress, and the sum of their start times: their run time so far is `running * now - marks`. */
  #running = 0;
  #runningMarks = 0;
  /** Finished tasks per rate slot, in a ring indexed by absolute slot number. */
  readonly #finished = new Uint32Array(RATE_SLOTS);
  #slot: number;
  #retries = 0;
  #timeouts = 0;

  /** @param slots how many tasks may run at once: the capacity utilization is measured against */
  constructor(slots: number) {
    this.#slots = slots;
    this.#slot = Math.floor(this.#since / RATE_SLOT_MS);
  }

  /** The task has become pending at `now` (epoch ms): created, or queued again for a retry. */
  queued(record: TaskRecord, now: number): void {
    record.since = now;
  }

  /** An attempt starts at `now`. Internal tasks (chunks of a map) count toward utilization only. */
  started(record: TaskRecord, now: number): void {
    if (record.internal === undefined) this.#waits.add(now - record.since);
    if (record.batch === undefined) {
      this.#running++;
      this.#runningMarks += now;
    }
    record.since = now;
  }

  /** A running attempt failed at `now` and will be retried. */
  retried(record: TaskRecord, now: number, isTimeout: boolean): void {
    this.#retries++;
    if (isTimeout) this.#timeouts++;
    this.#ran(record, now);
  }

  /** The task is final at `now`. Call it before its state changes: a running task's attempt ends here. */
  finished(record: TaskRecord, now: number, isTimeout: boolean): void {
    if (record.state === TaskState.RUNNING) this.#ran(record, now);
    if (record.internal !== undefined) return;
    if (isTimeout) this.#timeouts++;
    const slot = Math.floor(now / RATE_SLOT_MS);
    if (slot !== this.#slot) this.#advance(slot);
    (this.#finished[slot % RATE_SLOTS] as number)++;
  }

  #ran(record: TaskRecord, now: number): void {
    const ms = now - record.since;
    if (record.batch === undefined) {
      this.#running--;
      this.#runningMarks -= record.since;
      this.#busyMs += ms;
    }
    if (record.internal === undefined) this.#runs.add(ms);
  }

  /** Moves the rate ring on to `slot`, emptying the slots it passes. A clock set back moves nothing. */
  #advance(slot: number): void {
    if (slot < this.#slot) return;
    const passed = Math.min(slot - this.#slot, RATE_SLOTS);
    for (let step = 1; step <= passed; step++) this.#finished[(this.#slot + step) % RATE_SLOTS] = 0;
    this.#slot = slot;
  }

  get waitTime(): TimingFigures {
    return this.#waits.figures();
  }

  get runTime(): TimingFigures {
    return this.#runs.figures();
  }

  /** Piscina's utilization: the run time of the attempts that have ended, over the capacity since construction. */
  get utilization(): number {
    const capacity = (Date.now() - this.#since) * this.#slots;
    return capacity <= 0 ? 0 : Math.min(1, this.#busyMs / capacity);
  }

  /** Tasks finished per second over the last 10 s (or since construction, when that is shorter). */
  get throughput(): number {
    const now = Date.now();
    const slot = Math.floor(now / RATE_SLOT_MS);
    if (slot !== this.#slot) this.#advance(slot);
    let finished = 0;
    for (const count of this.#finished) finished += count;
    const covered = (RATE_SLOTS - 1) * RATE_SLOT_MS + (now - slot * RATE_SLOT_MS);
    const span = Math.max(MIN_RATE_SPAN_MS, Math.min(covered, now - this.#since));
    return (finished * 1000) / span;
  }

  /** The slots' busy time until `now` (epoch ms), attempts still running included: the dashboard's utilization chart. */
  busyMs(now: number): number {
    return this.#busyMs + this.#running * now - this.#runningMarks;
  }

  get slots(): number {
    return this.#slots;
  }

  /** Failed attempts that were queued again. */
  get retries(): number {
    return this.#retries;
  }

  /** Attempts that ran past their time limit, retried or not. */
  get timeouts(): number {
    return this.#timeouts;
  }

  /** Every wait since construction, in the histogram's buckets. */
  waitHistogram(): HistogramCounts {
    return this.#waits.histogram();
  }

  /** Every ended attempt's run time since construction, in the histogram's buckets. */
  runHistogram(): HistogramCounts {
    return this.#runs.histogram();
  }
}
