/**
 * The module Piscina loads in every worker thread. It opens the worker's control channel,
 * loads handler modules on demand and runs one task per call, turning whatever happens
 * into a `TaskOutcome`: this function never throws.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { MessageChannel, parentPort, threadId, workerData } from 'node:worker_threads';
import { findUncloneable } from './cloneable.js';
import { WorkerTaskContext } from './context.js';
import { loadedHandler, loadHandler } from './handlers.js';
import { NotCloneableError, PreloadError } from '../shared/errors.js';
import { createManagerClient, lazyEndpoint, type EndpointLike, type ManagerClient } from '../shared/client.js';
import {
  HANDSHAKE,
  reviveError,
  serializeError,
  type ControlMessage,
  type PortHandshake,
  type SerializedError,
  type TaskOutcome,
  type TaskRequest,
  type WorkerStartData,
} from '../shared/messages.js';

if (parentPort === null) {
  throw new Error('taskloom/workers/entry is loaded by the worker pool only; it cannot run on the main thread');
}

const startData = (workerData ?? { logLevel: 40, preload: [] }) as WorkerStartData;
const running = new Map<number, WorkerTaskContext>();
/**
 * Aborts that arrived before their task did (the two travel on different ports). A few are
 * kept, oldest dropped first: an abort for a task that runs elsewhere is simply never used.
 */
const earlyAborts = new Map<number, SerializedError>();
const EARLY_ABORTS_KEPT = 64;
const { port1: control, port2 } = new MessageChannel();
const handshake: PortHandshake = { type: HANDSHAKE, threadId, port: port2 };
parentPort.postMessage(handshake, [port2]);
control.on('message', (message: ControlMessage) => {
  const context = running.get(message.dispatch);
  if (context !== undefined) {
    context.abort(reviveError(message.reason));
    return;
  }
  earlyAborts.set(message.dispatch, message.reason);
  if (earlyAborts.size > EARLY_ABORTS_KEPT) earlyAborts.delete(earlyAborts.keys().next().value as number);
});
control.unref();

// Piscina waits for this module, top-level awaits included, before it sends the worker tasks.
// A preload that fails must not stop the worker from starting (Piscina would then hold the
// task forever): every task on this worker fails with the reason instead.
let preloadFailure: Error | undefined;
for (const module of startData.preload) {
  try {
    await import(module);
  } catch (error) {
    preloadFailure = new PreloadError(module, { cause: error });
    break;
  }
}

/**
 * Which task's code is running: set around each handler call, and carried by Node into the
 * callbacks and promises it starts, so that an uncaught exception can be traced to its task.
 */
const taskScope = new AsyncLocalStorage<WorkerTaskContext>();
const crashHandlers = new WeakMap<WorkerTaskContext, (error: unknown) => void>();

process.on('uncaughtException', (error) => {
  const context = taskScope.getStore();
  // A task's crash handler exists only while its handler runs.
  const crash = context === undefined ? undefined : crashHandlers.get(context);
  if (crash !== undefined) {
    // Thrown by a callback of the task that is running: that task fails, the worker lives on.
    crash(error);
  } else if (context !== undefined) {
    // Thrown by a timer or promise a finished task left behind: nobody is waiting for it.
    context.log.warn({ err: error }, 'the task threw an uncaught exception after it had ended');
  } else {
    // Not from any task: the worker cannot know what state it is in, so it ends, as Node would
    // have ended it, and the pool replaces it.
    process.exit(1);
  }
});

let managerChannel: Promise<EndpointLike> | undefined;
/** The worker's channel to the manager, opened (and comlink loaded) on first use. */
const managerEndpoint = lazyEndpoint(() => {
  managerChannel ??= import('./manager-channel.js').then(({ openManagerChannel }) => openManagerChannel(control));
  return managerChannel;
});

/** The manager's client for a run. */
function openManager(dispatch: number): ManagerClient {
  return createManagerClient(managerEndpoint, dispatch);
}

export default async function runTask(request: TaskRequest): Promise<TaskOutcome> {
  const context = new WorkerTaskContext(request, control, startData.logLevel, openManager);
  running.set(request.dispatch, context);
  const early = earlyAborts.get(request.dispatch);
  if (early !== undefined) {
    earlyAborts.delete(request.dispatch);
    context.abort(reviveError(early));
  }
  try {
    if (preloadFailure !== undefined) throw preloadFailure;
    const handler = loadedHandler(request.module, request.exportName) ?? (await loadHandler(request.module, request.exportName));
    context.throwIfAborted();
    const value = await new Promise((resolve, reject) => {
      crashHandlers.set(context, reject);
      taskScope.run(context, () => Promise.resolve(handler(context, request.args))).then(resolve, reject);
    });
    const uncloneable = findUncloneable(value);
    if (uncloneable !== undefined) throw new NotCloneableError(uncloneable.path, uncloneable.description);
    return { ok: true, value, progress: context.end() };
  } catch (error) {
    return { ok: false, error: serializeError(error), progress: context.end() };
  } finally {
    crashHandlers.delete(context);
    running.delete(request.dispatch);
  }
}
