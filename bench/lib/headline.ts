/**
 * The headline: a compact Markdown table of the figures a reader of the README looks for, one
 * row per figure and one column per pool, each cell its median with the spread of its rounds,
 * and the ratio of taskloom to its baseline. It is written into latest.md between two markers,
 * and `npm run bench:readme` copies it from there into the README, so that the README's
 * figures are always those of one results file, naming its commit.
 */
import type { Figure } from './figures.js';
import { formatChange } from './history.js';
import { ratioSpread, roundSpread, type Spread, type Statistic } from './stats.js';
import { formatNumber, formatSpread, markdownRow } from './table.js';

/**
 * The markers around a block of latest.md that `npm run bench:readme` copies into the README,
 * wherever the README holds the same two markers.
 */
export function blockMarkers(block: string): { readonly start: string; readonly end: string } {
  return { start: `<!-- bench:${block}:start -->`, end: `<!-- bench:${block}:end -->` };
}

export const HEADLINE_START = blockMarkers('headline').start;
export const HEADLINE_END = blockMarkers('headline').end;

/** The pool columns, in order, by subject name, with their headers. */
const COLUMNS = [
  ['taskloom', 'taskloom'],
  ['piscina', 'Piscina'],
  ['tinypool', 'tinypool'],
  ['workerpool', 'workerpool'],
  ['poolifier', 'poolifier'],
] as const;
type Column = (typeof COLUMNS)[number][0];

interface Row {
  readonly scenario: string;
  /** The metric's name, or a test of it when the name carries a size (the last figure that passes is taken). */
  readonly metric: string | ((metric: string) => boolean);
  /** The row's label; `metric` stands for the metric's name. */
  readonly label: (metric: string) => string;
  readonly statistic?: Statistic;
  /** Which subject fills a column, when it is not the column's own pool; null leaves it empty. */
  readonly subjects?: Partial<Record<Column, string | null>>;
}

const ROWS: readonly Row[] = [
  {
    scenario: 'latency',
    metric: 'submit → result on main',
    label: () => 'sequential latency, createTask → result (Piscina: run()), p50',
  },
  {
    scenario: 'latency',
    metric: 'submit → result on main',
    label: () => 'sequential latency, createTask → result, p99',
    statistic: 'p99',
  },
  { scenario: 'latency', metric: 'submit → handler first line', label: () => "scheduling latency, submit → handler's first line, p50" },
  { scenario: 'throughput', metric: 'no-op tasks, all at once', label: () => 'no-op throughput, all submitted at once' },
  {
    scenario: 'throughput',
    metric: (metric) => metric.startsWith('no-op tasks, window of '),
    label: (metric) => `no-op throughput, ${metric.replace('no-op tasks, ', '')} in flight`,
  },
  {
    scenario: 'cpu-scaling',
    metric: (metric) => metric.startsWith('efficiency at pool size '),
    label: (metric) => `CPU efficiency (sha256 tasks), ${metric.replace('efficiency at ', '')}`,
  },
  {
    scenario: 'poolifier-workload',
    metric: (metric) => metric.endsWith(', wall time'),
    label: (metric) => `poolifier's workload, ${metric}`,
  },
  {
    scenario: 'priority-flood',
    metric: 'high-priority task: submit → first line',
    label: () => 'high-priority task under a flood: submit → first line, p50 (Piscina: behind p-queue)',
    subjects: { piscina: 'p-queue → piscina' },
  },
  {
    scenario: 'priority-flood',
    metric: 'high-priority task: submit → first line',
    label: () => 'high-priority task under a flood, p99',
    statistic: 'p99',
    subjects: { piscina: 'p-queue → piscina' },
  },
  {
    scenario: 'cancellation',
    metric: (metric) => metric.startsWith('pending task, '),
    label: (metric) => `cancel a ${metric.replace(': cancel, per op', '').replace('pending task, ', 'pending task (')})`,
  },
  { scenario: 'progress', metric: 'progress events received', label: () => 'progress events received per second' },
  {
    scenario: 'memory',
    metric: (metric) => metric.startsWith('heap per pending task, '),
    label: (metric) => metric,
  },
  {
    scenario: 'map',
    metric: 'trivial items per second',
    label: () => '`map`, trivial items, chunks of 256 (ratio: to one task per item)',
    subjects: { taskloom: 'map, chunkSize 256', piscina: null },
  },
  {
    scenario: 'transfer',
    metric: '64 MiB ArrayBuffer round trip',
    label: () => '64 MiB ArrayBuffer round trip, moved both ways (Piscina: transferList + move())',
    subjects: { taskloom: 'taskloom, transfer', piscina: 'piscina, transferList + move()' },
  },
];

