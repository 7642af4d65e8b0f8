/**
 * The last log lines of each task, for the dashboard's detail view. The manager's logger is
 * wrapped so that every line it writes with a `taskId` (a worker's `task.log`, which arrives with
 * the task's id in its fields, or a main-thread handler's child logger, bound to it) is also kept
 * here. Only lines the logger writes are kept, and only a bounded number: the last
 * LINES_PER_TASK lines of the last TASKS_KEPT tasks that logged, each cut to MAX_LINE_LENGTH.
 */
import { format, inspect } from 'node:util';
import type { Logger } from 'pino';

const LINES_PER_TASK = 20;
const TASKS_KEPT = 500;
const MAX_LINE_LENGTH = 500;
const LEVELS: ReadonlySet<string> = new Set(['trace', 'debug', 'info', 'warn', 'error', 'fatal']);
/** Fields every task's lines carry, and that the detail view need not repeat. */
const TASK_FIELDS: ReadonlySet<string> = new Set(['taskId', 'taskName']);

export interface TaskLogLine {
  /** Epoch milliseconds. */
  readonly time: number;
  readonly level: string;
  /** The message, then the line's other fields. */
  readonly text: string;
}

export class TaskLogs {
  readonly #lines = new Map<string, TaskLogLine[]>();

  /** The task's last lines, oldest first. */
  get(taskId: string): readonly TaskLogLine[] {
    return this.#lines.get(taskId) ?? [];
  }

  add(taskId: string, level: string, args: readonly unknown[]): void {
    let lines = this.#lines.get(taskId);
    if (lines === undefined) {
      if (this.#lines.size >= TASKS_KEPT) this.#lines.delete(this.#lines.keys().next().value as string);
      lines = [];
      this.#lines.set(taskId, lines);
    }
    if (lines.length === LINES_PER_TASK) lines.shift();
    lines.push({ time: Date.now(), level, text: describeLine(args) });
  }

  /**
   * The logger the manager's scheduler and runs use: `logger` itself, except that each line
   * it writes about a task is kept here too.
   */
  wrap(logger: Logger, taskId?: string): Logger {
    return new Proxy(logger, {
      get: (target, property) => {
        const value: unknown = Reflect.get(target, property, target);
        if (typeof property !== 'string' || typeof value !== 'function') return value;
        if (LEVELS.has(property)) {
          return (...args: unknown[]): unknown => {
            const id = taskId ?? taskIdOf(args[0]);
            if (id !== undefined && target.isLevelEnabled(property)) this.add(id, property, args);
            return Reflect.apply(value, target, args);
          };
        }
        if (property === 'child') {
          return (bindings: Record<string, unknown>, options?: unknown): Logger => {
            const child = Reflect.apply(value, target, [bindings, options]) as Logger;
            const id = taskIdOf(bindings);
            return this.wrap(child, id ?? taskId);
          };
        }
        return value;
      },
    });
  }
}

function taskIdOf(fields: unknown): string | undefined {
  if (typeof fields !== 'object' || fields === null) return undefined;
  const id = (fields as { taskId?: unknown }).taskId;
  return typeof id === 'string' ? id : undefined;
}

/** A pino call's arguments as one line of text: `(fields, message, ...values)` or `(message, ...values)`. */
function describeLine(args: readonly unknown[]): string {
  const [first, ...rest] = args;
  let text: string;
  if (typeof first === 'object' && first !== null && !(first instanceof Error)) {
    const [message, ...values] = rest;
    const fields = Object.entries(first).filter(([key]) => !TASK_FIELDS.has(key));
    text = typeof message === 'string' ? format(message, ...values) : '';
    if (fields.length > 0) {
      const shown = inspect(Object.fromEntries(fields), { depth: 2, breakLength: Infinity, maxStringLength: MAX_LINE_LENGTH });
      text = text === '' ? shown : `${text} ${shown}`;
    }
  } else {
    text = format(...args);
  }
  return text.length > MAX_LINE_LENGTH ? `${text.slice(0, MAX_LINE_LENGTH - 1)}…` : text;
}
