/**
 * Rounds: a scenario measures its subjects over several rounds, each round visiting every
 * subject once, and reports each figure as the median of its rounds with their spread. A busy
 * patch of a shared machine then moves one round of every subject, not every round of one.
 */
import type { ScenarioContext } from './scenario.js';

/** Rounds in a full run, and with --quick. */
export const FULL_ROUNDS = 5;
export const QUICK_ROUNDS = 2;

/** How many rounds a scenario runs: 5 in a full run, 2 with --quick. */
export function roundCount(context: ScenarioContext): number {
  return context.quick ? QUICK_ROUNDS : FULL_ROUNDS;
}

/** A subject's turn in a round: `measure` runs it once and records that round's samples. */
export interface Visit {
  readonly name: string;
  measure(round: number): Promise<void>;
}

/**
 * Runs `rounds` rounds, each visiting every subject once, in turn, starting one subject further
 * along each round: no subject always goes first, and a busy patch of a shared machine falls on
 * every subject alike rather than on whichever ran then. `label` prefixes the progress lines.
 */
export async function goRound(context: ScenarioContext, label: string, rounds: number, visits: readonly Visit[]): Promise<void> {
  for (let round = 0; round < rounds; round++) {
    for (let turn = 0; turn < visits.length; turn++) {
      const visit = visits[(round + turn) % visits.length] as Visit;
      context.log(`${label}, round ${round + 1} of ${rounds}, ${visit.name}`);
      await visit.measure(round);
    }
  }
}

/** Samples by subject, in the order the subjects were first met: one value, or one array, per round. */
export class PerRound<T = number> {
  readonly #samples = new Map<string, T[]>();

  add(subject: string, value: T): void {
    const samples = this.#samples.get(subject) ?? [];
    samples.push(value);
    this.#samples.set(subject, samples);
  }

  get(subject: string): readonly T[] {
    return this.#samples.get(subject) ?? [];
  }

  entries(): [string, T[]][] {
    return [...this.#samples];
  }

  clear(): void {
    this.#samples.clear();
  }
}
