/**
 * The adapter over Piscina. It starts the pool on first use, starts threads as work arrives (up
 * to the limit, then keeps them warm), collects each worker's control port from its handshake,
 * and turns what Piscina reports into what the runs need. The scheduler only calls `run` when a
 * slot is free, so Piscina's own queue stays empty.
 */
import type { MessagePort, ResourceLimits } from 'node:worker_threads';
import { Piscina } from 'piscina';
import {
  HANDSHAKE,
  type ControlMessage,
  type LogLevelName,
  type PortHandshake,
  type SerializedError,
  type TaskOutcome,
  type TaskRequest,
  type WorkerMessage,
  type WorkerStartData,
} from '../shared/messages.js';

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
  #piscina: Piscina | undefined;
  #destroyed: Promise<void> | undefined;

  constructor(options: WorkerPoolOptions) {
    this.#options = options;
  }

  /** Runs a task on a worker. Firing the listener `kill` registers terminates that worker. */
  run(request: TaskRequest, kill: KillSignal): Promise<TaskOutcome> {
    return (this.#piscina ?? this.#start()).run(request, { signal: kill }) as Promise<TaskOutcome>;
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
      workerData,
      ...(resourceLimits === undefined ? {} : { resourceLimits }),
    });
    piscina.on('message', (message: unknown) => {
      if (isHandshake(message)) this.#adopt(message);
    });
    piscina.on('workerDestroy', (worker: { id: number }) => {
      for (const ports of [this.#ports, this.#managerPorts]) {
        ports.get(worker.id)?.close();
        ports.delete(worker.id);
      }
    });
    // Piscina reports aborted runs and crashed workers here too; the scheduler has already
    // seen them through the run's promise, so this only logs.
    piscina.on('error', (error: unknown) => this.#options.onPoolError(error));
    this.#piscina = piscina;
    return piscina;
  }

  #adopt({ threadId, port }: PortHandshake): void {
    const { onProgress, onLog, onManagerPort } = this.#options;
    port.on('message', (message: WorkerMessage) => {
      if (message.type === 'progress') {
        onProgress(message.dispatch, message.value);
      } else if (message.type === 'log') {
        onLog(message.id, message.name, message.level, message.msg, message.fields);
      } else {
        this.#managerPorts.set(threadId, message.port);
        onManagerPort(message.port);
      }
    });
    port.unref();
    this.#ports.set(threadId, port);
    for (const message of this.#aborts.values()) port.postMessage(message);
  }
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
