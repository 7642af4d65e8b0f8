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
import type { Task, TaskStats } from '../shared/task.js';

/** What the endpoint needs from the manager. `caller` is a dispatch number, as in ManagerEndpointApi. */
export interface EndpointTarget {
  createTask(caller: number | undefined, name: unknown, handler: unknown, options: unknown): string;
  getTask(id: unknown): Task | undefined;
  listTasks(state: unknown): Task[];
  cancelTask(id: unknown): boolean;
  setPriority(id: unknown, priority: unknown): boolean;
  updateProgress(id: unknown, progress: unknown): boolean;
  getStats(): TaskStats;
  waitFor(caller: number | undefined, id: unknown): Promise<Task>;
}

export class ManagerEndpoint implements ManagerEndpointApi {
  readonly #target: EndpointTarget;
  readonly #ports = new Set<MessagePort>();

  constructor(target: EndpointTarget) {
    this.#target = target;
  }

  /** Serves this endpoint on `port`. `trustCaller` is false for application threads, which have no task. */
  serve(port: MessagePort, trustCaller: boolean): void {
    const api: ManagerEndpointApi = trustCaller ? this : withoutCaller(this);
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

  createTask(caller: number | undefined, name: unknown, handler: unknown, options: unknown): RemoteResult<string> {
    return attempt(() => this.#target.createTask(caller, name, handler, options));
  }

  getTask(id: unknown): RemoteResult<unknown> {
    return attempt(() => this.#target.getTask(id));
  }

  listTasks(state: unknown): RemoteResult<unknown[]> {
    return attempt(() => this.#target.listTasks(state));
  }

  cancelTask(id: unknown): RemoteResult<boolean> {
    return attempt(() => this.#target.cancelTask(id));
  }

  setPriority(id: unknown, priority: unknown): RemoteResult<boolean> {
    return attempt(() => this.#target.setPriority(id, priority));
  }

  updateProgress(id: unknown, progress: unknown): RemoteResult<boolean> {
    return attempt(() => this.#target.updateProgress(id, progress));
  }

  getStats(): RemoteResult<unknown> {
    return attempt(() => this.#target.getStats());
  }

  async waitFor(caller: number | undefined, id: unknown): Promise<RemoteResult<unknown>> {
    try {
      return { ok: true, value: await this.#target.waitFor(caller, id) };
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

/** An application thread has no task of its own: whatever caller it names is ignored. */
function withoutCaller(endpoint: ManagerEndpoint): ManagerEndpointApi {
  return {
    createTask: (_caller, name, handler, options) => endpoint.createTask(undefined, name, handler, options),
    getTask: (id) => endpoint.getTask(id),
    listTasks: (state) => endpoint.listTasks(state),
    cancelTask: (id) => endpoint.cancelTask(id),
    setPriority: (id, priority) => endpoint.setPriority(id, priority),
    updateProgress: (id, progress) => endpoint.updateProgress(id, progress),
    getStats: () => endpoint.getStats(),
    waitFor: (_caller, id) => endpoint.waitFor(undefined, id),
  };
}
