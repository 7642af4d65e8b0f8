/** The import rules of the layout (eslint.config.js) fire on code that breaks them, and only there. */
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RULE = '@typescript-eslint/no-restricted-imports';

let eslint: ESLint;

beforeAll(() => {
  // The boundary rule needs no type information; without it, a file that is not on disk lints fast.
  eslint = new ESLint({ cwd: ROOT, overrideConfig: tseslint.configs.disableTypeChecked });
});

/** The boundary messages ESLint reports for `code` as if it were the file at `path`. */
async function boundaryErrors(path: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: `${ROOT}${path}` });
  return (result?.messages ?? []).filter((message) => message.ruleId === RULE).map((message) => message.message);
}

describe('the import boundaries', () => {
  it.each([
    ['src/shared/probe.ts', "import { TaskManager } from '../main/manager.js';"],
    ['src/shared/probe.ts', "export { connectPort } from '../workers/manager-channel.js';"],
    ['src/shared/probe.ts', "import { actions } from '../actions/handlers.js';"],
    ['src/shared/probe.ts', "import '../cli/main.js';"],
    ['src/shared/probe.ts', "export * from '../index.js';"],
    ['src/shared/probe.ts', "import { pino } from 'pino';"],
    ['src/shared/probe.ts', "import { wrap } from 'comlink';"],
    ['src/shared/nested/probe.ts', "import { TaskManager } from '../../main/manager.js';"],
    ['src/main/probe.ts', "import { connectPort } from '../workers/manager-channel.js';"],
    ['src/main/probe.ts', "import { run } from '../cli/run.js';"],
    ['src/workers/probe.ts', "import { TaskManager } from '../main/manager.js';"],
    ['src/workers/probe.ts', "import type { TaskManagerOptions } from '../main/options.js';"],
    ['src/actions/probe.ts', "import { Scheduler } from '../main/scheduler.js';"],
    ['src/actions/probe.ts', "import { pino } from 'pino';"],
    ['src/worker.ts', "export { TaskManager } from './main/manager.js';"],
    ['src/worker.ts', "export { connectPort } from './workers/manager-channel.js';"],
    ['src/worker.ts', "export { Piscina } from 'piscina';"],
  ])('reports %s: %s', async (path, code) => {
    expect(await boundaryErrors(path, code)).toHaveLength(1);
  });

  it.each([
    ['src/shared/probe.ts', "import { received } from './validate.js';\nimport { isAbsolute } from 'node:path';"],
    // A type-only import is erased from the build, so it loads nothing in a worker.
    ['src/shared/probe.ts', "import type { Endpoint } from 'comlink';"],
    ['src/main/probe.ts', "import { Piscina } from 'piscina';\nimport { received } from '../shared/validate.js';"],
    // The worker entry is named by URL, which is not an import.
    ['src/main/probe.ts', "export const ENTRY = new URL('../workers/entry.js', import.meta.url);"],
    ['src/workers/probe.ts', "import * as Comlink from 'comlink';\nimport { received } from '../shared/validate.js';"],
    ['src/actions/probe.ts', "import { Agent } from 'undici';\nimport { errorMessage } from '../shared/errors.js';"],
    ['src/cli/probe.ts', "import { TaskManager } from '../main/manager.js';\nimport { actions } from '../actions/handlers.js';"],
    ['src/worker.ts', "export { workerTask } from './shared/handler.js';"],
  ])('allows %s: %s', async (path, code) => {
    expect(await boundaryErrors(path, code)).toEqual([]);
  });
});
