/**
 * The manager as other threads see it: `task.manager` inside a handler, or what
 * `connectManager(port)` returns in a thread of the application's own. Calls go over a
 * MessagePort with comlink and resolve with plain snapshots; bad input is rejected with the
 * same TypeError or RangeError as on the main thread, thrown in the calling thread.
 */
import type { MessagePort } from 'node:worker_threads';
import * as Comlink from 'comlink';
import { portEndpoint } from './port-endpoint.js';
import type { CreateTaskOptions } from '../main/manager.js';
import type { WorkerTask } from '../main/handler.js';
import type { Task, TaskState, TaskStats } from '../main/task.js';
import { received } from '../main/validate.js';
import type { ManagerEndpointApi, RemoteResult, SerializedError } from './messages.js';

/** The manager's methods, callable from any thread. Every one returns a promise. */
export interface ManagerClient {
  /**
   * Creates a task. The handler must be a `workerTask(...)` reference: functions cannot cross
   * threads. Inside a handler, the new task's `parentId` is the calling task's id.
   */
  createTask<Args = unknown>(name: string, handler: WorkerTask, options?: CreateTaskOptions<Args>): Promise<string>;
  getTask(id: string): Promise<Task | undefined>;
  listTasks(state?: TaskState): Promise<Task[]>;
  cancelTask(id: string): Promise<boolean>;
  setPriority(id: string, priority: number): Promise<boolean>;
  updateProgress(id: string, progress: number): Promise<boolean>;
  getStats(): Promise<TaskStats>;
  /**
   * Resolves once the task is final. Inside a handler it rejects with a DeadlockError when the
   * wait could never end (every slot held by a waiting task).
   */
  waitFor(id: string): Promise<Task>;
}

/** A client of the manager over a port of its own, which `close()` closes. */
export interface ConnectedManager extends ManagerClient {
  close(): void;
  [Symbol.dispose](): void;
}

/** Either the comlink proxy of an endpoint, or (on the main thread) the endpoint itself. */
export type EndpointLike = {
  [K in keyof ManagerEndpointApi]: (...args: Parameters<ManagerEndpointApi[K]>) => unknown;
};

/** A client whose calls name `caller` (a dispatch number) as the calling task. */
export function createManagerClient(endpoint: EndpointLike, caller: number | undefined): ManagerClient {
  return {
    createTask: async (name, handler, options) => {
      if (typeof handler === 'function') {
        throw new TypeError(
          `Expected \`handler\` to be a workerTask(...) reference (functions cannot cross threads), ${received(handler)}`,
        );
      }
      return unwrap<string>(await endpoint.createTask(caller, name, handler, options));
    },
    getTask: async (id) => unwrap<Task | undefined>(await endpoint.getTask(id)),
    listTasks: async (state) => unwrap<Task[]>(await endpoint.listTasks(state)),
    cancelTask: async (id) => unwrap<boolean>(await endpoint.cancelTask(id)),
    setPriority: async (id, priority) => unwrap<boolean>(await endpoint.setPriority(id, priority)),
    updateProgress: async (id, progress) => unwrap<boolean>(await endpoint.updateProgress(id, progress)),
    getStats: async () => unwrap<TaskStats>(await endpoint.getStats()),
    waitFor: async (id) => unwrap<Task>(await endpoint.waitFor(caller, id)),
  };
}

/** Wraps the manager's end of a port (from `createClientPort()`) for use in this thread. */
export function connectPort(port: MessagePort): ConnectedManager {
  if (port === null || typeof port !== 'object' || typeof (port as MessagePort).postMessage !== 'function') {
    throw new TypeError(`Expected \`port\` to be a MessagePort from manager.createClientPort(), ${received(port)}`);
  }
  const remote = Comlink.wrap<ManagerEndpointApi>(portEndpoint(port));
  const close = (): void => {
    remote[Comlink.releaseProxy]();
    port.close();
  };
  return { ...createManagerClient(remote as unknown as EndpointLike, undefined), close, [Symbol.dispose]: close };
}

function unwrap<T>(result: unknown): T {
  const settled = result as RemoteResult<T>;
  if (settled.ok) return settled.value;
  throw reviveError(settled.error);
}

const REVIVED: Record<string, new (message: string) => Error> = { TypeError, RangeError };

/** Re-creates an error thrown by the manager as the same class, with its name and code. */
function reviveError(data: SerializedError): Error {
  const Class = REVIVED[data.name] ?? Error;
  const error = new Class(data.message);
  if (error.name !== data.name) error.name = data.name;
  if (data.code !== undefined) Object.assign(error, { code: data.code });
  return error;
}
