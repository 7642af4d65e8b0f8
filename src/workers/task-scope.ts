/**
 * Which task's code runs on this worker, for the uncaught exceptions Node reports: one thrown by a
 * callback of the running task fails that task, one thrown by a callback a finished task left
 * behind only logs a warning, and one from no task at all ends the worker.
 *
 * A worker runs one task at a time, so the running task is one variable. What that alone cannot
 * tell is whether a callback that throws while a task runs is that task's, or a timer an earlier
 * task left behind. Node gives every callback it will call (a timer, an immediate, I/O, a
 * nextTick) an async id when it is created, in increasing order, with or without async hooks on:
 * each task marks its start with a fresh id, so a callback whose id is at or above the running
 * task's mark was made while that task ran, and one below it was made before.
 *
 * This keeps what AsyncLocalStorage bought before, without its cost: on Node 20 it turns on
 * promise hooks, a cost on every promise of every task. Two cases differ: a promise reaction or
 * a microtask that throws (an unhandled rejection included) runs with no async id of its own, so
 * it is taken for the running task's, whichever task made it, and when no task runs it ends the
 * worker, as an exception from no task does; and a callback that a finished task's stray
 * callback creates while a later task runs is taken for the later task's.
 */
import { AsyncResource, executionAsyncId } from 'node:async_hooks';
import type { MessagePort } from 'node:worker_threads';
import { createPortLogger, type WorkerTaskContext } from './context.js';

/** How many of the latest tasks a stray callback is traced back to. */
const KEPT = 256;

/** The latest tasks to start, in a ring of parallel arrays (no object per task): their marks, ids and names. */
const marks = new Float64Array(KEPT);
const ids = new Array<string>(KEPT);
const names = new Array<string>(KEPT);
let started = 0;
let running: WorkerTaskContext | undefined;
let failRunning: ((error: unknown) => void) | undefined;
let firstMark = Infinity;

/** The handler of `context` is about to be called. */
export function enterTask(context: WorkerTaskContext): void {
  // A fresh async id: every callback created from now on has one at least as high.
  const mark = new AsyncResource('taskloom.task').asyncId();
  context.mark = mark;
  running = context;
  failRunning = undefined;
  if (started === 0) firstMark = mark;
  const slot = started++ % KEPT;
  marks[slot] = mark;
  ids[slot] = context.id;
  names[slot] = context.name;
}

/** The running task awaits its handler: an uncaught exception of its own fails it through `fail`. */
export function awaitTask(fail: (error: unknown) => void): void {
  failRunning = fail;
}

/** The running task's handler has settled. */
export function leaveTask(): void {
  running = undefined;
  failRunning = undefined;
}

/** Routes uncaught exceptions by the task they came from; warnings go out on `port`. */
export function catchUncaught(port: MessagePort, logLevel: number): void {
  process.on('uncaughtException', (error) => {
    const asyncId = executionAsyncId();
    const task = running;
    if (task !== undefined && failRunning !== undefined && (asyncId === 0 || asyncId >= task.mark)) {
      // Thrown by a callback of the task that is running: that task fails, the worker lives on.
      failRunning(error);
      return;
    }
    // No async id, and no task running: it is not known to come from any task (Piscina's own
    // failures, a message it could not read, say, are thrown so).
    const span = asyncId === 0 ? undefined : spanOf(asyncId);
    if (span === undefined) {
      // Not from any task: the worker cannot know what state it is in, so it ends, as Node would
      // have ended it, and the pool replaces it.
      process.exit(1);
    }
    // Thrown by a timer or promise a finished task left behind: nobody is waiting for it.
    const log = createPortLogger(port, span.id, span.name, logLevel);
    log.warn({ err: error }, 'the task threw an uncaught exception after it had ended');
  });
}

interface Span {
  readonly id: string;
  readonly name: string;
}

/** The task a callback with this async id was created by; undefined when no task had started. */
function spanOf(asyncId: number): Span | undefined {
  if (started === 0 || asyncId < firstMark) return undefined;
  // Newest first: the first mark at or below the id is its task's.
  for (let back = 1; back <= Math.min(started, KEPT); back++) {
    const slot = (started - back) % KEPT;
    if ((marks[slot] as number) <= asyncId) return { id: ids[slot] as string, name: names[slot] as string };
  }
  return { id: 'unknown', name: `a task older than the last ${KEPT} on this worker` };
}
