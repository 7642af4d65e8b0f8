/**
 * The worker's control channel to the main thread, made when the worker loads and handed over in
 * a handshake on the parentPort: aborts come in on it; progress, batch reports and log lines go
 * out. It also knows the task that runs, by dispatch number, for the aborts addressed to it.
 */
import { MessageChannel, parentPort, threadId } from 'node:worker_threads';
import { HANDSHAKE, reviveError, type ControlMessage, type PortHandshake, type SerializedError } from '../shared/messages.js';
import type { WorkerTaskContext } from './context.js';

if (parentPort === null) {
  throw new Error('taskloom/workers/entry is loaded by the worker pool only; it cannot run on the main thread');
}

/** The tasks that run, by dispatch number: one at a time, but an abort may name one that has ended. */
const running = new Map<number, WorkerTaskContext>();
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
  const context = running.get(message.dispatch);
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
  running.set(context.dispatch, context);
  if (earlyAborts.size === 0) return;
  const early = earlyAborts.get(context.dispatch);
  if (early === undefined) return;
  earlyAborts.delete(context.dispatch);
  context.abort(reviveError(early));
}

export function unregister(context: WorkerTaskContext): void {
  running.delete(context.dispatch);
}

/** Calls `listener` after each abort that arrives (a batch flushes what it has to report), or stops with undefined. */
export function afterAbort(listener: (() => void) | undefined): void {
  onAbort = listener;
}
