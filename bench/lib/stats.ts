/** Summaries of samples: every figure of the benchmark is reported as p50, p99, mean and n. */
import type { Statistics } from 'tinybench';

export interface Summary {
  readonly p50: number;
  readonly p99: number;
  readonly mean: number;
  readonly min: number;
  readonly max: number;
  /** How many samples the summary is made of. */
  readonly samples: number;
}

/** Summarises raw samples. Percentiles interpolate linearly between order statistics, as tinybench's do. */
export function summarize(values: readonly number[]): Summary {
  if (values.length === 0) throw new RangeError('Expected at least one sample, got none');
  const sorted = [...values].sort((a, b) => a - b);
  let sum = 0;
  for (const value of sorted) sum += value;
  return {
    p50: quantile(sorted, 0.5),
    p99: quantile(sorted, 0.99),
    mean: sum / sorted.length,
    min: sorted[0] as number,
    max: sorted[sorted.length - 1] as number,
    samples: sorted.length,
  };
}

/** A tinybench latency or throughput statistic, as a Summary. */
export function fromTinybench(statistics: Statistics): Summary {
  return {
    p50: statistics.p50,
    p99: statistics.p99,
    mean: statistics.mean,
    min: statistics.min,
    max: statistics.max,
    samples: statistics.samplesCount,
  };
}

/** Applies `scale` to every location of a summary (ms to µs, say); the sample count stays. */
export function scaleSummary(summary: Summary, scale: number): Summary {
  return {
    p50: summary.p50 * scale,
    p99: summary.p99 * scale,
    mean: summary.mean * scale,
    min: summary.min * scale,
    max: summary.max * scale,
    samples: summary.samples,
  };
}

function quantile(sorted: readonly number[], q: number): number {
  const position = (sorted.length - 1) * q;
  const lower = Math.floor(position);
  const upper = Math.ceil(position);
  const low = sorted[lower] as number;
  const high = sorted[upper] as number;
  return low + (high - low) * (position - lower);
}
