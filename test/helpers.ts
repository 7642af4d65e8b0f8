/** Shared helpers for the tests: fixtures by name, managers that are always stopped, event logs. */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach } from 'vitest';
import { TaskManager, workerTask, type Task, type TaskContext, type TaskManagerOptions, type WorkerTask } from 'taskloom';

const TASKS = new URL('./fixtures/tasks.ts', import.meta.url);

/** Lets worker threads import the TypeScript fixtures: pass it as the `workerPreload` option. */
export const REGISTER_TSX = new URL('./fixtures/register-tsx.mjs', import.meta.url);

/** A worker handler exported by test/fixtures/tasks.ts. */
export function fixture(exportName: string): WorkerTask {
  return workerTask(TASKS, exportName);
}

const managers: TaskManager[] = [];

afterEach(async () => {
  await Promise.all(managers.splice(0).map((manager) => manager.stop()));
});

/** A manager that is stopped after the current test. Silent unless a logger is given. */
export function createManager(options: TaskManagerOptions = {}): TaskManager {
  const manager = new TaskManager({ logger: false, workerPreload: [REGISTER_TSX], ...options });
  managers.push(manager);
  return manager;
}

export type EventName = 'created' | 'started' | 'progress' | 'retrying' | 'completed' | 'failed' | 'cancelled';

export interface RecordedEvent {
  readonly event: EventName;
  readonly task: Task;
}

/** Records every event the manager emits, in order. */
export function recordEvents(manager: TaskManager): RecordedEvent[] {
  const events: RecordedEvent[] = [];
  for (const event of ['created', 'started', 'progress', 'retrying', 'completed', 'failed', 'cancelled'] as const) {
    manager.on(event, (task) => {
      events.push({ event, task });
    });
  }
  return events;
}

/** Resolves with the task's snapshot the next time `manager` emits `event` for it. */
export function nextEvent(manager: TaskManager, event: EventName, id?: string): Promise<Task> {
  return new Promise((resolve) => {
    const listener = (task: Task): void => {
      if (id !== undefined && task.id !== id) return;
      manager.off(event, listener);
      resolve(task);
    };
    manager.on(event, listener);
  });
}

/**
 * A main-thread handler that waits `ms` on the task's own clock and rejects with the abort
 * reason when the task is cancelled or times out: the work of a task, not a sleep of the test.
 */
export function work(ms: number): (task: TaskContext) => Promise<void> {
  return (task) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(resolve, ms);
      task.signal.addEventListener('abort', () => {
        clearTimeout(timer);
        reject(task.signal.reason);
      });
    });
}

/** A full collection, once the current job has let go of what its WeakRefs saw. */
export async function collectGarbage(): Promise<void> {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  await new Promise((resolve) => setTimeout(resolve, 0));
  gc();
}
