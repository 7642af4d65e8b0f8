/** The summary table printed at the end of a run: name, priority, state, duration, and result or error. */
import { describeValue, fit, formatDuration, truncate, widest } from './format.js';
import type { ResultRecord, ResultsDocument } from './results.js';

const STATE_MARKS: Readonly<Record<ResultRecord['state'], string>> = {
  pending: '·',
  running: '…',
  completed: '✔',
  failed: '✖',
  cancelled: '⊘',
};

const MIN_OUTCOME_WIDTH = 16;
const GAP = '  ';

/**
 * Renders the summary of a run as a table of at most `width` columns (display columns: CJK
 * characters and emoji take two), followed by a line of totals.
 */
export function renderSummary(document: ResultsDocument, width: number): string {
  const rows = document.tasks.map((record) => ({
    name: record.name,
    priority: String(record.priority),
    state: `${STATE_MARKS[record.state]} ${record.state}`,
    duration: record.durationMs === null ? '-' : formatDuration(record.durationMs),
    outcome: describeOutcome(record),
  }));
  const column = (pick: (row: (typeof rows)[number]) => string, least: number): number => widest(rows.map(pick), least);
  const nameWidth = Math.min(
    column((row) => row.name, 4),
    Math.max(12, Math.floor(width * 0.35)),
  );
  const priorityWidth = column((row) => row.priority, 8);
  const stateWidth = column((row) => row.state, 5);
  const durationWidth = column((row) => row.duration, 8);
  const outcomeWidth = Math.max(MIN_OUTCOME_WIDTH, width - (nameWidth + priorityWidth + stateWidth + durationWidth + GAP.length * 4));
  const line = (name: string, priority: string, state: string, duration: string, outcome: string): string =>
    [
      fit(name, nameWidth),
      priority.padStart(priorityWidth),
      fit(state, stateWidth),
      duration.padStart(durationWidth),
      truncate(outcome, outcomeWidth),
    ]
      .join(GAP)
      .trimEnd();
  const rule = (columnWidth: number): string => '─'.repeat(columnWidth);
  const lines = [
    line('Name', 'Priority', 'State', 'Duration', 'Result / error'),
    line(rule(nameWidth), rule(priorityWidth), rule(stateWidth), rule(durationWidth), rule(Math.min(outcomeWidth, 40))),
    ...rows.map((row) => line(row.name, row.priority, row.state, row.duration, row.outcome)),
    '',
    describeTotals(document),
  ];
  return lines.join('\n');
}

/** `12 tasks in 14.20s: 10 completed, 1 failed, 1 cancelled`, plus a note when interrupted. */
export function describeTotals(document: ResultsDocument): string {
  const { stats } = document;
  const parts = [`${stats.completed} completed`, `${stats.failed} failed`, `${stats.cancelled} cancelled`];
  if (stats.pending + stats.running > 0) parts.push(`${stats.pending + stats.running} unfinished`);
  const noun = stats.total === 1 ? 'task' : 'tasks';
  const note = document.interrupted ? ' (interrupted)' : '';
  return `${stats.total} ${noun} in ${formatDuration(document.durationMs)}${note}: ${parts.join(', ')}`;
}

function describeOutcome(record: ResultRecord): string {
  switch (record.state) {
    case 'completed':
      return describeValue(record.result);
    case 'failed':
      return record.error ?? 'failed';
    case 'cancelled':
      return record.startedAt === null ? 'cancelled before it started' : `cancelled at ${Math.floor(record.progress)}%`;
    default:
      return `${record.state} at ${Math.floor(record.progress)}%`;
  }
}
