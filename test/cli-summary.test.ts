/**
 * The summary table printed at the end of `taskloom run`, on fixed results documents: its size
 * limits and its alignment. The modules are the built ones, as the CLI runs them.
 */
import stringWidth from 'string-width';
import { describe, expect, it } from 'vitest';
import type { ResultRecord, ResultsDocument } from '../dist/cli/results.js';
import { renderSummary } from '../dist/cli/summary.js';

const AT = '2026-01-02T03:04:05.000Z';

function record(index: number, name: string, overrides: Partial<ResultRecord> = {}): ResultRecord {
  return {
    index,
    line: null,
    name,
    id: `id-${index}`,
    state: 'completed',
    priority: 0,
    progress: 100,
    result: 'ok',
    error: null,
    createdAt: AT,
    startedAt: AT,
    completedAt: AT,
    durationMs: 5,
    ...overrides,
  };
}

function documentOf(tasks: readonly ResultRecord[]): ResultsDocument {
  const completed = tasks.filter((task) => task.state === 'completed').length;
  return {
    source: 'jobs.ndjson',
    startedAt: AT,
    finishedAt: AT,
    durationMs: 1234,
    interrupted: false,
    stats: { total: tasks.length, pending: 0, running: 0, completed, failed: tasks.length - completed, cancelled: 0 },
    tasks,
  };
}

describe('renderSummary', () => {
  it('renders 200,000 rows: column widths are not computed by spreading one argument per job', () => {
    const tasks = Array.from({ length: 200_000 }, (_, index) => record(index, `job ${index}`));

    const lines = renderSummary(documentOf(tasks), 120).split('\n');

    // Header, rule, one line per task, a blank line and the totals.
    expect(lines).toHaveLength(200_000 + 4);
    expect(lines[2]).toMatch(/^job 0 +0 +✔ completed +5ms +ok$/);
    expect(lines.at(-1)).toBe('200000 tasks in 1.23s: 200000 completed, 0 failed, 0 cancelled');
  });

  it('aligns the columns by display width when names hold CJK characters and emoji', () => {
    const names = [
      'plain ascii',
      '日本語のタスク',
      '🚀 launch',
      'mixed 漢字 ok',
      '长长长长长长长长长长长长长长长长长长长长长长长长',
      'e\u0301clair',
    ];
    const tasks = names.map((name, index) => record(index, name));

    const lines = renderSummary(documentOf(tasks), 80).split('\n');
    const rows = lines.slice(2, 2 + names.length);

    // Every row ends with the same two-column result, so aligned rows have the same display width.
    const widths = rows.map((line) => stringWidth(line));
    expect(new Set(widths).size, rows.join('\n')).toBe(1);
    // The header's columns line up with the rows': the state column starts at the same column.
    const stateColumn = (line: string, marker: string): number => stringWidth(line.slice(0, line.indexOf(marker)));
    for (const row of rows) expect(stateColumn(row, '✔')).toBe(stateColumn(lines[0] ?? '', 'State'));
    // The long CJK name is cut to the name column, with an ellipsis.
    expect(rows[4]).toContain('…');
    for (const line of lines) expect(stringWidth(line)).toBeLessThanOrEqual(80);
  });

  it('cuts wide results and errors to the table width by display width', () => {
    const tasks = [
      record(0, 'wide result', { result: '結果'.repeat(50) }),
      record(1, 'wide error', { state: 'failed', result: null, error: '🔥 エラー'.repeat(20) }),
    ];

    for (const width of [80, 100, 140]) {
      const lines = renderSummary(documentOf(tasks), width).split('\n');
      for (const line of lines) expect(stringWidth(line), line).toBeLessThanOrEqual(width);
    }
  });
});
