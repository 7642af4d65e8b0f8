/** Renders figures and targets as a plain-text table (the console) and as Markdown (the README). */
import type { Figure, Target } from './figures.js';
import { formatChange } from './history.js';
import { roundSpread, type Spread } from './stats.js';

const HEADERS = ['Scenario', 'Metric', 'Subject', 'p50', 'spread', 'p99', 'mean', 'n', 'rounds', 'unit', 'ratio'] as const;
/** The last column, when the figures were compared with a previous full run. */
const SINCE_PREVIOUS = 'vs previous run';
/** The columns of numbers, aligned right. */
const NUMERIC = new Set([3, 4, 5, 6, 7, 8]);

function headers(figures: readonly Figure[]): string[] {
  return figures.some((figure) => figure.sincePrevious !== undefined) ? [...HEADERS, SINCE_PREVIOUS] : [...HEADERS];
}

/** The p50's change: "+18% noisy", "−3%", or "" for a figure the previous run did not have. */
function formatSincePrevious(figure: Figure): string {
  if (figure.sincePrevious === undefined) return '';
  const { change, noisy } = figure.sincePrevious.p50;
  return `${formatChange(change)}${noisy ? ' noisy' : ''}`;
}

/** A number with about three significant digits, and thousands separated. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const magnitude = Math.abs(value);
  if (magnitude >= 100) return Math.round(value).toLocaleString('en-US');
  if (magnitude >= 10) return value.toFixed(1);
  if (magnitude >= 1) return value.toFixed(2);
  if (magnitude === 0) return '0';
  return value.toPrecision(3);
}

/** "0.97–1.12": the lowest and highest value over the rounds. */
export function formatSpread(spread: Spread, format: (value: number) => string = formatNumber): string {
  return `${format(spread.min)}–${format(spread.max)}`;
}

const ratioNumber = (ratio: number): string => (ratio >= 0.1 ? ratio.toFixed(2) : ratio.toPrecision(2));

/** "1.07× piscina (0.98–1.15)", or "" for a figure without a baseline. */
export function formatRatio(figure: Figure): string {
  if (figure.ratio === undefined || figure.baseline === undefined) return figure.baseline === undefined ? '' : '–';
  const spread = figure.ratioSpread === undefined ? '' : ` (${formatSpread(figure.ratioSpread, ratioNumber)})`;
  return `${ratioNumber(figure.ratio)}× ${figure.baseline}${spread}`;
}

function rows(figures: readonly Figure[]): string[][] {
  const hasPrevious = figures.some((figure) => figure.sincePrevious !== undefined);
  return figures.map((figure) => {
    const spread = roundSpread(figure.summary);
    const cells = [
      figure.scenario,
      figure.metric,
      figure.subject,
      formatNumber(figure.summary.p50),
      spread === undefined ? '' : formatSpread(spread),
      formatNumber(figure.summary.p99),
      formatNumber(figure.summary.mean),
      String(figure.summary.samples),
      figure.summary.rounds === undefined ? '' : String(figure.summary.rounds.p50.length),
      figure.unit,
      formatRatio(figure),
    ];
    return hasPrevious ? [...cells, formatSincePrevious(figure)] : cells;
  });
}

export function textTable(figures: readonly Figure[]): string {
  const body = rows(figures);
  const head = headers(figures);
  const widths = head.map((header, column) => Math.max(header.length, ...body.map((row) => (row[column] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, column) => (NUMERIC.has(column) ? cell.padStart(widths[column] ?? 0) : cell.padEnd(widths[column] ?? 0)))
      .join('  ')
      .trimEnd();
  const out = [line(head), widths.map((width) => '-'.repeat(width)).join('  ')];
  let previous: string | undefined;
  for (const [index, row] of body.entries()) {
    const scenario = figures[index]?.scenario;
    if (previous !== undefined && scenario !== previous) out.push('');
    previous = scenario;
    out.push(line(row));
  }
  return out.join('\n');
}

/** One row of a Markdown table. */
export function markdownRow(cells: readonly string[]): string {
  return `| ${cells.map((cell) => cell.replaceAll('|', '\\|')).join(' | ')} |`;
}

export function markdownTable(figures: readonly Figure[]): string {
  const head = headers(figures);
  const align = head.map((_, column) => (NUMERIC.has(column) ? '---:' : '---'));
  return [markdownRow(head), markdownRow(align), ...rows(figures).map(markdownRow)].join('\n');
}

/** "met", "MISSED" or "NOT MEASURED". */
export function targetVerdict(target: Target): string {
  return target.met === undefined ? 'NOT MEASURED' : target.met ? 'met' : 'MISSED';
}

/** The target, what was measured and the limit, without the verdict. */
export function describeTarget(target: Target): string {
  const value = target.value === undefined ? 'n/a' : formatNumber(target.value);
  const unit = (text: string): string => (target.unit === '' ? text : `${text} ${target.unit}`);
  const spread = target.spread === undefined ? '' : `, rounds ${formatSpread(target.spread)}`;
  return `${target.target}: ${target.measured} = ${unit(value)}${spread} (limit ${unit(formatNumber(target.limit))})`;
}
