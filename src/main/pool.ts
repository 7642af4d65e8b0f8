/**
 * The adapter over Piscina. It starts the pool on first use, starts threads as work arrives (up
 * to the limit, then keeps them warm), collects each worker's control port from its handshake,
 * and turns what Piscina reports into what the runs need. The scheduler only calls `run` or
 * `runBatch` when a slot is free, so Piscina's own queue stays empty.
 */
import { receiveMessageOnPort, type MessagePort, type ResourceLimits } from 'node:worker_threads';
import { Piscina } from 'piscina';
import {
  HANDSHAKE,
  type ControlMessage,
  type LogLevelName,
  type PortHandshake,
  type BatchOutcome,
  type BatchReport,
  type BatchRequest,
  type SerializedError,
  type TaskReply,
  type TaskRequest,
  type WorkerMessage,
  type WorkerStartData,
} from '../shared/messages.js';
import type { Movable } from '../shared/transfer.js';

/** The worker entry is always the built file next to this one's folder, never a source file. */
const ENTRY = new URL('../workers/entry.js', import.meta.url);

export interface WorkerPoolOptions {
  readonly threads: number;
  readonly logLevel: number;
  readonly resourceLimits: ResourceLimits | undefined;
  readonly preload: readonly string[];
  /** Progress a handler set, for the run with this dispatch number. */
  readonly onProgress: (dispatch: number, value: number) => void;
  readonly onLog: (
    id: string,
    name: string,
    level: LogLevelName,
    msg: string | undefined,
    fields: Record<string, unknown> | undefined,
  ) => void;
  readonly onPoolError: (error: unknown) => void;
  /** A worker opened its channel to the manager. */
  readonly onManagerPort: (port: MessagePort) => void;
}

export class WorkerPool {
  readonly #options: WorkerPoolOptions;
  readonly #ports = new Map<number, MessagePort>();
  /** Aborts of runs that have not ended yet, for workers whose port arrives later. */
  readonly #aborts = new Map<number, ControlMessage>();
  /** Each worker's manager channel, once it has opened one. */
  readonly #managerPorts = new Map<number, MessagePort>();
  /** The batches running, by their dispatch number: where their reports go. */
  readonly #batches = new Map<number, BatchReceiver>();
  #piscina: Piscina | undefined;
  #destroyed: Promise<void> | undefined;

  constructor(options: WorkerPoolOptions) {
    this.#options = options;
  }

  /**
   * Runs a task on a worker, moving `transfer` there rather than copying it. Firing the listener
   * `kill` registers terminates that worker.
   */
  run(request: TaskRequest, kill: KillSignal, transfer?: readonly Movable[]): Promise<TaskReply> {
    const piscina = this.#piscina ?? this.#start();
    const options = transfer === undefined ? { signal: kill } : { signal: kill, transferList: transfer as Movable[] };
    return piscina.run(request, options) as Promise<TaskReply>;
  }

  /** Runs a batch on a worker: its reports go to `batch`, and firing the listener it registers terminates that worker. */
  runBatch(request: BatchRequest, batch: BatchReceiver & KillSignal): Promise<BatchOutcome> {
    const piscina = this.#piscina ?? this.#start();
    this.#batches.set(request.batch, batch);
    return piscina.run(request, { signal: batch }) as Promise<BatchOutcome>;
  }

  /** The batch has ended: later reports about it, if any, are dropped. */
  batchEnded(dispatch: number): void {
    this.#batches.delete(dispatch);
  }

