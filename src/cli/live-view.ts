/**
 * The live view on a terminal: a line per running task with a progress bar, counts by state,
 * the elapsed time and an estimate of the time left, redrawn in place by log-update.
 *
 * `renderView` is a pure function of a `ViewState`; `LiveView` feeds it from a manager's
 * events and draws the result.
 */
import { createLogUpdate } from 'log-update';
import type { Task, TaskCounts } from '../shared/task.js';
import { fit, formatClock, truncate, widest } from './format.js';

/** A running task as the live view shows it. */
export interface RunningTask {
  readonly name: string;
  /** From 0 to 100. */
  readonly progress: number;
  /** How long it has been running. */
  readonly elapsedMs: number;
  /** The process running it, for a distributed run (`hostname:pid`). */
  readonly host?: string | undefined;
}

/** What the live view follows: a TaskManager, or anything with its events and counts (a distributed run). */
export interface LiveViewSource {
  on(event: 'started' | 'progress' | 'completed' | 'failed' | 'cancelled', listener: (task: Task) => unknown): unknown;
  getStats(): TaskCounts;
}

/** Everything the live view shows. */
export interface ViewState {
  /** What is being run: the job file's name, or `demo`. */
  readonly title: string;
  /** Since the run began. */
  readonly elapsedMs: number;
  readonly counts: TaskCounts;
  /** In the order they started. */
  readonly running: readonly RunningTask[];
  /** True after the first Ctrl-C. */
  readonly isInterrupted: boolean;
}

/** At most this many running tasks get a line of their own by default. */
export const MAX_TASK_LINES = 12;
const BAR_FILLED = '█';
const BAR_EMPTY = '░';
const MIN_BAR_WIDTH = 5;

/**
 * The time left, from the pace so far: finished tasks count whole and running ones by their
 * progress. Undefined until there is some progress to go on.
 */
export function estimateRemainingMs(state: ViewState): number | undefined {
  const { counts, running, elapsedMs } = state;
  const finished = counts.completed + counts.failed + counts.cancelled;
  const done = finished + running.reduce((sum, task) => sum + task.progress / 100, 0);
  if (done <= 0 || elapsedMs <= 0) return undefined;
  const remaining = Math.max(0, counts.total - done);
  return (remaining * elapsedMs) / done;
}

/**
 * Renders the live view as lines of at most `width` columns (CJK characters and emoji take two).
 *
 * @param state What to show.
 * @param width The terminal's width in columns.
 * @param maxTaskLines How many running tasks get a line; the rest are counted on one line.
 * @example
 * renderView({ title: 'jobs.json', elapsedMs: 5000, counts, running: [{ name: 'Hash', progress: 50, elapsedMs: 2000 }], isInterrupted: false }, 80);
 */
export function renderView(state: ViewState, width: number, maxTaskLines = MAX_TASK_LINES): string {
  const { counts, running } = state;
  const finished = counts.completed + counts.failed + counts.cancelled;
  const eta = estimateRemainingMs(state);
  const lines = [
    `taskloom · ${state.title} · ${finished}/${counts.total} done · elapsed ${formatClock(state.elapsedMs)} · ETA ${eta === undefined ? '-:--' : formatClock(eta)}`,
    `${counts.running} running · ${counts.pending} pending · ${counts.completed} completed · ${counts.failed} failed · ${counts.cancelled} cancelled`,
  ];
  const shown = running.slice(0, Math.max(0, maxTaskLines));
  const names = shown.map((task) => task.name);
  const nameWidth = Math.min(widest(names, 4), Math.max(4, Math.floor(width * 0.4)));
  for (const task of shown) lines.push(renderTaskLine(task, nameWidth, width));
  if (running.length > shown.length) lines.push(`  … and ${running.length - shown.length} more running`);
  lines.push(
    state.isInterrupted
      ? 'Interrupted: cancelling running tasks and saving results. Press Ctrl-C again to exit at once.'
      : 'Press Ctrl-C to stop: running tasks are cancelled, finished results are kept.',
  );
  return lines.map((line) => truncate(line, width)).join('\n');
}

