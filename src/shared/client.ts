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

/** A client whose calls name `dispatch` (the dispatch number of its run) as the calling task. */
export function createManagerClient(endpoint: EndpointLike, dispatch: number | undefined): ManagerClient {
  return {
    createTask: async (name, handler, options) => {
      if (typeof handler === 'function') {
        throw new TypeError(
          `Expected \`handler\` to be a workerTask(...) reference (functions cannot cross threads), ${received(handler)}`,
        );
      }
      return unwrap(await endpoint.createTask(dispatch, name, handler, options)) as string;
    },
    getTask: async (id) => unwrap(await endpoint.getTask(id)) as Task | undefined,
    listTasks: async (state) => unwrap(await endpoint.listTasks(state)) as Task[],
    cancelTask: async (id) => unwrap(await endpoint.cancelTask(id)) as boolean,
    setPriority: async (id, priority) => unwrap(await endpoint.setPriority(id, priority)) as boolean,
    updateProgress: async (id, progress) => unwrap(await endpoint.updateProgress(id, progress)) as boolean,
    getStats: async () => unwrap(await endpoint.getStats()) as TaskStats,
    waitFor: async (id) => unwrap(await endpoint.waitFor(dispatch, id)) as Task,
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

/** The value of a call over the port (its type is the caller's to name), or its error, revived and thrown. */
function unwrap(result: unknown): unknown {
  const settled = result as RemoteResult<unknown>;
  if (settled.ok) return settled.value;
  throw reviveError(settled.error);
}
