/**
 * Handlers: what a task runs. A plain function runs on the main thread; a `workerTask`
 * reference names an exported function of a module, which runs on a worker thread.
 */
import { existsSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { TaskContext } from './context.js';
import { checkNonEmptyString, received } from './validate.js';

/** A function handler: runs on the main thread. Keep it to light I/O glue. */
export type TaskHandler<Args = unknown, Result = unknown> = (task: TaskContext, args: Args) => Result | Promise<Result>;

const WORKER_TASK = 'taskloom.workerTask';

/**
 * A reference to a handler that runs on a worker thread. It is plain data (it survives
 * structured cloning), so a worker can build one and hand it to the manager.
 */
export interface WorkerTask {
  readonly kind: typeof WORKER_TASK;
  /** The module, as a file: URL. */
  readonly module: string;
  /** The name of the exported handler function. */
  readonly exportName: string;
}

/** Anything `createTask` accepts as a handler. */
export type Handler<Args = unknown, Result = unknown> = TaskHandler<Args, Result> | WorkerTask;

/**
 * Names a worker handler: the export `exportName` of the module at `module`.
 *
 * @param module A file: URL (a `URL` or a string) or an absolute path to an ES module or a
 *   CommonJS module. Relative paths are refused: resolve them with
 *   `new URL('./tasks.js', import.meta.url)`.
 * @param exportName The name of the exported function.
 * @default exportName 'default'
 * @example
 * const hash = workerTask(new URL('./tasks.js', import.meta.url), 'hash');
 * manager.createTask('Hash a file', hash, { args: { path } });
 */
export function workerTask(module: URL | string, exportName = 'default'): WorkerTask {
  checkNonEmptyString('exportName', exportName);
  return Object.freeze({ kind: WORKER_TASK, module: toModuleUrl('module', module), exportName });
}

export function isWorkerTask(value: unknown): value is WorkerTask {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as WorkerTask).kind === WORKER_TASK &&
    typeof (value as WorkerTask).module === 'string' &&
    typeof (value as WorkerTask).exportName === 'string'
  );
}

/** Turns a file: URL or an absolute path into a file: URL string; `name` names the argument in errors. */
export function toModuleUrl(name: string, module: unknown): string {
  if (module instanceof URL) {
    if (module.protocol !== 'file:') {
      throw new TypeError(`Expected \`${name}\` to be a file: URL or an absolute path, got a ${module.protocol} URL: ${module.href}`);
    }
    return module.href;
  }
  if (typeof module !== 'string' || module.length === 0) {
    throw new TypeError(`Expected \`${name}\` to be a file: URL or an absolute path, ${received(module)}`);
  }
  if (module.startsWith('file:')) return new URL(module).href;
  if (isAbsolute(module)) return pathToFileURL(module).href;
  throw new TypeError(
    `Expected \`${name}\` to be a file: URL or an absolute path, ${received(module)}; resolve relative paths with new URL(path, import.meta.url)`,
  );
}

/**
 * Checks handler arguments for createTask. Worker modules are checked on disk once each:
 * the answer is remembered, so a burst of tasks on one module costs one stat.
 */
export class HandlerChecker {
  readonly #knownModules = new Set<string>();

  check(handler: unknown): asserts handler is Handler {
    if (typeof handler === 'function') return;
    if (!isWorkerTask(handler)) {
      throw new TypeError(`Expected \`handler\` to be a function or a workerTask(...) reference, ${received(handler)}`);
    }
    if (this.#knownModules.has(handler.module)) return;
    if (!existsSync(fileURLToPath(handler.module))) {
      throw new TypeError(`Expected \`handler\` to name an existing module, but ${fileURLToPath(handler.module)} does not exist`);
    }
    this.#knownModules.add(handler.module);
  }
}
