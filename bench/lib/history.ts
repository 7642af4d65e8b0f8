/**
 * Figures that reproduce: a full run reads the report of the previous full run before it writes
 * its own, and puts each figure's median next to the previous one. A figure whose median moved
 * more than NOISY_CHANGE is marked noisy, in the JSON and in the tables. Runs on different
 * machines, or of different sizes (quick and full), are not compared.
 */
import { relative } from 'node:path';
import { existsSync, readFileSync } from 'node:fs';
import type { Figure, Moved } from './figures.js';
import type { Machine } from './machine.js';

/** A median that moved more than this fraction from the previous full run's is noisy. */
export const NOISY_CHANGE = 0.15;

/** The run a report's figures were compared with. */
export interface PreviousRun {
  /** The file it was read from, as given. */
  readonly file: string;
  readonly commit: string;
  readonly date: string;
  readonly node: string;
}

/** The parts of a written report that a later run compares with. */
interface StoredReport {
  readonly machine: Pick<Machine, 'date' | 'cpuModel' | 'availableParallelism' | 'node' | 'taskloom'>;
  readonly mode: 'full' | 'quick';
  readonly poolSize: number;
  readonly figures: readonly Pick<Figure, 'scenario' | 'metric' | 'subject' | 'summary'>[];
}

/** What a run compares its figures with: a previous run, or why there is none. */
export type History = { readonly previous: PreviousRun; readonly figures: StoredReport['figures'] } | { readonly none: string };

/**
 * The previous full run at `path`, if it measured the same machine with the same pool size: the
 * figures of this run are compared with its.
 */
export function loadPrevious(path: string, machine: Machine, poolSize: number): History {
  if (!existsSync(path)) return { none: `no previous full run at ${path}` };
  let stored: StoredReport;
  try {
    stored = JSON.parse(readFileSync(path, 'utf8')) as StoredReport;
    if (!Array.isArray(stored.figures)) throw new TypeError('it has no figures');
  } catch (error) {
    return { none: `${path} could not be read as a results file: ${error instanceof Error ? error.message : String(error)}` };
  }
  if (stored.mode !== 'full') return { none: `${path} holds a ${stored.mode} run, not a full one` };
  const then = `${stored.machine.cpuModel}, ${stored.machine.availableParallelism} cores, pool size ${stored.poolSize}`;
  const now = `${machine.cpuModel}, ${machine.availableParallelism} cores, pool size ${poolSize}`;
  if (then !== now) return { none: `the previous full run measured another machine (${then}; this one: ${now})` };
  return {
    previous: {
      file: relative(process.cwd(), path) || path,
      commit: stored.machine.taskloom,
      date: stored.machine.date,
      node: stored.machine.node,
    },
    figures: stored.figures,
  };
}

/**
 * Each figure with its change since the previous run's figure of the same scenario, metric and
 * subject, where it has one: for its p50 and its p99, the previous value, the change as a
 * fraction of it, and whether that change makes the figure noisy.
 */
export function markChanges(figures: readonly Figure[], history: History): Figure[] {
  if ('none' in history) return [...figures];
  const before = new Map(history.figures.map((figure) => [key(figure), figure.summary]));
  return figures.map((figure) => {
    const previous = before.get(key(figure));
    if (previous === undefined) return figure;
    const p50 = moved(figure.summary.p50, previous.p50);
    const p99 = moved(figure.summary.p99, previous.p99);
    return p50 === undefined || p99 === undefined ? figure : { ...figure, sincePrevious: { p50, p99 } };
  });
}

function moved(now: number, previous: number): Moved | undefined {
  if (previous === 0 || !Number.isFinite(previous) || !Number.isFinite(now)) return undefined;
  const change = now / previous - 1;
  return { previous, change, noisy: Math.abs(change) > NOISY_CHANGE };
}

function key(figure: Pick<Figure, 'scenario' | 'metric' | 'subject'>): string {
  return JSON.stringify([figure.scenario, figure.metric, figure.subject]);
}

/** "+18%", "−3%": a change as a signed percentage. */
export function formatChange(change: number): string {
  const percent = Math.round(change * 100);
  return percent > 0 ? `+${percent}%` : percent < 0 ? `−${-percent}%` : '±0%';
}