/** A value in a unit a reader takes in at a glance: µs below 1 ms, s above 1,000 ms, "/s" for rates. */
function scale(unit: string, value: number): { factor: number; suffix: string } {
  const magnitude = Math.abs(value);
  switch (unit) {
    case 'ms':
      return magnitude < 1
        ? { factor: 1000, suffix: ' µs' }
        : magnitude >= 1000
          ? { factor: 1 / 1000, suffix: ' s' }
          : { factor: 1, suffix: ' ms' };
    case 'µs':
      return magnitude >= 1000 ? { factor: 1 / 1000, suffix: ' ms' } : { factor: 1, suffix: ' µs' };
    case 'tasks/s':
    case 'items/s':
    case 'events/s':
      return { factor: 1, suffix: '/s' };
    case '':
      return { factor: 1, suffix: '' };
    default:
      return { factor: 1, suffix: ` ${unit}` };
  }
}

function cell(figure: Figure, statistic: Statistic): string {
  const value = figure.summary[statistic];
  const { factor, suffix } = scale(figure.unit, value);
  const spread = roundSpread(figure.summary, statistic);
  const scaled = (number: number): string => formatNumber(number * factor);
  const range = spread === undefined || spread.min === spread.max ? '' : ` (${formatSpread(spread, scaled)})`;
  const moved = figure.sincePrevious?.[statistic];
  const noisy = moved?.noisy === true ? ` **noisy** (${formatChange(moved.change)})` : '';
  return `${scaled(value)}${suffix}${range}${noisy}`;
}

const ratioNumber = (ratio: number): string => (ratio >= 10 ? ratio.toFixed(0) : ratio >= 0.1 ? ratio.toFixed(2) : ratio.toPrecision(2));

function ratioCell(ours: Figure, base: Figure | undefined, statistic: Statistic, baseLabel: string | undefined): string {
  if (base === undefined || base.summary[statistic] === 0) return '';
  const ratio = ours.summary[statistic] / base.summary[statistic];
  const spread: Spread | undefined = ratioSpread(ours.summary, base.summary, statistic);
  const range = spread === undefined ? '' : ` (${formatSpread(spread, ratioNumber)})`;
  return `${ratioNumber(ratio)}×${baseLabel === undefined ? '' : ` ${baseLabel}`}${range}`;
}

/** A row of the headline table as it will be printed, with the figures in it. */
interface Line {
  readonly label: string;
  readonly cells: Partial<Record<Column, string>>;
  readonly ratio: string;
  readonly figures: readonly Figure[];
}

/**
 * The headline table of `figures`: the rows whose figures the run measured, and the pool columns
 * that have at least one figure. Empty when none of its rows was measured.
 */
export function headlineTable(figures: readonly Figure[]): string {
  const lines = headlineLines(figures);
  if (lines.length === 0) return '';
  const columns = COLUMNS.filter(([column]) => lines.some((line) => line.cells[column] !== undefined));
  const header = ['figure', ...columns.map(([, title]) => title), 'taskloom ÷ Piscina'];
  const align = ['---', ...columns.map(() => '---:'), '---:'];
  return [
    markdownRow(header),
    markdownRow(align),
    ...lines.map((line) => markdownRow([line.label, ...columns.map(([column]) => line.cells[column] ?? ''), line.ratio])),
  ].join('\n');
}

