/**
 * The command's pino logger: plain JSON lines on stdout when it is not a terminal (on stderr
 * with --json, so that stdout holds only the results), and short readable lines above the
 * live view on a terminal.
 */
import { pino, type DestinationStream, type LevelWithSilent, type Logger } from 'pino';
import type { TaskManager } from '../main/manager.js';
import type { Task } from '../shared/task.js';

/** The levels `--log-level` accepts. */
export const LOG_LEVEL_NAMES: readonly LevelWithSilent[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

/** How a run reports: a live view on a terminal, pino lines, or one JSON document at the end. */
export type OutputMode = 'live' | 'log' | 'json';

/**
 * A logger writing pino JSON lines to a file descriptor (1 or 2), synchronously, so that no line
 * is lost on exit. Once the reader of that descriptor has gone (`taskloom run jobs.json | head`),
 * pino drops every later line without a word: `onBrokenPipe` is called then, once, so that the
 * command can stop rather than run on with nobody reading.
 */
export function createFdLogger(level: LevelWithSilent, fd: 1 | 2, onBrokenPipe?: () => void): Logger {
  const destination = pino.destination({ dest: fd, sync: true });
  if (onBrokenPipe !== undefined) {
    const onError = (error: NodeJS.ErrnoException): void => {
      if (error.code !== 'EPIPE') return;
      destination.off('error', onError);
      onBrokenPipe();
    };
    destination.on('error', onError);
  }
  return pino({ name: 'taskloom', level }, destination);
}

/**
 * The logger of a run: in `live` mode, short lines handed to `print` (above the live view);
 * otherwise pino JSON lines on stdout, or on stderr with `json`, whose document takes stdout.
 */
export function createRunLogger(
  options: { readonly mode: OutputMode; readonly logLevel: LevelWithSilent },
  print: (line: string) => void,
  onBrokenPipe: () => void,
): Logger {
  if (options.mode === 'live') return createLineLogger(options.logLevel, print);
  return createFdLogger(options.logLevel, options.mode === 'json' ? 2 : 1, onBrokenPipe);
}

/** A logger whose lines are formatted by `formatLogLine` and handed to `print`. */
export function createLineLogger(level: LevelWithSilent, print: (line: string) => void): Logger {
  const destination: DestinationStream = { write: (line: string) => print(formatLogLine(line)) };
  return pino({ name: 'taskloom', level }, destination);
}

const LEVEL_LABELS: Readonly<Record<number, string>> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

/** One pino JSON line as `12:03:04 WARN  [task name] message (error message)`. */
export function formatLogLine(line: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line.trimEnd();
  }
  const time = typeof entry['time'] === 'number' ? new Date(entry['time']).toTimeString().slice(0, 8) : '';
  const level = (LEVEL_LABELS[entry['level'] as number] ?? String(entry['level'])).padEnd(5);
  const task = typeof entry['taskName'] === 'string' ? ` [${entry['taskName']}]` : '';
  const err = entry['err'] as { message?: unknown } | undefined;
  const cause = typeof err?.message === 'string' ? ` (${err.message})` : typeof entry['error'] === 'string' ? ` (${entry['error']})` : '';
  const message = typeof entry['msg'] === 'string' ? entry['msg'] : '';
  return `${time} ${level}${task} ${message}${cause}`;
}

/** Logs each task's start, end and, at debug level, progress: what the live view shows, as log lines. */
export function logTaskEvents(manager: TaskManager, logger: Logger): void {
  const fields = (task: Task): Record<string, unknown> => ({ taskId: task.id, taskName: task.name });
  const duration = (task: Task): number | undefined =>
    task.startedAt === undefined || task.completedAt === undefined ? undefined : task.completedAt.getTime() - task.startedAt.getTime();
  manager.on('started', (task) => logger.info({ ...fields(task), priority: task.priority }, 'task started'));
  manager.on('progress', (task) => logger.debug({ ...fields(task), progress: task.progress }, 'task progress'));
  manager.on('completed', (task) => logger.info({ ...fields(task), durationMs: duration(task) }, 'task completed'));
  manager.on('failed', (task) => logger.error({ ...fields(task), durationMs: duration(task), error: task.error }, 'task failed'));
  manager.on('cancelled', (task) => {
    const message = task.startedAt === undefined ? 'task cancelled before it started' : 'task cancelled';
    logger.warn({ ...fields(task), progress: task.progress }, message);
  });
}
