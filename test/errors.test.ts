/**
 * Errors keep their class across threads and across copies of the package: each is serialized
 * with its name, code, message, stack and data fields and revived through one registry, and
 * `instanceof` checks the `Symbol.for('taskloom.error')` brand and the code.
 */
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CallerEndedError,
  DataCloneFailedError,
  DeadlockError,
  HandlerNotFoundError,
  isTaskloomError,
  ManagerStoppedError,
  MapInputError,
  MapItemError,
  ModuleLoadError,
  NotCloneableError,
  PreloadError,
  QueueFullError,
  TaskCancelledError,
  TaskloomError,
  TaskTimeoutError,
  UnknownTaskError,
  WorkerExitedError,
  WorkerFailedError,
  WorkerOutOfMemoryError,
  workerTask,
  type Task,
} from 'taskloom';
import {
  BodyTooLargeError,
  HttpRequestError,
  HttpStatusError,
  HttpTimeoutError,
  IncompleteBodyError,
  MissingSearchEndpointError,
  RedirectLoopError,
} from 'taskloom/actions';
import { JobFileError, UsageError } from '../dist/cli/errors.js';
import { describeError, reviveError, serializeError, type SerializedError } from '../dist/shared/messages.js';
import { runFailure } from '../dist/main/run-failure.js';
import { createManager, fixture, REGISTER_TSX } from './helpers.js';

const FAILURES = new URL('./fixtures/failures.ts', import.meta.url);
const THROWS_ON_IMPORT = new URL('./fixtures/throws-on-import.ts', import.meta.url);
const cause = new Error('the cause');

/** One instance of every error class, with the data fields it must keep. */
const samples: [Error, Record<string, unknown>][] = [
  [new TaskloomError('base', 'TASKLOOM_SOMETHING'), {}],
  [new ManagerStoppedError('createTask'), { method: 'createTask' }],
  [new UnknownTaskError('t-1'), { taskId: 't-1' }],
  [new TaskCancelledError('t-2', 'why not'), { taskId: 't-2' }],
  [new TaskTimeoutError('t-3', 250), { taskId: 't-3', timeoutMs: 250 }],
  [new QueueFullError(10), { maxPendingTasks: 10 }],
  [new DeadlockError('stuck'), {}],
  [new CallerEndedError(), {}],
  [new MapItemError(7, 'RangeError: bad'), { index: 7 }],
  [new MapInputError(cause), {}],
  [new WorkerExitedError(3), { exitCode: 3 }],
  [new WorkerOutOfMemoryError('heap limit'), {}],
  [new WorkerFailedError('the worker thread failed: boom'), {}],
  [new DataCloneFailedError('() => 1 could not be cloned.'), {}],
  [new ModuleLoadError('file:///m.js', { cause }), { module: 'file:///m.js' }],
  [new PreloadError('file:///p.js', { cause }), { module: 'file:///p.js' }],
  [new HandlerNotFoundError('file:///m.js', 'run', 42), { module: 'file:///m.js', exportName: 'run' }],
  [new NotCloneableError('result.save', 'result.save is a function'), { path: 'result.save' }],
  [new HttpStatusError('http://x/', 404, 'Not Found'), { url: 'http://x/', status: 404 }],
  [new HttpRequestError('http://x/', { cause }), { url: 'http://x/' }],
  [new HttpTimeoutError('http://x/', 150), { url: 'http://x/', timeoutMs: 150 }],
  [new RedirectLoopError('http://x/', 'http://x/a', 'http://x/b'), { url: 'http://x/' }],
  [new IncompleteBodyError('http://x/', 5, 10), { url: 'http://x/', bytes: 5, expectedBytes: 10 }],
  [new BodyTooLargeError('http://x/', 4096), { url: 'http://x/', maxBytes: 4096 }],
  [new MissingSearchEndpointError(), {}],
  [new JobFileError('jobs.json', ['job 1: bad', 'job 2: worse']), { file: 'jobs.json', problems: ['job 1: bad', 'job 2: worse'] }],
  [new UsageError('bad --out'), {}],
];

/** Through a structured clone, as between threads. */
function acrossThreads(error: unknown): Error {
  return reviveError(structuredClone(serializeError(error)));
}