  /**
   * Handles at once the messages waiting on one worker's control port (or on every one's): they
   * went before something that arrived on another port, and must be handled first.
   */
  drainReports(threadId?: number): void {
    if (threadId === undefined) {
      for (const [id, port] of this.#ports) this.#drain(id, port);
    } else {
      const port = this.#ports.get(threadId);
      if (port !== undefined) this.#drain(threadId, port);
    }
  }

  /**
   * Asks the worker running dispatch `dispatch` to abort its task's signal. Cheap: one message
   * per worker. A worker still starting up has no port yet: it gets the message when its port arrives.
   */
  abort(dispatch: number, reason: SerializedError): void {
    const message: ControlMessage = { type: 'abort', dispatch, reason };
    this.#aborts.set(dispatch, message);
    for (const port of this.#ports.values()) port.postMessage(message);
  }

  /** The run has ended: its abort, if any, need not reach workers that start later. */
  settled(dispatch: number): void {
    if (this.#aborts.size !== 0) this.#aborts.delete(dispatch);
  }

  /** Terminates every worker. Safe to call more than once. */
  destroy(): Promise<void> {
    this.#destroyed ??= this.#destroy();
    return this.#destroyed;
  }

  async #destroy(): Promise<void> {
    const piscina = this.#piscina;
    if (piscina !== undefined) await piscina.destroy();
    for (const port of [...this.#ports.values(), ...this.#managerPorts.values()]) port.close();
    this.#ports.clear();
    this.#managerPorts.clear();
  }

  #start(): Piscina {
    const { threads, logLevel, resourceLimits, preload } = this.#options;
    const workerData: WorkerStartData = { logLevel, preload };
    const piscina = new Piscina({
      filename: ENTRY.href,
      // Threads start as work arrives, up to the limit, and then stay: a pool that may run 200
      // tasks at once but is given one starts one thread, not 200.
      minThreads: 0,
      maxThreads: threads,
      concurrentTasksPerWorker: 1,
      idleTimeout: Infinity,
      // The manager keeps its own timings (stats.ts): Piscina's histograms would cost two records a task, read by no one.
      recordTiming: false,
      workerData,
      ...(resourceLimits === undefined ? {} : { resourceLimits }),
    });
    piscina.on('message', (message: unknown) => {
      if (isHandshake(message)) this.#adopt(message);
    });
    // A worker Piscina terminates (its id is still known then); one that exits is seen in #adopt.
    piscina.on('workerDestroy', (worker: { id: number }) => this.#forget(worker.id));
    // Piscina reports aborted runs and crashed workers here too; the scheduler has already
    // seen them through the run's promise, so this only logs.
    piscina.on('error', (error: unknown) => this.#options.onPoolError(error));
    this.#piscina = piscina;
    return piscina;
  }

  #adopt({ threadId, port }: PortHandshake): void {
    port.on('message', (message: WorkerMessage) => this.#handle(threadId, message));
    port.unref();
    this.#ports.set(threadId, port);
    for (const message of this.#aborts.values()) port.postMessage(message);
    // Heard before Piscina fails the worker's run: Piscina's own listener only queues that.
    this.#piscina?.threads.find((thread) => thread.threadId === threadId)?.once('exit', () => this.#forget(threadId));
  }

  /**
   * The worker is gone: what it sent before it went is handled first (a worker that exits mid-batch
   * reports what it had done as it goes), then its ports are closed.
   */
  #forget(threadId: number): void {
    const port = this.#ports.get(threadId);
    if (port !== undefined) this.#drain(threadId, port);
    for (const ports of [this.#ports, this.#managerPorts]) {
      ports.get(threadId)?.close();
      ports.delete(threadId);
    }
  }

  #handle(threadId: number, message: WorkerMessage): void {
    const { onProgress, onLog, onManagerPort } = this.#options;
    if (message.type === 'batch') {
      this.#batches.get(message.batch)?.report(message);
    } else if (message.type === 'progress') {
      onProgress(message.dispatch, message.value);
    } else if (message.type === 'log') {
      onLog(message.id, message.name, message.level, message.msg, message.fields);
    } else {
      this.#managerPorts.set(threadId, message.port);
      onManagerPort(message.port);
    }
  }

  #drain(threadId: number, port: MessagePort): void {
    for (let entry = receiveMessageOnPort(port); entry !== undefined; entry = receiveMessageOnPort(port)) {
      this.#handle(threadId, entry.message as WorkerMessage);
    }
  }
}

/** Where a batch's reports go. */
export interface BatchReceiver {
  report(report: BatchReport): void;
}

/**
 * What Piscina takes as a run's signal, in its cheapest form: it registers one listener with
 * `once` and removes it with `off` or `removeListener`. Calling that listener makes Piscina
 * terminate the run's worker and reject the run.
 */
export interface KillSignal {
  once(event: 'abort', listener: () => void): void;
  off(event: 'abort', listener: () => void): void;
  removeListener(event: 'abort', listener: () => void): void;
}

function isHandshake(message: unknown): message is PortHandshake {
  return typeof message === 'object' && message !== null && 'type' in message && message.type === HANDSHAKE;
}
