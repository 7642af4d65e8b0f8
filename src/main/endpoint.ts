/**
 * The manager's side of client ports: what other threads reach through comlink. Every call
 * goes through the same checks as on the main thread, and every state change still happens on
 * the main thread's event loop, so no lock is needed. Errors travel back as data, so that the
 * calling thread can throw the same class (a TypeError stays a TypeError).
 */
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import * as Comlink from 'comlink';
import { portEndpoint } from '../shared/port-endpoint.js';
import { serializeError, type ManagerEndpointApi, type RemoteResult } from '../shared/messages.js';
import type { ManagerCalls } from './manager-calls.js';

export class ManagerEndpoint implements ManagerEndpointApi {
  readonly #calls: ManagerCalls;
  readonly #ports = new Set<MessagePort>();

  constructor(calls: ManagerCalls) {
    this.#calls = calls;
  }

  /** Serves this endpoint on `port`. `isWorker` is false for application threads, which have no task. */
  serve(port: MessagePort, isWorker: boolean): void {
    const api: ManagerEndpointApi = isWorker ? this : withoutDispatch(this);
    Comlink.expose(api, portEndpoint(port));
    port.unref();
    port.once('close', () => this.#ports.delete(port));
    this.#ports.add(port);
  }

  /** A new port for a thread of the application's own; the other end goes to `connectManager`. */
  createClientPort(): MessagePort {
    const { port1, port2 } = new MessageChannel();
    this.serve(port1, false);
    return port2;
  }

  close(): void {
    for (const port of this.#ports) port.close();
    this.#ports.clear();
  }

  createTask(dispatch: number | undefined, name: unknown, handler: unknown, options: unknown): RemoteResult<string> {
    return attempt(() => this.#calls.createTask(dispatch, name, handler, options));
  }

  getTask(id: unknown): RemoteResult<unknown> {
    return attempt(() => this.#calls.getTask(id));
  }

  listTasks(state: unknown): RemoteResult<unknown[]> {
    return attempt(() => this.#calls.listTasks(state));
  }

  cancelTask(id: unknown): RemoteResult<boolean> {
    return attempt(() => this.#calls.cancelTask(id));
  }

  setPriority(id: unknown, priority: unknown): RemoteResult<boolean> {
    return attempt(() => this.#calls.setPriority(id, priority));
  }

  updateProgress(id: unknown, progress: unknown): RemoteResult<boolean> {
    return attempt(() => this.#calls.updateProgress(id, progress));
  }

  getStats(): RemoteResult<unknown> {
    return attempt(() => this.#calls.getStats());
  }

  async waitFor(dispatch: number | undefined, id: unknown): Promise<RemoteResult<unknown>> {
    try {
      return { ok: true, value: await this.#calls.waitFor(dispatch, id) };
    } catch (error) {
      return { ok: false, error: serializeError(error) };
    }
  }
}

function attempt<T>(call: () => T): RemoteResult<T> {
  try {
    return { ok: true, value: call() };
  } catch (error) {
    return { ok: false, error: serializeError(error) };
  }
}

/** An application thread has no task of its own: whatever dispatch number it names is ignored. */
function withoutDispatch(endpoint: ManagerEndpoint): ManagerEndpointApi {
  return {
    createTask: (_dispatch, name, handler, options) => endpoint.createTask(undefined, name, handler, options),
    getTask: (id) => endpoint.getTask(id),
    listTasks: (state) => endpoint.listTasks(state),
    cancelTask: (id) => endpoint.cancelTask(id),
    setPriority: (id, priority) => endpoint.setPriority(id, priority),
    updateProgress: (id, progress) => endpoint.updateProgress(id, progress),
    getStats: () => endpoint.getStats(),
    waitFor: (_dispatch, id) => endpoint.waitFor(undefined, id),
  };
}