describe('serialize and revive', () => {
  for (const [error, fields] of samples) {
    it(`keeps the class, name, code, message and data of ${error.constructor.name}`, () => {
      const code = (error as { code?: unknown }).code;
      expect(code).toMatch(/^TASKLOOM_[A-Z_]+$/);
      const revived = acrossThreads(error);
      expect(revived).toBeInstanceOf(error.constructor);
      expect(Object.getPrototypeOf(revived)).toBe(Object.getPrototypeOf(error));
      expect(revived).toBeInstanceOf(TaskloomError);
      expect(isTaskloomError(revived)).toBe(true);
      expect(revived).toMatchObject({ name: error.name, code, message: error.message, ...fields });
      expect(revived.stack).toBe(error.stack);
      if (error instanceof TypeError) expect(revived).toBeInstanceOf(TypeError);
    });
  }

  it('gives every taskloom code to one class only', () => {
    const codes = samples.map(([error]) => (error as Error & { code: string }).code);
    expect(new Set(codes).size).toBe(codes.length);
  });

  it('revives the built-in classes by name', () => {
    for (const Class of [Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError]) {
      const revived = acrossThreads(new Class('built in'));
      expect(Object.getPrototypeOf(revived)).toBe(Class.prototype);
      expect(revived).toMatchObject({ name: Class.name, message: 'built in' });
      expect(revived).not.toBeInstanceOf(TaskloomError);
    }
    const aggregate = acrossThreads(new AggregateError([new RangeError('first'), new UnknownTaskError('t')], 'several'));
    expect(aggregate).toBeInstanceOf(AggregateError);
    const { errors } = aggregate as AggregateError;
    expect(errors[0]).toBeInstanceOf(RangeError);
    expect(errors[1]).toBeInstanceOf(UnknownTaskError);
  });

  it('keeps the name, code and plain fields of other errors', () => {
    const enoent = Object.assign(new Error('no such file'), { code: 'ENOENT', errno: -2, path: '/nope', handle: { fd: 1 } });
    const revived = acrossThreads(enoent);
    expect(revived).toMatchObject({ name: 'Error', code: 'ENOENT', errno: -2, path: '/nope' });
    expect(revived).not.toHaveProperty('handle');
    class QuotaError extends Error {
      override name = 'QuotaError';
    }
    expect(acrossThreads(new QuotaError('quota'))).toMatchObject({ name: 'QuotaError', message: 'quota' });
    expect(serializeError('plain')).toEqual({ name: 'NonErrorThrown', message: 'a non-Error value was thrown: "plain"' });
  });

  it('revives a taskloom code that no loaded module registered as a branded TaskloomError', () => {
    const revived = reviveError({ name: 'FutureError', code: 'TASKLOOM_FUTURE', message: 'from a newer copy', data: { id: 3 } });
    expect(revived).toBeInstanceOf(TaskloomError);
    expect(revived).toMatchObject({ name: 'FutureError', code: 'TASKLOOM_FUTURE', message: 'from a newer copy', id: 3 });
  });

  it('recognises errors by brand and code, not by shape', () => {
    const lookalike = Object.assign(new Error('fake'), { code: UnknownTaskError.code });
    expect(lookalike).not.toBeInstanceOf(UnknownTaskError);
    expect(lookalike).not.toBeInstanceOf(TaskloomError);
    expect(new UnknownTaskError('t')).not.toBeInstanceOf(QueueFullError);
    expect(new NotCloneableError('result', 'result is a symbol')).not.toBeInstanceOf(HandlerNotFoundError);
    // A subclass of the application's own, never registered, keeps the ordinary check.
    class AppError extends TaskloomError {}
    expect(new AppError('mine', 'APP_ERROR')).toBeInstanceOf(AppError);
    expect(new AppError('mine', 'APP_ERROR')).toBeInstanceOf(TaskloomError);
    expect(new TaskloomError('base', 'APP_ERROR')).not.toBeInstanceOf(AppError);
  });

  it('describes a failure by its message alone when taskloom wrote it to read alone', () => {
    expect(describeError(serializeError(new WorkerExitedError(3)))).toBe('the worker thread exited with code 3 while running the task');
    expect(describeError(serializeError(new TaskTimeoutError('t', 40)))).toBe('timed out after 40 ms');
    expect(describeError(serializeError(new UnknownTaskError('t')))).toMatch(/^UnknownTaskError: No task with id "t"/);
    expect(describeError(serializeError(new RangeError('bad')))).toBe('RangeError: bad');
  });

  it('turns what Piscina rejects a run with into a typed failure', () => {
    const oom = Object.assign(new Error('Worker terminated due to reaching memory limit: JS heap out of memory'), {
      code: 'ERR_WORKER_OUT_OF_MEMORY',
    });
    expect(runFailure(oom)).toMatchObject({ code: WorkerOutOfMemoryError.code, message: `worker ran out of memory: ${oom.message}` });
    expect(runFailure(new Error('worker exited with code: 3'))).toMatchObject({
      name: 'WorkerExitedError',
      code: WorkerExitedError.code,
      message: 'the worker thread exited with code 3 while running the task',
      data: { exitCode: 3 },
    });
    const clone = new DOMException('() => 1 could not be cloned.', 'DataCloneError');
    const cloneFailure = runFailure(clone);
    expect(cloneFailure.code).toBe(DataCloneFailedError.code);
    expect(cloneFailure.message).toBe("the task's arguments or result could not be cloned between threads: () => 1 could not be cloned.");
    expect(runFailure(new Error('boom'))).toMatchObject({ code: WorkerFailedError.code, message: 'the worker thread failed: boom' });
    expect(runFailure(42)).toMatchObject({ code: WorkerFailedError.code, message: 'the worker thread crashed: 42' });
  });
});

