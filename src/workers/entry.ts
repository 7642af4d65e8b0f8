/**
 * The module Piscina loads in every worker thread. It opens the worker's control channel, runs
 * the `workerPreload` modules, and runs what Piscina hands it: one task, or a batch of tasks
 * (batch-run.ts). Whatever happens becomes an outcome: the function it exports never throws.
 */
import { workerData } from 'node:worker_threads';
import { createManagerClient, lazyEndpoint, type EndpointLike, type ManagerClient } from '../shared/client.js';
import { PreloadError } from '../shared/errors.js';
import {
  type BatchRequest,
  type RunOutcome,
  type TaskReply,
  type TaskRequest,
  type WorkerMessage,
  type WorkerStartData,
} from '../shared/messages.js';
import { attempt, failed } from './attempt.js';
import { runBatch } from './batch-run.js';
import { WorkerTaskContext, type ContextHost, type WorkerSetup } from './context.js';
import { control, register, unregister } from './control.js';
import { loadedHandler, loadHandler } from './handlers.js';
import { withTransfer } from './movable.js';
import { catchUncaught } from './task-scope.js';

const startData = (workerData ?? { logLevel: 40, preload: [] }) as WorkerStartData;
catchUncaught(control, startData.logLevel);

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

let managerChannel: Promise<EndpointLike> | undefined;
/** The worker's channel to the manager, opened (and comlink loaded) on first use. */
const managerEndpoint = lazyEndpoint(() => {
  managerChannel ??= import('./manager-channel.js').then(({ openManagerChannel }) => openManagerChannel(control));
  return managerChannel;
});

const setup: WorkerSetup = {
  logLevel: startData.logLevel,
  preloadFailure,
  openManager: (dispatch: number): ManagerClient => createManagerClient(managerEndpoint, dispatch),
};

/** The host of a lone task's context: its progress goes straight to the main thread. */
const loneTask: ContextHost = {
  port: control,
  logLevel: startData.logLevel,
  progress(context, value) {
    const message: WorkerMessage = { type: 'progress', dispatch: context.dispatch, value };
    control.postMessage(message);
  },
  manager: (context) => setup.openManager(context.dispatch),
};

/** Runs what Piscina hands the worker: a batch of tasks, or one task. */
export default function run(request: TaskRequest | BatchRequest): unknown {
  return 'items' in request ? runBatch(request, setup) : runTask(request);
}

/** Runs one task. A handler that returns at once is settled at once: no promise, no tick. */
function runTask(request: TaskRequest): unknown {
  const context = new WorkerTaskContext(request[0], request[1], request[2], loneTask);
  register(context);
  if (preloadFailure !== undefined) return finish(context, failed(context, preloadFailure, performance.now()));
  const module = request[3];
  const exportName = request[4];
  const handler = loadedHandler(module, exportName);
  const outcome =
    handler === undefined
      ? loadHandler(module, exportName).then(
          (loaded) => attempt(context, loaded, request[5]),
          (error: unknown) => failed(context, error, performance.now()),
        )
      : attempt(context, handler, request[5]);
  return outcome instanceof Promise ? outcome.then((settled) => finish(context, settled)) : finish(context, outcome);
}

/** The reply Piscina sends back for the task, with what its result moves rather than copies. */
function finish(context: WorkerTaskContext, outcome: RunOutcome): unknown {
  unregister(context);
  const reply: TaskReply = outcome.ok
    ? [true, outcome.value, outcome.progress, outcome.ms]
    : [false, outcome.error, outcome.progress, outcome.ms];
  return context.transfer === undefined ? reply : withTransfer(reply, context.transfer);
}
