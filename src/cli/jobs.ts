/**
 * Job files: reading a .json or .ndjson file and checking every job in it before anything
 * runs. Each problem names the file, the job (its index in a JSON array, its line in an NDJSON
 * file) and the field, and every problem in the file is reported at once.
 *
 * A job is `{ name, handler: { module, export } | action, args?, priority?, timeoutMs?, retry? }`;
 * module paths are relative to the job file.
 */
import { statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, extname, isAbsolute, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { errorMessage } from '../shared/errors.js';
import { workerTask, type Handler } from '../shared/handler.js';
import type { RetryOptions } from '../shared/task.js';
import { received } from '../shared/validate.js';
import { ACTION_NAMES, builtInAction, isActionName } from './actions.js';
import { JobFileError } from './errors.js';
import { checkRetry, checkTimeoutMs, type Report } from './job-options.js';

/** A job that passed every check, ready for `createTask`. */
export interface Job {
  /** The job's position in the file, from 0. */
  readonly index: number;
  /** In an NDJSON file, the job's line, from 1. */
  readonly line: number | undefined;
  readonly name: string;
  readonly handler: Handler;
  readonly args: unknown;
  readonly priority: number;
  /** The task's time limit, as createTask's `timeoutMs`; absent for none. */
  readonly timeoutMs?: number;
  /** The task's retry policy, as createTask's `retry`; absent for none. */
  readonly retry?: RetryOptions;
}

const JOB_FIELDS = ['name', 'handler', 'action', 'args', 'priority', 'timeoutMs', 'retry'];
const HANDLER_FIELDS = ['module', 'export'];
/** Enough to fix a file in one go without flooding the terminal. */
const MAX_PROBLEMS_SHOWN = 20;

/**
 * Reads and checks a job file. `.ndjson` and `.jsonl` files hold one job per line; any other
 * file holds a JSON array of jobs, or an object whose `jobs` field is that array.
 *
 * @param file The path as the user gave it: problems name the file this way.
 * @throws {JobFileError} listing every problem found.
 */
export async function loadJobFile(file: string): Promise<Job[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new JobFileError(file, [`${file}: cannot read the job file: ${describeFsError(error)}`], { cause: error });
  }
  text = text.replace(/^\uFEFF/, '');
  const isNdjson = ['.ndjson', '.jsonl'].includes(extname(file).toLowerCase());
  const problems: string[] = [];
  const entries = isNdjson ? parseNdjson(file, text, problems) : parseJson(file, text, problems);
  const baseDir = dirname(resolve(file));
  const jobs: Job[] = [];
  entries.forEach((entry, index) => {
    const where = entry.line === undefined ? `${file}: job at index ${index}` : `${file}: line ${entry.line}`;
    const job = checkJob(entry.value, { where, baseDir, index, line: entry.line, problems });
    if (job !== undefined) jobs.push(job);
  });
  if (problems.length === 0 && entries.length === 0) {
    problems.push(`${file}: contains no jobs (${isNdjson ? 'expected one JSON job object per line' : 'the array is empty'})`);
  }
  if (problems.length > 0) throw new JobFileError(file, capProblems(problems));
  return jobs;
}

interface Entry {
  readonly value: unknown;
  readonly line: number | undefined;
}

function parseJson(file: string, text: string, problems: string[]): Entry[] {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    const { line, column, reason } = describeSyntaxError(error, text);
    const at = line === undefined ? '' : ` at line ${line}, column ${column}`;
    problems.push(`${file}: invalid JSON${at}: ${reason}`);
    return [];
  }
  const list = Array.isArray(document) ? document : isObject(document) && Array.isArray(document['jobs']) ? document['jobs'] : undefined;
  if (list === undefined) {
    problems.push(`${file}: expected a JSON array of jobs (or an object with a "jobs" array), ${received(document)}`);
    return [];
  }
  return list.map((value: unknown) => ({ value, line: undefined }));
}

function parseNdjson(file: string, text: string, problems: string[]): Entry[] {
  const entries: Entry[] = [];
  text.split(/\r?\n/).forEach((content, i) => {
    if (content.trim() === '') return;
    try {
      entries.push({ value: JSON.parse(content), line: i + 1 });
    } catch (error) {
      const { column, reason } = describeSyntaxError(error, content);
      const at = column === undefined ? '' : ` at column ${column}`;
      problems.push(`${file}: line ${i + 1}: invalid JSON${at}: ${reason}`);
    }
  });
  return entries;
}

interface CheckContext {
  readonly where: string;
  readonly baseDir: string;
  readonly index: number;
  readonly line: number | undefined;
  readonly problems: string[];
}

function checkJob(value: unknown, context: CheckContext): Job | undefined {
  const { where, problems } = context;
  const before = problems.length;
  const report = (field: string, detail: string): void => void problems.push(`${where}, field "${field}": ${detail}`);
  if (!isObject(value)) {
    problems.push(`${where}: expected a job object, ${received(value)}`);
    return undefined;
  }
  for (const key of Object.keys(value)) {
    if (!JOB_FIELDS.includes(key)) report(key, `unknown field; expected one of ${quoteAll(JOB_FIELDS)}`);
  }
  const { name, priority = 0, args } = value;
  if (!('name' in value)) report('name', 'missing (expected a non-empty string)');
  else if (typeof name !== 'string' || name.trim() === '') report('name', `expected a non-empty string, ${received(name)}`);
  if (typeof priority !== 'number' || !Number.isFinite(priority)) report('priority', `expected a finite number, ${received(priority)}`);
  const timeoutMs = checkTimeoutMs(value, report);
  const retry = checkRetry(value, report);
  const handler = checkHandlerChoice(value, context, report);
  if (problems.length > before || handler === undefined) return undefined;
  return {
    index: context.index,
    line: context.line,
    name: name as string,
    handler,
    args,
    priority: priority as number,
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
    ...(retry === undefined ? {} : { retry }),
  };
}