describe('another copy of the package', () => {
  // A copy of the shared code in a folder of its own: a second module graph, with classes and a
  // registry of its own, as when two versions of taskloom are installed side by side.
  const folder = mkdtempSync(join(tmpdir(), 'taskloom-copy-'));
  writeFileSync(join(folder, 'package.json'), '{ "type": "module" }');
  cpSync(new URL('../dist/shared/', import.meta.url), join(folder, 'shared'), { recursive: true });
  afterAll(() => rmSync(folder, { recursive: true, force: true }));

  type Errors = typeof import('../dist/shared/errors.js');
  type Messages = typeof import('../dist/shared/messages.js');
  const load = async (): Promise<[Errors, Messages]> => [
    (await import(pathToFileURL(join(folder, 'shared', 'errors.js')).href)) as Errors,
    (await import(pathToFileURL(join(folder, 'shared', 'messages.js')).href)) as Messages,
  ];

  it('has classes of its own', async () => {
    const [other] = await load();
    expect(other.UnknownTaskError).not.toBe(UnknownTaskError);
  });

  it('recognises our errors, and we recognise its errors', async () => {
    const [other] = await load();
    expect(new other.UnknownTaskError('t')).toBeInstanceOf(UnknownTaskError);
    expect(new other.UnknownTaskError('t')).toBeInstanceOf(TaskloomError);
    expect(new UnknownTaskError('t')).toBeInstanceOf(other.UnknownTaskError);
    expect(new UnknownTaskError('t')).toBeInstanceOf(other.TaskloomError);
    expect(new other.NotCloneableError('result', 'result is a symbol')).toBeInstanceOf(NotCloneableError);
    expect(new other.UnknownTaskError('t')).not.toBeInstanceOf(QueueFullError);
    expect(isTaskloomError(new other.DeadlockError('stuck'))).toBe(true);
  });

  it('revives what the other copy serialized as our classes', async () => {
    const [other, otherMessages] = await load();
    const revived = reviveError(structuredClone(otherMessages.serializeError(new other.TaskTimeoutError('t', 5))));
    expect(Object.getPrototypeOf(revived)).toBe(TaskTimeoutError.prototype);
    const back = otherMessages.reviveError(serializeError(new MapItemError(2, 'no')));
    expect(back).toBeInstanceOf(other.MapItemError);
    expect(back).toBeInstanceOf(MapItemError);
  });
});

