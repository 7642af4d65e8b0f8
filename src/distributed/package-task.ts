/** Handlers named by a package specifier, which each host resolves for itself. */
import type { WorkerTask } from '../shared/handler.js';
import { checkNonEmptyString, received } from '../shared/validate.js';

/**
 * Names a worker handler by a package specifier (`'@acme/tasks/resize'`) rather than a path, for
 * a distributed queue whose hosts install the package in different places: each host that runs
 * the task resolves the specifier from taskloom's own location, as an `import` there would.
 * A host that cannot resolve or load it fails the task with a ModuleUnavailableError naming it.
 *
 * @default exportName 'default'
 * @example
 * await manager.createTask('Resize', packageTask('@acme/tasks/resize', 'resize'), { args: { path } });
 */
export function packageTask<Args = unknown, Result = unknown>(specifier: string, exportName = 'default'): WorkerTask<Args, Result> {
  checkNonEmptyString('specifier', specifier);
  checkNonEmptyString('exportName', exportName);
  if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('file:')) {
    throw new TypeError(
      `Expected \`specifier\` to be a package specifier such as '@acme/tasks', ${received(specifier)}; name files with workerTask()`,
    );
  }
  const kind: WorkerTask['kind'] = 'taskloom.workerTask';
  return Object.freeze({ kind, module: specifier, exportName });
}
