/** The context of a task whose handler is a plain function, run on the main thread. */
import type { Logger } from 'pino';
import type { TaskContext, TaskLogger } from '../shared/context.js';
import type { ManagerClient } from '../shared/client.js';
import { checkProgress } from '../shared/validate.js';
import type { RunState, TaskRecord } from './task-record.js';

/** What a main-thread context reaches back into the scheduler for. */
export interface MainContextLinks {
  readonly report: (progress: number) => void;
  readonly manager: () => ManagerClient;
}

export class MainTaskContext implements TaskContext {
  readonly #record: TaskRecord;
  readonly #run: RunState;
  readonly #logger: Logger;
  readonly #links: MainContextLinks;
  #log: TaskLogger | undefined;
  #manager: ManagerClient | undefined;

  constructor(record: TaskRecord, run: RunState, logger: Logger, links: MainContextLinks) {
    this.#record = record;
    this.#run = run;
    this.#logger = logger;
    this.#links = links;
  }

  get manager(): ManagerClient {
    this.#manager ??= this.#links.manager();
    return this.#manager;
  }

  get id(): string {
    return this.#record.id;
  }

  get name(): string {
    return this.#record.name;
  }

  get signal(): AbortSignal {
    const run = this.#run;
    // Made on first use: most handlers never look, and a signal per task is not free.
    if (run.controller === undefined) {
      run.controller = new AbortController();
      if (run.stopReason !== undefined) run.controller.abort(run.stopReason);
    }
    return run.controller.signal;
  }

  get progress(): number {
    return this.#record.progress;
  }

  set progress(value: number) {
    checkProgress('task.progress', value);
    // Once the task has ended (or was cancelled), its progress is frozen.
    if (this.#record.run !== this.#run || this.#record.state !== 'running') return;
    this.#links.report(value);
  }

  get log(): TaskLogger {
    this.#log ??= this.#logger.child({ taskId: this.#record.id, taskName: this.#record.name }) as unknown as TaskLogger;
    return this.#log;
  }
}

/**
 * Runs a function handler on the main thread and reports how it ended. A handler that throws
 * synchronously is reported like one that rejects.
 */
export function runOnMainThread(
  handler: (task: TaskContext, args: unknown) => unknown,
  context: MainTaskContext,
  args: unknown,
  onValue: (value: unknown) => void,
  onError: (error: unknown) => void,
): void {
  let returned: unknown;
  try {
    returned = handler(context, args);
  } catch (error) {
    returned = Promise.reject(error);
  }
  Promise.resolve(returned).then(onValue, onError);
}