describe('failures across real threads', () => {
  const failure = (task: Task): SerializedError | undefined => task.failure;

  it('keeps the name and code of what a worker handler threw', async () => {
    const manager = createManager({ autoStart: true });
    const run = async (name: string): Promise<Task> => manager.waitFor(manager.createTask(name, workerTask(FAILURES, name)));
    const [typeError, rangeError, unknown] = await Promise.all([run('throwsTypeError'), run('throwsRangeError'), run('waitsForUnknown')]);
    expect(failure(typeError)).toMatchObject({ name: 'TypeError', message: 'not a number' });
    expect(failure(typeError)?.stack).toMatch(/failures\.ts/);
    expect(failure(rangeError)).toMatchObject({ name: 'RangeError', message: 'out of range' });
    expect(failure(unknown)).toMatchObject({ name: 'UnknownTaskError', code: UnknownTaskError.code, data: { taskId: 'nope' } });
    expect(unknown.error).toMatch(/^UnknownTaskError: No task with id "nope"/);
  });

  it('revives a manager error in the worker as its class', async () => {
    const manager = createManager({ autoStart: true });
    const task = await manager.waitFor(manager.createTask('checks', workerTask(FAILURES, 'checksUnknown')));
    expect(task.result).toEqual({ isUnknownTask: true, isTaskloom: true, taskId: 'nope' });
  });

  it("rejects a main-thread handler's waitFor('nope') with an UnknownTaskError", async () => {
    const manager = createManager({ autoStart: true });
    const id = manager.createTask('main', async (task) => {
      try {
        await task.manager.waitFor('nope');
        return 'resolved';
      } catch (error) {
        return { isUnknownTask: error instanceof UnknownTaskError, code: (error as { code?: unknown }).code };
      }
    });
    expect((await manager.waitFor(id)).result).toEqual({ isUnknownTask: true, code: UnknownTaskError.code });
    await expect(manager.waitFor('nope')).rejects.toBeInstanceOf(UnknownTaskError);
  });

  it('gives each failure of a run a stable code', async () => {
    const manager = createManager({ autoStart: true, maxConcurrentTasks: 2, cancelGraceMs: 20 });
    const codeOf = async (
      name: string,
      handler = fixture(name),
      options: { timeoutMs?: number; args?: unknown } = {},
    ): Promise<string | undefined> => {
      const task = await manager.waitFor(manager.createTask(name, handler, options));
      expect(task.state, name).toBe('failed');
      return failure(task)?.code;
    };
    expect(await codeOf('spin', fixture('spin'), { timeoutMs: 30, args: { started: new Int32Array(new SharedArrayBuffer(4)) } })).toBe(
      TaskTimeoutError.code,
    );
    expect(await codeOf('exits')).toBe(WorkerExitedError.code);
    expect(await codeOf('bad module', workerTask(THROWS_ON_IMPORT))).toBe(ModuleLoadError.code);
    expect(await codeOf('missingExport')).toBe(HandlerNotFoundError.code);
    expect(await codeOf('returnsFunction')).toBe(NotCloneableError.code);
    expect(await codeOf('bad args', fixture('echo'), { args: { callback: () => 1 } })).toBe(DataCloneFailedError.code);
  });

  it('gives a failed preload its code', async () => {
    const manager = createManager({ autoStart: true, workerPreload: [REGISTER_TSX, THROWS_ON_IMPORT] });
    const task = await manager.waitFor(manager.createTask('echo', fixture('echo')));
    expect(failure(task)).toMatchObject({ name: 'PreloadError', code: PreloadError.code, data: { module: THROWS_ON_IMPORT.href } });
    expect(task.error).toMatch(/^Worker preload .*throws-on-import\.ts failed: this module fails when imported$/);
  });

  it('rejects a map whose input throws with a MapInputError', async () => {
    const manager = createManager({ autoStart: true });
    function* items(): Generator<number> {
      yield 1;
      throw new Error('the input broke');
    }
    const error: unknown = await manager
      .map(fixture('echo'), items())
      .toArray()
      .then(
        () => undefined,
        (thrown: unknown) => thrown,
      );
    expect(error).toBeInstanceOf(MapInputError);
    expect(error).toMatchObject({ code: MapInputError.code, message: 'Reading the items of map() failed: the input broke' });
  });
});
