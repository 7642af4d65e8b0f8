/**
 * The manager as other threads see it: `task.manager` inside a handler, or what
 * `connectManager(port)` returns in a thread of the application's own. Calls go over a
 * MessagePort with comlink and resolve with plain snapshots; bad input is rejected with the
 * same TypeError or RangeError as on the main thread, thrown in the calling thread.
 */
import type { WorkerTask } from './handler.js';
import type { CreateTaskOptions, Task, TaskState, TaskStats } from './task.js';
import { received } from './validate.js';
import { reviveError, type ManagerEndpointApi, type RemoteResult } from './messages.js';

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

/**
 * An endpoint that loads the real one on its first call: `task.manager` costs nothing until a
 * handler uses it.
 */
export function lazyEndpoint(load: () => Promise<EndpointLike>): EndpointLike {
  const forward =
    <K extends keyof ManagerEndpointApi>(method: K) =>
    async (...args: Parameters<ManagerEndpointApi[K]>): Promise<unknown> =>
      ((await load())[method] as (...given: Parameters<ManagerEndpointApi[K]>) => unknown)(...args);
  return {
    createTask: forward('createTask'),
    getTask: forward('getTask'),
    listTasks: forward('listTasks'),
    cancelTask: forward('cancelTask'),
    setPriority: forward('setPriority'),
    updateProgress: forward('updateProgress'),
    getStats: forward('getStats'),
    waitFor: forward('waitFor'),
  };
}

function unwrap<T>(result: unknown): T {
  const settled = result as RemoteResult<T>;
  if (settled.ok) return settled.value;
  throw reviveError(settled.error);
}
