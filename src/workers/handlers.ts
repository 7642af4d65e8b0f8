/** Loads handler functions from their modules, once per worker: one cache for the entry and for map chunks. */
import type { TaskContext } from '../shared/context.js';
import { HandlerNotFoundError, ModuleLoadError } from '../shared/errors.js';

export type Handler = (task: TaskContext, args: unknown) => unknown;

const handlers = new Map<string, Promise<Handler>>();
/** Handlers already loaded, by module and then export, for the hot path: no promise to await. */
const loaded = new Map<string, Map<string, Handler>>();

/** The function exported as `exportName` by `module` (a file: URL), once it has been loaded. */
export function loadedHandler(module: string, exportName: string): Handler | undefined {
  return loaded.get(module)?.get(exportName);
}

/** The function exported as `exportName` by `module` (a file: URL). */
export function loadHandler(module: string, exportName: string): Promise<Handler> {
  const key = `${exportName}@${module}`;
  let handler = handlers.get(key);
  if (handler === undefined) {
    handler = importHandler(module, exportName);
    handlers.set(key, handler);
    handler.then(
      (fn) => {
        let exports = loaded.get(module);
        if (exports === undefined) loaded.set(module, (exports = new Map<string, Handler>()));
        exports.set(exportName, fn);
      },
      // A module that failed to load may be fixed on disk: try again next time.
      () => handlers.delete(key),
    );
  }
  return handler;
}

async function importHandler(module: string, exportName: string): Promise<Handler> {
  let namespace: Record<string, unknown>;
  try {
    namespace = (await import(module)) as Record<string, unknown>;
  } catch (error) {
    throw new ModuleLoadError(module, { cause: error });
  }
  const exported = namespace[exportName];
  if (typeof exported !== 'function') throw new HandlerNotFoundError(module, exportName, exported);
  return exported as Handler;
}
