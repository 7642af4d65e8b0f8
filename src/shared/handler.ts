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

/** A key that exists only for the compiler: it carries a reference's argument and result types. */
declare const handlerTypes: unique symbol;

/**
 * A reference to a handler that runs on a worker thread. It is plain data (it survives
 * structured cloning), so a worker can build one and hand it to the manager. `Args` and
 * `Result` are the handler's argument and result types, known to the compiler when the
 * reference is made with the module's type: see `workerTask`.
 */
export interface WorkerTask<Args = unknown, Result = unknown> {
  readonly kind: typeof WORKER_TASK;
  /** The module, as a file: URL. */
  readonly module: string;
  /** The name of the exported handler function. */
  readonly exportName: string;
  /**
   * Never set: it only carries `Args` and `Result` for the compiler. Both are method
   * parameters, so that a reference made without its module's type (whose types are unknown)
   * can still be used where a typed one is expected, as in `map<number, number>(ref, items)`.
   */
  readonly [handlerTypes]?: { args(args: Args): void; result(result: Result): void };
}

/** Anything `createTask` accepts as a handler. */
export type Handler<Args = unknown, Result = unknown> = TaskHandler<Args, Result> | WorkerTask<Args, Result>;

/** The names of a module's exports that are handler functions. */
export type HandlerExports<Module> = {
  [Name in keyof Module & string]: Module[Name] extends (task: TaskContext, args: never) => unknown ? Name : never;
}[keyof Module & string];

/** The argument type of a handler function: `undefined` for one that takes none. */
export type HandlerArgs<Fn> = Fn extends (task: TaskContext) => unknown
  ? undefined
  : Fn extends (task: TaskContext, args: infer Args) => unknown
    ? Args
    : unknown;

/** The result type of a handler function, once awaited. */
export type HandlerResult<Fn> = Fn extends (...args: never[]) => infer Result ? Awaited<Result> : unknown;

/**
 * Names a worker handler: the export `exportName` of the module at `module`.
 *
 * Give the module's type, and the compiler knows the handler's argument and result types:
 * `createTask` then checks `args`, and `waitFor`, `getTask` and `map` return the result type.
 *
 * @param module A file: URL (a `URL` or a string) or an absolute path to an ES module or a
 *   CommonJS module. Relative paths are refused: resolve them with
 *   `new URL('./tasks.js', import.meta.url)`.
 * @param exportName The name of the exported function.
 * @default exportName 'default'
 * @example
 * const hash = workerTask<typeof import('./tasks.js'), 'hash'>(new URL('./tasks.js', import.meta.url), 'hash');
 * const id = manager.createTask('Hash a file', hash, { args: { path } }); // args checked against hash's
 * const task = await manager.waitFor(id); // task.result has hash's result type
 */
export function workerTask<Module, Name extends HandlerExports<Module> = HandlerExports<Module> & 'default'>(
  module: URL | string,
  exportName?: Name,
): WorkerTask<HandlerArgs<Module[Name]>, HandlerResult<Module[Name]>>;
export function workerTask(module: URL | string, exportName?: string): WorkerTask;
export function workerTask(module: URL | string, exportName = 'default'): WorkerTask {
  checkNonEmptyString('exportName', exportName);
  return Object.freeze({ kind: WORKER_TASK, module: toModuleUrl('module', module), exportName });
}

export function isWorkerTask(value: unknown): value is WorkerTask {
  return (
    typeof value === 'object' &&
    value !== null &&
    'kind' in value &&
    value.kind === WORKER_TASK &&
    'module' in value &&
    typeof value.module === 'string' &&
    'exportName' in value &&
    typeof value.exportName === 'string'
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