function renderTaskLine(task: RunningTask, nameWidth: number, width: number): string {
  const percent = `${Math.floor(task.progress)}%`.padStart(4);
  const clock = formatClock(task.elapsedMs).padStart(5);
  // "  name [bar] 100%  0:00", then the host of a distributed task
  const host = task.host === undefined ? '' : `  ${task.host}`;
  const barWidth = width - (2 + nameWidth + 2 + 2 + percent.length + 1 + clock.length + host.length);
  if (barWidth < MIN_BAR_WIDTH) return `  ${fit(task.name, nameWidth)} ${percent} ${clock}${host}`;
  const filled = Math.round((Math.min(100, Math.max(0, task.progress)) / 100) * barWidth);
  const bar = BAR_FILLED.repeat(filled) + BAR_EMPTY.repeat(barWidth - filled);
  return `  ${fit(task.name, nameWidth)} [${bar}] ${percent} ${clock}${host}`;
}

/** How often the view is redrawn, so that the clocks tick. */
const REDRAW_MS = 100;

/** Draws the live view of a manager's tasks on a terminal until `stop()`. */
export class LiveView {
  readonly #manager: LiveViewSource;
  readonly #title: string;
  readonly #stream: NodeJS.WriteStream;
  readonly #update: ReturnType<typeof createLogUpdate>;
  readonly #running = new Map<string, { name: string; progress: number; startedAt: number; host: string | undefined }>();
  readonly #startedAt = Date.now();
  #timer: NodeJS.Timeout | undefined;
  #isInterrupted = false;

  constructor(manager: LiveViewSource, title: string, stream: NodeJS.WriteStream = process.stdout) {
    this.#manager = manager;
    this.#title = title;
    this.#stream = stream;
    this.#update = createLogUpdate(stream, { defaultWidth: 80, defaultHeight: 24 });
    const forget = (task: Task): void => void this.#running.delete(task.id);
    manager.on('started', (task) => {
      this.#running.set(task.id, {
        name: task.name,
        progress: task.progress,
        startedAt: task.startedAt?.getTime() ?? Date.now(),
        host: task.host,
      });
    });
    manager.on('progress', (task) => {
      const entry = this.#running.get(task.id);
      if (entry !== undefined) entry.progress = task.progress;
    });
    for (const event of ['completed', 'failed', 'cancelled'] as const) manager.on(event, forget);
  }

  /** Starts drawing. */
  start(): void {
    this.#draw();
    this.#timer ??= setInterval(() => this.#draw(), REDRAW_MS);
  }

  /** Prints a line above the view, where it stays. */
  log(line: string): void {
    this.#update.persist(line);
    if (this.#timer !== undefined) this.#draw();
  }

  /** Shows that the run was interrupted (the first Ctrl-C). */
  interrupt(): void {
    this.#isInterrupted = true;
    this.#draw();
  }

  /** Draws a last time, stops, and leaves the last frame on screen. */
  stop(): void {
    if (this.#timer === undefined) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#draw();
    this.#update.done();
  }

  /** Stops at once, for an immediate exit: the cursor is shown again. */
  abandon(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#update.done();
  }

  #draw(): void {
    const now = Date.now();
    const running = [...this.#running.values()].map((task) => ({
      name: task.name,
      progress: task.progress,
      elapsedMs: now - task.startedAt,
      host: task.host,
    }));
    const state: ViewState = {
      title: this.#title,
      elapsedMs: now - this.#startedAt,
      counts: this.#manager.getStats(),
      running,
      isInterrupted: this.#isInterrupted,
    };
    // A terminal that reports no size (0 columns) gets the usual default.
    const columns = this.#stream.columns || 80;
    const rows = this.#stream.rows || 24;
    // Keep the frame within the terminal: two header lines, one footer, one "more" line.
    this.#update(renderView(state, columns - 1, Math.max(1, Math.min(MAX_TASK_LINES, rows - 5))));
  }
}
