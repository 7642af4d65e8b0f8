/**
 * Figures and targets: what every scenario hands back to the runner. A figure is one metric of
 * one subject (a pool, or a baseline such as a bare worker) with its summary; its ratio is its
 * p50 divided by the p50 of the same metric's baseline subject, raw Piscina unless named.
 */
import type { Summary } from './stats.js';

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
}

export interface Target {
  /** The target as the issue words it. */
  readonly target: string;
  /** What was compared with the limit, e.g. "taskloom p50 ÷ Piscina p50". */
  readonly measured: string;
  readonly value: number | undefined;
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
type PendingFigure = Omit<Figure, 'scenario' | 'ratio'>;

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

  /** The figures, grouped by metric in order of first appearance, each with its ratio to its baseline's p50. */
  figures(): Figure[] {
    const metrics = [...new Set(this.#pending.map((figure) => figure.metric))];
    const grouped = metrics.flatMap((metric) => this.#pending.filter((figure) => figure.metric === metric));
    return grouped.map((figure) => {
      const base = figure.baseline === undefined || figure.baseline === figure.subject ? undefined : this.find(figure.metric, figure.baseline);
      const hasRatio = base !== undefined && base.p50 !== 0;
      return {
        scenario: this.#scenario,
        ...figure,
        baseline: hasRatio ? figure.baseline : undefined,
        ratio: hasRatio ? figure.summary.p50 / base.p50 : undefined,
      };
    });
  }
}

/** A target is met when `value` is on the good side of `limit`. */
export function checkTarget(
  target: string,
  measured: string,
  value: number | undefined,
  limit: number,
  unit: string,
  better: Better,
): Target {
  const met = value === undefined || !Number.isFinite(value) ? undefined : better === 'lower' ? value <= limit : value >= limit;
  return { target, measured, value, limit, unit, met };
}
