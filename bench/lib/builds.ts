/**
 * The builds of taskloom a run measures: the current one (the package's own dist, imported as
 * `taskloom`), and optionally a baseline, another checkout's dist, to measure a change side by
 * side with the code before it, in one process and one run.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { TaskManager, workerTask, type TaskManagerOptions } from 'taskloom';
import { describeCommit } from './machine.js';

/** What the benchmark uses of a build of taskloom. */
export interface TaskloomBuild {
  /** The subject's name in the figures. */
  readonly name: string;
  readonly TaskManager: typeof TaskManager;
  readonly workerTask: typeof workerTask;
  /** Options of its managers, over the scenario's own. */
  readonly options?: TaskManagerOptions;
}

/** A baseline build, and what the report records of it. */
export interface Baseline {
  readonly build: TaskloomBuild;
  /** The commit its checkout is at, "-dirty" when its tree had changes. */
  readonly commit: string;
  readonly version: string;
}

export const CURRENT: TaskloomBuild = { name: 'taskloom', TaskManager, workerTask };

/** The current build with batch dispatch off: one task per run, as before batching. */
export const UNBATCHED: TaskloomBuild = { name: 'taskloom, batchBudgetMs 0', TaskManager, workerTask, options: { batchBudgetMs: 0 } };

export const BASELINE_NAME = 'taskloom (baseline)';

/**
 * Loads the build in `root`, the root of another taskloom checkout that has been built: its
 * `dist/index.js` is imported, so its manager runs its own scheduler and worker entry with its
 * own dependencies. Its public API is taken to be the current one (TaskManager and workerTask).
 * `option` names where `root` came from, for the error messages.
 */
export async function loadBaseline(root: string, option: string): Promise<Baseline> {
  const expected = `Expected ${option} to be the root of a built taskloom checkout`;
  const received = JSON.stringify(root);
  if (root === '') throw new RangeError(`${expected}, got ""`);
  const dir = resolve(root);
  const entry = resolve(dir, 'dist', 'index.js');
  const manifestPath = resolve(dir, 'package.json');
  if (!existsSync(manifestPath)) throw new RangeError(`${expected}, got ${received}, which has no package.json`);
  let manifest: { name?: unknown; version?: unknown } | null;
  try {
    manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as typeof manifest;
  } catch (error) {
    throw new RangeError(`${expected}, got ${received}, whose package.json does not parse`, { cause: error });
  }
  if (manifest?.name !== 'taskloom') {
    const which =
      typeof manifest?.name === 'string' ? `whose package is ${JSON.stringify(manifest.name)}` : 'whose package.json names no package';
    throw new RangeError(`${expected}, got ${received}, ${which}`);
  }
  if (!existsSync(entry)) throw new RangeError(`${expected}, got ${received}, which has no dist/index.js: build it first`);
  const loaded = (await import(pathToFileURL(entry).href)) as Partial<TaskloomBuild>;
  if (typeof loaded.TaskManager !== 'function' || typeof loaded.workerTask !== 'function') {
    throw new TypeError(`Expected ${entry} to export TaskManager and workerTask, got exports ${Object.keys(loaded).join(', ')}`);
  }
  return {
    build: { name: BASELINE_NAME, TaskManager: loaded.TaskManager, workerTask: loaded.workerTask },
    commit: describeCommit(dir),
    version: typeof manifest.version === 'string' ? manifest.version : 'unknown',
  };
}