/**
 * How many rounds the cells of the headline table are medians of: the most common count, then
 * the rows of each other count, as in "5 rounds; 15 for 64 MiB ArrayBuffer round trip, moved
 * both ways; measured once: heap per pending task, 100,000". A scenario whose trips are short
 * runs more rounds than the rest, and one whose figure counts bytes, not time, runs one.
 */
export function headlineRounds(figures: readonly Figure[]): string {
  const byCount = new Map<number, string[]>();
  for (const line of headlineLines(figures)) {
    const counts = new Set(line.figures.map((figure) => figure.summary.rounds?.p50.length ?? 1));
    for (const count of counts) {
      const labels = byCount.get(count) ?? [];
      if (!labels.includes(line.label)) labels.push(line.label);
      byCount.set(count, labels);
    }
  }
  const [most, ...rest] = [...byCount.entries()].sort(([, a], [, b]) => b.length - a.length);
  if (most === undefined) return 'none';
  const others = rest.sort(([a], [b]) => b - a);
  const exceptions = others.map(([count, labels]) => {
    const rows = labels.map((label) => label.split(' (')[0]).join(', ');
    return count === 1 ? `measured once: ${rows}` : `${count} for ${rows}`;
  });
  return [`${most[0]} rounds`, ...exceptions].join('; ');
}

function headlineLines(figures: readonly Figure[]): Line[] {
  const lines: Line[] = [];
  for (const row of ROWS) {
    const ofScenario = figures.filter((figure) => figure.scenario === row.scenario);
    const test = row.metric;
    const metric = typeof test === 'string' ? test : ofScenario.filter((figure) => test(figure.metric)).at(-1)?.metric;
    if (metric === undefined) continue;
    const find = (subject: string | null): Figure | undefined =>
      ofScenario.find((figure) => figure.metric === metric && figure.subject === subject);
    const statistic = row.statistic ?? 'p50';
    const subjectOf = (column: Column): string | null => (row.subjects?.[column] === undefined ? column : row.subjects[column]);
    const ours = find(subjectOf('taskloom'));
    if (ours === undefined) continue;
    const cells: Partial<Record<Column, string>> = {};
    const used: Figure[] = [];
    for (const [column] of COLUMNS) {
      const figure = find(subjectOf(column));
      if (figure === undefined) continue;
      cells[column] = cell(figure, statistic);
      used.push(figure);
    }
    // The ratio is to the figure's own baseline: raw Piscina unless the scenario names another.
    const baseSubject = ours.baseline;
    const base = baseSubject === undefined ? undefined : find(baseSubject);
    const isPiscinaColumn = baseSubject === subjectOf('piscina');
    lines.push({
      label: row.label(metric),
      cells,
      ratio: ratioCell(ours, base, statistic, isPiscinaColumn ? undefined : baseSubject),
      figures: used,
    });
  }
  return lines;
}

/**
 * The figures of one scenario as a table, one row per metric and one column per subject, in the
 * order the scenario reported them: each cell its median with the spread of its rounds. Empty
 * when the scenario measured nothing.
 */
export function scenarioTable(figures: readonly Figure[], scenario: string): string {
  const own = figures.filter((figure) => figure.scenario === scenario);
  const metrics = [...new Set(own.map((figure) => figure.metric))];
  const subjects = [...new Set(own.map((figure) => figure.subject))];
  if (metrics.length === 0) return '';
  const rows = metrics.map((metric) =>
    markdownRow([
      metric,
      ...subjects.map((subject) => {
        const figure = own.find((candidate) => candidate.metric === metric && candidate.subject === subject);
        return figure === undefined ? '' : cell(figure, 'p50');
      }),
    ]),
  );
  return [markdownRow(['figure', ...subjects]), markdownRow(['---', ...subjects.map(() => '---:')]), ...rows].join('\n');
}
