/**
 * The live view's rendering, on fixed states: progress bars, counts by state, the elapsed
 * time and the estimate of the time left. The modules are the built ones, as the CLI runs them.
 */
import stringWidth from 'string-width';
import { describe, expect, it } from 'vitest';
import { estimateRemainingMs, renderView, type ViewState } from '../dist/cli/live-view.js';
import { formatLogLine } from '../dist/cli/logging.js';

const FULL = '█';
const EMPTY = '░';

/** Ten jobs: three finished, three running (at 50%, 0% and 100%), four pending. */
const state: ViewState = {
  title: 'jobs.json',
  elapsedMs: 15_000,
  counts: { total: 10, pending: 4, running: 3, completed: 2, failed: 1, cancelled: 0 },
  running: [
    { name: 'Hash a big file', progress: 50, elapsedMs: 4_000 },
    { name: 'Sieve', progress: 0, elapsedMs: 500 },
    { name: 'Download', progress: 100, elapsedMs: 61_000 },
  ],
  isInterrupted: false,
};

describe('renderView', () => {
  it('renders the header, the counts, a bar per running task and the footer', () => {
    // 81 columns leave a 50-character bar: 2 + 15 (name) + 2 + 50 + 2 + 4 (percent) + 1 + 5 (clock).
    expect(renderView(state, 81).split('\n')).toEqual([
      'taskloom · jobs.json · 3/10 done · elapsed 0:15 · ETA 0:18',
      '3 running · 4 pending · 2 completed · 1 failed · 0 cancelled',
      `  Hash a big file [${FULL.repeat(25)}${EMPTY.repeat(25)}]  50%  0:04`,
      `  Sieve           [${EMPTY.repeat(50)}]   0%  0:00`,
      `  Download        [${FULL.repeat(50)}] 100%  1:01`,
      'Press Ctrl-C to stop: running tasks are cancelled, finished results are kept.',
    ]);
  });

  it('never draws a line wider than the terminal', () => {
    const long: ViewState = {
      ...state,
      title: 'a-very-long-job-file-name-that-goes-on-and-on.ndjson',
      running: [{ name: 'x'.repeat(200), progress: 33.3, elapsedMs: 3_723_000 }, ...state.running],
    };
    for (const width of [10, 24, 40, 60, 80, 120, 200]) {
      for (const line of renderView(long, width).split('\n')) expect(line.length).toBeLessThanOrEqual(width);
    }
  });

  it('aligns the bars by display width when names hold CJK characters and emoji', () => {
    const wide: ViewState = {
      ...state,
      running: ['日本語のタスク', '🚀 launch', 'plain', '长'.repeat(30), 'mixed 漢字 ok'].map((name, i) => ({
        name,
        progress: i * 20,
        elapsedMs: 1_000,
      })),
    };
    for (const width of [30, 60, 81, 120]) {
      const lines = renderView(wide, width).split('\n');
      const taskLines = lines.slice(2, 7);
      // Same-width percent and clock columns: aligned lines have the same display width.
      expect(new Set(taskLines.map((line) => stringWidth(line))).size, taskLines.join('\n')).toBe(1);
      for (const line of lines) expect(stringWidth(line), line).toBeLessThanOrEqual(width);
    }
  });

  it('cuts long names and widens the bar to the width it is given', () => {
    const lines = renderView({ ...state, running: [{ name: 'n'.repeat(100), progress: 25, elapsedMs: 0 }] }, 100).split('\n');
    // The name gets 40% of 100 columns, cut with an ellipsis; the bar takes what is left.
    expect(lines[2]).toBe(`  ${'n'.repeat(39)}… [${FULL.repeat(11)}${EMPTY.repeat(33)}]  25%  0:00`);
  });

  it('drops the bar when the terminal is too narrow for one', () => {
    const lines = renderView(state, 30).split('\n');
    expect(lines[2]).toBe('  Hash a big…   50%  0:04');
    expect(lines[2]).not.toContain('[');
  });

  it('counts the running tasks it has no room for on one line', () => {
    const lines = renderView(state, 81, 1).split('\n');
    expect(lines.slice(2, 4)).toEqual([`  Hash a big file [${FULL.repeat(25)}${EMPTY.repeat(25)}]  50%  0:04`, '  … and 2 more running']);
  });

  it('says how to exit at once after the first Ctrl-C', () => {
    expect(
      renderView({ ...state, isInterrupted: true }, 120)
        .split('\n')
        .at(-1),
    ).toBe('Interrupted: cancelling running tasks and saving results. Press Ctrl-C again to exit at once.');
  });

  it('shows no estimate before anything has progressed', () => {
    const idle: ViewState = {
      ...state,
      elapsedMs: 2_000,
      counts: { total: 4, pending: 3, running: 1, completed: 0, failed: 0, cancelled: 0 },
      running: [{ name: 'Sieve', progress: 0, elapsedMs: 1_000 }],
    };
    expect(renderView(idle, 80).split('\n')[0]).toBe('taskloom · jobs.json · 0/4 done · elapsed 0:02 · ETA -:--');
  });
});

describe('estimateRemainingMs', () => {
  it('extrapolates from finished tasks and the progress of running ones', () => {
    // 3 finished + 0.5 + 0 + 1 = 4.5 tasks' worth in 15 s; 5.5 to go.
    expect(estimateRemainingMs(state)).toBeCloseTo((5.5 * 15_000) / 4.5, 6);
  });

  it('is 0 once everything is done, and undefined before anything is', () => {
    const done: ViewState = { ...state, counts: { total: 2, pending: 0, running: 0, completed: 1, failed: 0, cancelled: 1 }, running: [] };
    expect(estimateRemainingMs(done)).toBe(0);
    expect(estimateRemainingMs({ ...state, counts: { ...state.counts, completed: 0, failed: 0 }, running: [] })).toBeUndefined();
  });
});

describe('formatLogLine', () => {
  it('turns a pino line into a short line for above the view', () => {
    const time = new Date(2026, 0, 2, 3, 4, 5).getTime();
    const line = JSON.stringify({ level: 40, time, taskName: 'Download', msg: 'retrying', err: { message: 'socket hang up' } });
    expect(formatLogLine(line)).toBe('03:04:05 WARN  [Download] retrying (socket hang up)');
  });
});