function checkHandlerChoice(value: Record<string, unknown>, context: CheckContext, report: Report): Handler | undefined {
  const hasHandler = 'handler' in value;
  const hasAction = 'action' in value;
  if (hasHandler && hasAction) {
    report('handler', 'a job has either "handler" or "action", not both');
    return undefined;
  }
  if (hasAction) return checkAction(value['action'], report);
  if (hasHandler) return checkModuleHandler(value['handler'], context.baseDir, report);
  report('handler', `missing: give "handler": { "module": "./tasks.js", "export": "name" } or "action": one of ${quoteAll(ACTION_NAMES)}`);
  return undefined;
}

function checkAction(action: unknown, report: Report): Handler | undefined {
  if (typeof action !== 'string') {
    report('action', `expected an action name (one of ${quoteAll(ACTION_NAMES)}), ${received(action)}`);
    return undefined;
  }
  if (!isActionName(action)) {
    report('action', `unknown action ${JSON.stringify(action)}; expected one of ${quoteAll(ACTION_NAMES)}`);
    return undefined;
  }
  return builtInAction(action);
}

function checkModuleHandler(handler: unknown, baseDir: string, report: Report): Handler | undefined {
  if (!isObject(handler)) {
    report('handler', `expected an object { "module": "./tasks.js", "export": "name" }, ${received(handler)}`);
    return undefined;
  }
  let isValid = true;
  for (const key of Object.keys(handler)) {
    if (!HANDLER_FIELDS.includes(key)) {
      report(`handler.${key}`, `unknown field; expected one of ${quoteAll(HANDLER_FIELDS)}`);
      isValid = false;
    }
  }
  const { module, export: exportName = 'default' } = handler;
  if (typeof exportName !== 'string' || exportName === '') {
    report('handler.export', `expected the name of an exported function, ${received(exportName)}`);
    isValid = false;
  }
  if (!('module' in handler)) {
    report('handler.module', 'missing (expected a path to a module, relative to the job file)');
    return undefined;
  }
  if (typeof module !== 'string' || module === '') {
    report('handler.module', `expected a path to a module, relative to the job file, ${received(module)}`);
    return undefined;
  }
  const path = toPath(module, baseDir);
  if (path === undefined) {
    report('handler.module', `expected a path or a file: URL, got the URL ${JSON.stringify(module)}`);
    return undefined;
  }
  const problem = checkModuleFile(path);
  if (problem !== undefined) {
    report('handler.module', `${JSON.stringify(module)} ${problem} (resolved to ${path})`);
    return undefined;
  }
  if (!isValid) return undefined;
  return workerTask(pathToFileURL(path), exportName as string);
}

/** An absolute path for a module path or file: URL of a job file; undefined for a URL that names no local file. */
function toPath(module: string, baseDir: string): string | undefined {
  if (!module.startsWith('file:')) return isAbsolute(module) ? module : resolve(baseDir, module);
  try {
    return fileURLToPath(module);
  } catch {
    return undefined;
  }
}

function checkModuleFile(path: string): string | undefined {
  try {
    return statSync(path).isFile() ? undefined : 'is not a file';
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : `cannot be read: ${describeFsError(error)}`;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function quoteAll(names: readonly string[]): string {
  return names.map((n) => JSON.stringify(n)).join(', ');
}

function capProblems(problems: string[]): string[] {
  if (problems.length <= MAX_PROBLEMS_SHOWN) return problems;
  return [...problems.slice(0, MAX_PROBLEMS_SHOWN), `... and ${problems.length - MAX_PROBLEMS_SHOWN} more problems`];
}

interface SyntaxProblem {
  readonly line: number | undefined;
  readonly column: number | undefined;
  readonly reason: string;
}

/**
 * Where JSON.parse gave up, as a line and column (from 1) of `text`, and why. The reason
 * loses JSON.parse's character offset ("in JSON at position 12", "after JSON at position
 * 40 (line 3 column 1)"): the line and column say it better.
 */
function describeSyntaxError(error: unknown, text: string): SyntaxProblem {
  const message = errorMessage(error);
  const reason = message.replace(/\s*(?:in JSON )?at position \d+(?:\s*\(line \d+ column \d+\))?/, '').trim();
  const position = /at position (\d+)/.exec(message);
  if (position === null) return { line: undefined, column: undefined, reason };
  const offset = Number(position[1]);
  const before = text.slice(0, offset);
  return { line: before.split('\n').length, column: offset - before.lastIndexOf('\n'), reason };
}

function describeFsError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EISDIR') return 'it is a directory';
  if (code === 'EACCES') return 'permission denied';
  return errorMessage(error);
}
