/**
 * Typed task references: a workerTask made with its module's type carries the handler's
 * argument and result types, createTask checks `args` against them, and waitFor, getTask and map
 * return the result type. The type assertions are checked by `npm run typecheck`; the calls run
 * for real, so the types are also checked against what the handlers return.
 */
import { describe, expect, expectTypeOf, it } from 'vitest';
import { workerTask, type Settled, type Task, type TaskId, type WorkerTask } from 'taskloom';
import { createManager } from './helpers.js';

type Tasks = typeof import('./fixtures/tasks.js');
type MapTasks = typeof import('./fixtures/map-tasks.js');

const TASKS = new URL('./fixtures/tasks.ts', import.meta.url);
const MAP_TASKS = new URL('./fixtures/map-tasks.ts', import.meta.url);

describe('typed task references', () => {
  it('infers args and result from the export, and waitFor and getTask return the result type', async () => {
    const sleeps = workerTask<Tasks, 'sleeps'>(TASKS, 'sleeps');
    expectTypeOf(sleeps).toEqualTypeOf<WorkerTask<number, string>>();

    const manager = createManager({ autoStart: true });
    const id = manager.createTask('Sleep', sleeps, { args: 1 });
    expectTypeOf(id).toEqualTypeOf<TaskId<string>>();
    expectTypeOf(id).toExtend<string>();

    const task = await manager.waitFor(id);
    expectTypeOf(task).toEqualTypeOf<Task<string>>();
    expectTypeOf(task.result).toEqualTypeOf<string | undefined>();
    expect(task.state).toBe('completed');
    expect(typeof task.result).toBe('string');
    expectTypeOf(manager.getTask(id)).toEqualTypeOf<Task<string> | undefined>();
  });

  it('refuses args of the wrong type, and a name that is not a handler export', () => {
    const manager = createManager();
    const sleeps = workerTask<Tasks, 'sleeps'>(TASKS, 'sleeps');
    // @ts-expect-error: sleeps takes a number of milliseconds
    manager.createTask('Sleep', sleeps, { args: 'ten' });
    // @ts-expect-error: notAFunction is a number, not a handler
    expect(() => workerTask<Tasks, 'notAFunction'>(TASKS, 'notAFunction')).not.toThrow();
    // @ts-expect-error: no such export
    expect(() => workerTask<Tasks, 'nope'>(TASKS, 'nope')).not.toThrow();
  });

  it('takes the default export when no name is given, and a handler with no args takes none', () => {
    const describeTask = workerTask<Tasks, 'describe'>(TASKS, 'describe');
    expectTypeOf(describeTask).toEqualTypeOf<WorkerTask<undefined, { id: string; name: string; aborted: boolean }>>();
    const manager = createManager();
    const id = manager.createTask('Describe', describeTask);
    expectTypeOf(id).toEqualTypeOf<TaskId<{ id: string; name: string; aborted: boolean }>>();
  });

  it('leaves a reference made without the module type untyped, and any string is an id', async () => {
    const untyped = workerTask(TASKS, 'echo');
    expectTypeOf(untyped).toEqualTypeOf<WorkerTask>();
    const manager = createManager({ autoStart: true });
    const id: string = manager.createTask('Echo', untyped, { args: { anything: true } });
    const task = await manager.waitFor(id);
    expectTypeOf(task).toEqualTypeOf<Task>();
    expect(task.result).toEqual({ anything: true });
  });

  it('infers a function handler the same way', async () => {
    const manager = createManager({ autoStart: true });
    const id = manager.createTask('Add', (_task, args: { a: number; b: number }) => args.a + args.b, { args: { a: 2, b: 3 } });
    expectTypeOf(id).toEqualTypeOf<TaskId<number>>();
    // @ts-expect-error: b must be a number
    manager.createTask('Add', (_task, args: { a: number; b: number }) => args.a + args.b, { args: { a: 2, b: '3' } });
    const task = await manager.waitFor(id);
    expectTypeOf(task.result).toEqualTypeOf<number | undefined>();
    expect(task.result).toBe(5);
  });

  it('types map items and results from the reference', async () => {
    const square = workerTask<MapTasks, 'square'>(MAP_TASKS, 'square');
    const manager = createManager({ autoStart: true });
    const squares = await manager.map(square, [1, 2, 3]).toArray();
    expectTypeOf(squares).toEqualTypeOf<number[]>();
    expect(squares).toEqual([1, 4, 9]);
    const settled = await manager.map(square, [4], { settle: true }).toArray();
    expectTypeOf(settled).toEqualTypeOf<Settled<number>[]>();
    // @ts-expect-error: square takes numbers
    manager.map(square, ['a']);
  });
});
