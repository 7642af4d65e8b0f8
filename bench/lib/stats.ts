/**
 * Summaries of samples: every figure of the benchmark is reported as p50, p99, mean and n. A
 * figure measured in rounds also keeps each round's own p50 and p99: its p50 and p99 are then
 * the medians of the rounds', and the rounds give its spread.
 */

export interface Summary {
  readonly p50: number;
  readonly p99: number;
  readonly mean: number;
  readonly min: number;
  readonly max: number;
  /** How many samples the summary is made of. */
  readonly samples: number;
  /** Each round's own p50 and p99, in round order, when the figure was measured in rounds. */
  readonly rounds?: Rounds;
}

export interface Rounds {
  readonly p50: readonly number[];
  readonly p99: readonly number[];
}

/** The two statistics kept per round. */
export type Statistic = keyof Rounds;

/** The lowest and the highest of some values: the spread of a figure over its rounds. */
export interface Spread {
  readonly min: number;
  readonly max: number;
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

/**
 * Summarises samples taken in rounds, one array per round: p50 and p99 are the medians of the
 * rounds' own p50 and p99, so that one busy round moves them less; mean, min, max and the sample
 * count are over every sample.
 */
export function summarizeRounds(rounds: readonly (readonly number[])[]): Summary {
  if (rounds.length === 0) throw new RangeError('Expected at least one round, got none');
  const each = rounds.map((round) => summarize(round));
  const all = summarize(rounds.flat());
  const p50 = each.map((round) => round.p50);
  const p99 = each.map((round) => round.p99);
  return { ...all, p50: median(p50), p99: median(p99), rounds: { p50, p99 } };
}

/**
 * Summarises one value per round (a rate, say): p50 is their median, p99 their 99th percentile,
 * and each value is its round's p50 and p99.
 */
export function summarizePerRound(values: readonly number[]): Summary {
  return { ...summarize(values), rounds: { p50: values, p99: values } };
}

/** The lowest and highest round p50 (or p99) of a summary measured in rounds. */
export function roundSpread(summary: Summary, statistic: Statistic = 'p50'): Spread | undefined {
  return summary.rounds === undefined ? undefined : spreadOf(summary.rounds[statistic]);
}

/**
 * The spread of `summary ÷ base` over rounds: each round's p50 (or p99) divided by the base's in
 * the same round. Undefined unless both were measured in the same number of rounds.
 */
export function ratioSpread(summary: Summary, base: Summary, statistic: Statistic = 'p50'): Spread | undefined {
  const ours = summary.rounds?.[statistic] ?? [];
  const theirs = base.rounds?.[statistic] ?? [];
  if (ours.length !== theirs.length || ours.length === 0) return undefined;
  return spreadOf(ours.map((value, round) => value / (theirs[round] as number)));
}

function spreadOf(values: readonly number[]): Spread {
  return { min: Math.min(...values), max: Math.max(...values) };
}

function median(values: readonly number[]): number {
  return quantile(
    [...values].sort((a, b) => a - b),
    0.5,
  );
}

function quantile(sorted: readonly number[], q: number): number {
  const position = (sorted.length - 1) * q;
  const lower = Math.floor(position);
  const upper = Math.ceil(position);
  const low = sorted[lower] as number;
  const high = sorted[upper] as number;
  return low + (high - low) * (position - lower);
}
