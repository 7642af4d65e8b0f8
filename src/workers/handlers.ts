/** Loads handler functions from their modules, once per worker: one cache for the entry and for map chunks. */
import type { TaskContext } from '../shared/context.js';

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
        if (exports === undefined) loaded.set(module, (exports = new Map()));
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
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`Could not load worker module ${module}: ${reason}`, { cause: error });
  }
  const exported = namespace[exportName];
  if (typeof exported !== 'function') {
    const found = exported === undefined ? 'no such export' : `a ${typeof exported}`;
    throw new TypeError(`Worker module ${module} has no function export named \`${exportName}\` (found ${found})`);
  }
  return exported as Handler;
}
