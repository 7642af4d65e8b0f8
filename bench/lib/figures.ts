/**
 * Figures and targets: what every scenario hands back to the runner. A figure is one metric of
 * one subject (a pool, or a baseline such as a bare worker) with its summary; its ratio is its
 * p50 divided by the p50 of the same metric's baseline subject, raw Piscina unless named. When
 * both were measured in the same rounds, the ratio also has a spread: the lowest and highest
 * ratio of the two within one round.
 */
import { ratioSpread, roundSpread, type Spread, type Statistic, type Summary } from './stats.js';

/** Which way is good: a latency wants to be lower, a throughput higher. */
export type Better = 'lower' | 'higher';

export interface Figure {
  readonly scenario: string;
  /** What was measured, e.g. "createTask → first line". */
  readonly metric: string;
  /** Who was measured: a pool's name or a baseline's. */
  readonly subject: string;
  readonly unit: string;
  readonly better: Better;
  readonly summary: Summary;
  /** The subject this figure is compared with, when the metric has one. */
  readonly baseline: string | undefined;
  /** `summary.p50 / baseline's summary.p50`; undefined for the baseline itself or when it is missing. */
  readonly ratio: number | undefined;
  /** The lowest and highest per-round ratio, when the figure and its baseline share rounds. */
  readonly ratioSpread?: Spread;
  /** Its median against the previous full run's on the same machine, when there is one (lib/history.ts). */
  readonly sincePrevious?: Change;
}

/** How far a figure moved since the previous full run: its p50 (the median), which marks it noisy, and its p99. */
export interface Change {
  readonly p50: Moved;
  readonly p99: Moved;
}

export interface Moved {
  /** The previous full run's value. */
  readonly previous: number;
  /** This value ÷ the previous one − 1. */
  readonly change: number;
  /** The change is larger than lib/history.ts NOISY_CHANGE either way. */
  readonly noisy: boolean;
}

export interface Target {
  /** The target as the issue words it. */
  readonly target: string;
  /** What was compared with the limit, e.g. "taskloom p50 ÷ Piscina p50". */
  readonly measured: string;
  readonly value: number | undefined;
  /** The lowest and highest value over the rounds, when the value pairs figures measured in rounds. */
  readonly spread?: Spread;
  readonly limit: number;
  readonly unit: string;
  /** undefined when the scenario could not measure it. */
  readonly met: boolean | undefined;
}

/** A yes-or-no property a scenario verifies, such as "no progress after the final event". */
export interface Check {
  readonly check: string;
  readonly passed: boolean;
  readonly detail: string;
}

/** What a scenario reports. */
export interface ScenarioResult {
  readonly figures: readonly Figure[];
  readonly targets: readonly Target[];
  readonly checks: readonly Check[];
  /** Conditions a reader needs: sizes, durations, options that differ from the defaults. */
  readonly notes: readonly string[];
}

/** A figure before its scenario is named and its ratio to the baseline is known. */
type PendingFigure = Omit<Figure, 'scenario' | 'ratio' | 'ratioSpread' | 'sincePrevious'>;

/** One figure's p50 divided by another's, with the spread of that ratio over their rounds. */
export interface Comparison {
  readonly value: number | undefined;
  readonly spread?: Spread;
}

/** Collects a scenario's figures, then works out each one's ratio to its baseline. */
export class FigureSet {
  readonly #scenario: string;
  readonly #pending: PendingFigure[] = [];

  constructor(scenario: string) {
    this.#scenario = scenario;
  }

  /**
   * Adds a figure. `baseline` names the subject it is compared with, raw Piscina by default;
   * `null` means no comparison makes sense.
   */
  add(metric: string, subject: string, unit: string, better: Better, summary: Summary, baseline: string | null = 'piscina'): void {
    this.#pending.push({ metric, subject, unit, better, summary, baseline: baseline ?? undefined });
  }

  find(metric: string, subject: string): Summary | undefined {
    return this.#pending.find((figure) => figure.metric === metric && figure.subject === subject)?.summary;
  }

  /**
   * `subject`'s p50 (or p99) of `metric` divided by `base`'s, and the spread of that ratio over
   * their rounds.
   */
  compare(metric: string, subject: string, base: string, statistic: Statistic = 'p50'): Comparison {
    const ours = this.find(metric, subject);
    const theirs = this.find(metric, base);
    if (ours === undefined || theirs === undefined || theirs[statistic] === 0) return { value: undefined };
    const value = ours[statistic] / theirs[statistic];
    const spread = ratioSpread(ours, theirs, statistic);
    return spread === undefined ? { value } : { value, spread };
  }

  /** `subject`'s p50 (or p99) of `metric`, with its spread over the rounds when it was measured in rounds. */
  median(metric: string, subject: string, statistic: Statistic = 'p50'): Comparison {
    const summary = this.find(metric, subject);
    if (summary === undefined) return { value: undefined };
    const spread = roundSpread(summary, statistic);
    return spread === undefined ? { value: summary[statistic] } : { value: summary[statistic], spread };
  }

  /** The figures, grouped by metric in order of first appearance, each with its ratio to its baseline's p50. */
  figures(): Figure[] {
    const metrics = [...new Set(this.#pending.map((figure) => figure.metric))];
    const grouped = metrics.flatMap((metric) => this.#pending.filter((figure) => figure.metric === metric));
    return grouped.map((figure) => {
      const base =
        figure.baseline === undefined || figure.baseline === figure.subject ? undefined : this.find(figure.metric, figure.baseline);
      if (base === undefined || base.p50 === 0) return { scenario: this.#scenario, ...figure, baseline: undefined, ratio: undefined };
      const ratio = { scenario: this.#scenario, ...figure, ratio: figure.summary.p50 / base.p50 };
      const spread = ratioSpread(figure.summary, base);
      return spread === undefined ? ratio : { ...ratio, ratioSpread: spread };
    });
  }
}

/**
 * A target is met when `value` is on the good side of `limit`. `value` may be a Comparison, whose
 * spread over the rounds is then reported with it; the verdict is on its value, the median's.
 */
export function checkTarget(
  target: string,
  measured: string,
  value: number | Comparison | undefined,
  limit: number,
  unit: string,
  better: Better,
): Target {
  const { value: measuredValue, spread } = typeof value === 'object' ? value : { value, spread: undefined };
  const met =
    measuredValue === undefined || !Number.isFinite(measuredValue)
      ? undefined
      : better === 'lower'
        ? measuredValue <= limit
        : measuredValue >= limit;
  const checked = { target, measured, value: measuredValue, limit, unit, met };
  return spread === undefined ? checked : { ...checked, spread };
}
