/**
 * The manager's calls as a handler makes them, on behalf of its task (named by its run's
 * dispatch number): over a port from a worker (endpoint.ts), or directly, from a function
 * handler on the main thread (`DirectClient`). Arguments are unchecked here: the manager checks
 * them as it checks its own callers'.
 */
import type { ManagerClient } from '../shared/client.js';
import type { WorkerTask } from '../shared/handler.js';
import type { CreateTaskOptions, Task, TaskState, TaskStats } from '../shared/task.js';
import { received } from '../shared/validate.js';

/** `dispatch` is the dispatch number of the calling task's run, or undefined for a thread of the application's own. */
export interface ManagerCalls {
  createTask(dispatch: number | undefined, name: unknown, handler: unknown, options: unknown): string;
  getTask(id: unknown): Task | undefined;
  listTasks(state: unknown): Task[];
  cancelTask(id: unknown): boolean;
  setPriority(id: unknown, priority: unknown): boolean;
  updateProgress(id: unknown, progress: unknown): boolean;
  getStats(): TaskStats;
  waitFor(dispatch: number | undefined, id: unknown): Promise<Task>;
}

/**
 * `task.manager` for a function handler on the main thread: the manager's own calls, with no
 * port and no copy in between. It behaves as a worker's does: every method returns a promise,
 * errors reject it with their own class, the tasks it creates have the calling task as parent,
 * and a wait that could never end rejects with a DeadlockError.
 */
export class DirectClient implements ManagerClient {
  readonly #calls: ManagerCalls;
  readonly #dispatch: number;

  constructor(calls: ManagerCalls, dispatch: number) {
    this.#calls = calls;
    this.#dispatch = dispatch;
  }

  createTask<Args = unknown>(name: string, handler: WorkerTask, options?: CreateTaskOptions<Args>): Promise<string> {
    return settle(() => {
      if (typeof handler === 'function') {
        throw new TypeError(
          `Expected \`handler\` to be a workerTask(...) reference (functions cannot cross threads), ${received(handler)}`,
        );
      }
      return this.#calls.createTask(this.#dispatch, name, handler, options);
    });
  }

  getTask(id: string): Promise<Task | undefined> {
    return settle(() => this.#calls.getTask(id));
  }

  listTasks(state?: TaskState): Promise<Task[]> {
    return settle(() => this.#calls.listTasks(state));
  }

  cancelTask(id: string): Promise<boolean> {
    return settle(() => this.#calls.cancelTask(id));
  }

  setPriority(id: string, priority: number): Promise<boolean> {
    return settle(() => this.#calls.setPriority(id, priority));
  }

  updateProgress(id: string, progress: number): Promise<boolean> {
    return settle(() => this.#calls.updateProgress(id, progress));
  }

  getStats(): Promise<TaskStats> {
    return settle(() => this.#calls.getStats());
  }

  waitFor(id: string): Promise<Task> {
    return settle(() => this.#calls.waitFor(this.#dispatch, id));
  }
}

/** Calls `call` and returns its result as a promise: what it throws rejects the promise instead. */
function settle<T>(call: () => T | Promise<T>): Promise<T> {
  try {
    return Promise.resolve(call());
  } catch (error) {
    return Promise.reject(error);
  }
}
