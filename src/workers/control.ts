/**
 * The worker's control channel to the main thread, made when the worker loads and handed over in
 * a handshake on the parentPort: aborts come in on it; progress, batch reports and log lines go
 * out. It also knows the task that runs, for the aborts addressed to it by dispatch number.
 */
import { MessageChannel, parentPort, threadId } from 'node:worker_threads';
import { HANDSHAKE, reviveError, type ControlMessage, type PortHandshake, type SerializedError } from '../shared/messages.js';
import type { WorkerTaskContext } from './context.js';

if (parentPort === null) {
  throw new Error('taskloom/workers/entry is loaded by the worker pool only; it cannot run on the main thread');
}

/**
 * The task that runs. A worker runs one at a time (a lone task, or the items of a batch one
 * after another), so this is one variable: a Map that empties after every task reallocates its
 * table each time.
 */
let running: WorkerTaskContext | undefined;
/**
 * Aborts that arrived before their task did (the two travel on different ports). A few are
 * kept, oldest dropped first: an abort for a task that runs elsewhere is simply never used.
 */
const earlyAborts = new Map<number, SerializedError>();
const EARLY_ABORTS_KEPT = 64;
let onAbort: (() => void) | undefined;

const { port1, port2 } = new MessageChannel();
const handshake: PortHandshake = { type: HANDSHAKE, threadId, port: port2 };
parentPort.postMessage(handshake, [port2]);
port1.on('message', (message: ControlMessage) => {
  const context = running?.dispatch === message.dispatch ? running : undefined;
  if (context === undefined) {
    earlyAborts.set(message.dispatch, message.reason);
    if (earlyAborts.size > EARLY_ABORTS_KEPT) earlyAborts.delete(earlyAborts.keys().next().value as number);
  } else {
    context.abort(reviveError(message.reason));
  }
  onAbort?.();
});
port1.unref();

/** The worker's end of the control channel. */
export const control = port1;

/** Registers a task that starts: aborts for its dispatch number reach it, those that came early at once. */
export function register(context: WorkerTaskContext): void {
  running = context;
  if (earlyAborts.size === 0) return;
  const early = earlyAborts.get(context.dispatch);
  if (early === undefined) return;
  earlyAborts.delete(context.dispatch);
  context.abort(reviveError(early));
}

export function unregister(context: WorkerTaskContext): void {
  if (running === context) running = undefined;
}

/** Calls `listener` after each abort that arrives (a batch flushes what it has to report), or stops with undefined. */
export function afterAbort(listener: (() => void) | undefined): void {
  onAbort = listener;
}
