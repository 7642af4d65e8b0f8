/**
 * taskloom's Prometheus metrics, through prom-client. Everything is read from the task table when
 * scraped, so the figures always agree with getStats() and cost nothing per task: the counts by
 * state, and the histograms, whose buckets the table keeps as it times each task (stats.ts).
 */
import { Counter, Gauge, type Histogram, type Registry } from 'prom-client';
import { TaskState } from '../shared/task.js';
import { received } from '../shared/validate.js';
import { HISTOGRAM_BOUNDS, type HistogramCounts } from '../main/stats.js';
import type { TaskTable } from '../main/task-table.js';

export const METRIC_NAMES = [
  'taskloom_tasks_finished_total',
  'taskloom_tasks_pending',
  'taskloom_tasks_running',
  'taskloom_utilization',
  'taskloom_task_wait_seconds',
  'taskloom_task_run_seconds',
  'taskloom_task_retries_total',
  'taskloom_task_timeouts_total',
] as const;

const FINAL_STATES = [TaskState.COMPLETED, TaskState.FAILED, TaskState.CANCELLED] as const;

/**
 * Registers the metrics of `table` in `registry`.
 * @returns A function that removes them again.
 * @throws {TypeError} when `registry` is not a prom-client Registry.
 * @throws {RangeError} when one of the names is registered there already.
 */
export function registerMetrics(table: TaskTable, registry: Registry): () => void {
  if (typeof (registry as Partial<Registry> | null)?.registerMetric !== 'function') {
    throw new TypeError(`Expected \`registry\` to be a prom-client Registry, ${received(registry)}`);
  }
  const taken = METRIC_NAMES.find((name) => registry.getSingleMetric(name) !== undefined);
  if (taken !== undefined) {
    throw new RangeError(
      `Expected \`registry\` to hold no taskloom metrics yet, got one where ${taken} is registered already: register one manager's metrics per registry`,
    );
  }
  const registers = [registry];
  const { timings } = table;
  new Counter({
    name: 'taskloom_tasks_finished_total',
    help: 'Tasks that reached a final state since the manager was created, by state.',
    labelNames: ['state'],
    registers,
    collect() {
      this.reset();
      for (const state of FINAL_STATES) this.inc({ state }, table.counts[state]);
    },
  });
  new Gauge({
    name: 'taskloom_tasks_pending',
    help: 'Tasks waiting to start.',
    registers,
    collect() {
      this.set(table.counts.pending);
    },
  });
  new Gauge({
    name: 'taskloom_tasks_running',
    help: 'Tasks running now.',
    registers,
    collect() {
      this.set(table.counts.running);
    },
  });
  new Gauge({
    name: 'taskloom_utilization',
    help: 'The run time of every ended attempt over the capacity since the manager was created (0 to 1), as Piscina defines it.',
    registers,
    collect() {
      this.set(timings.utilization);
    },
  });
  const histograms = [
    new TableHistogram('taskloom_task_wait_seconds', 'How long tasks were pending before an attempt started.', () =>
      timings.waitHistogram(),
    ),
    new TableHistogram('taskloom_task_run_seconds', 'How long attempts ran, from their start to their outcome.', () =>
      timings.runHistogram(),
    ),
  ];
  // prom-client's registry takes any metric that answers get() as its own classes do.
  for (const histogram of histograms) registry.registerMetric(histogram as unknown as Histogram);
  new Counter({
    name: 'taskloom_task_retries_total',
    help: 'Failed attempts that were queued again.',
    registers,
    collect() {
      this.reset();
      this.inc(timings.retries);
    },
  });
  new Counter({
    name: 'taskloom_task_timeouts_total',
    help: 'Attempts that ran past their time limit.',
    registers,
    collect() {
      this.reset();
      this.inc(timings.timeouts);
    },
  });
  return () => {
    for (const name of METRIC_NAMES) registry.removeSingleMetric(name);
  };
}

/** One value of a metric, as prom-client's registry formats it. */
interface MetricValue {
  readonly value: number;
  readonly labels: Readonly<Record<string, string | number>>;
  readonly metricName: string;
}

/**
 * A histogram whose buckets the task table counts itself, since the manager was created: it
 * hands them to the registry when scraped, in the shape prom-client's own histograms do. A
 * registry's resetMetrics() leaves it as it is: it counts what the manager did.
 */
class TableHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly name: string;
  readonly help: string;
  readonly #read: () => HistogramCounts;

  constructor(name: string, help: string, read: () => HistogramCounts) {
    this.name = name;
    this.help = help;
    this.#read = read;
  }

  get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: MetricValue[] }> {
    const { buckets, sum, count } = this.#read();
    const bucket = `${this.name}_bucket`;
    const values: MetricValue[] = [
      ...HISTOGRAM_BOUNDS.map((bound, index) => ({ labels: { le: bound }, value: buckets[index] ?? 0, metricName: bucket })),
      { labels: { le: '+Inf' }, value: count, metricName: bucket },
      { labels: {}, value: sum, metricName: `${this.name}_sum` },
      { labels: {}, value: count, metricName: `${this.name}_count` },
    ];
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values });
  }

  reset(): void {
    // The counts are the manager's, not the registry's.
  }
}
