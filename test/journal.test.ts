/**
 * The journal in the library: what a manager with `journal` records, and what a manager
 * constructed on that journal gets back. A process that ends under its manager is a child
 * process (test/fixtures/journal-child.mjs); the managers here are real, on real files.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TaskInterruptedError, TaskState, workerTask, type TaskManager, type TaskManagerOptions } from 'taskloom';
import { countRuns, JOURNAL_TASKS, readJournal, startChild } from './fixtures/journal-process.js';
import { createManager, recordEvents } from './helpers.js';

const TASKS = pathToFileURL(JOURNAL_TASKS);
const record = workerTask(TASKS, 'record');
const echo = workerTask(TASKS, 'echo');
const fail = workerTask(TASKS, 'fail');

let folder: string;
let journal: string;
let runs: string;

beforeEach(() => {
  folder = mkdtempSync(join(tmpdir(), 'taskloom-journal-'));
  journal = join(folder, 'run.db');
  runs = join(folder, 'runs.txt');
});

afterEach(() => {
  rmSync(folder, { recursive: true, force: true });
});

/** A manager on the test's journal, stopped after the test. */
function open(options: TaskManagerOptions = {}): TaskManager {
  return createManager({ journal, maxConcurrentTasks: 1, ...options });
}

async function runToEnd(manager: TaskManager): Promise<void> {
  void manager.runTasks();
  await manager.onIdle();
}

describe('recording', () => {
  it('records each task inside createTask: a process that exits on the next line loses none', async () => {
    const child = startChild({
      journal,
      tasks: [
        { name: 'first', export: 'echo', args: { n: 1 }, priority: 1 },
        { name: 'second', export: 'echo', args: [2, 'two', { three: [3] }] },
      ],
      exitAfterCreate: true,
    });
    expect((await child.exited).code).toBe(0);
    const manager = open();
    const tasks = manager.listTasks();
    expect(tasks.map((task) => [task.name, task.state, task.priority, task.attempts])).toEqual([
      ['first', 'pending', 1, 0],
      ['second', 'pending', 0, 0],
    ]);
    await runToEnd(manager);
    expect(manager.listTasks().map((task) => task.result)).toEqual([{ n: 1 }, [2, 'two', { three: [3] }]]);
  });

  it('refuses a function handler unless the task is created with durable: false, and records no such task', async () => {
    const manager = open();
    expect(() => manager.createTask('inline', () => 1)).toThrow(TypeError);
    expect(() => manager.createTask('inline', () => 1)).toThrow(/`handler`.*function cannot be recorded.*durable: false/);
    const id = manager.createTask('inline', () => 'ran', { durable: false });
    const unrecorded = manager.createTask('worker, unrecorded', echo, { args: 1, durable: false });
    await runToEnd(manager);
    expect(manager.getTask(id)?.result).toBe('ran');
    expect(manager.getStats().total).toBe(2);
    await manager.stop();
    expect(readJournal(journal).size).toBe(0);
    expect(open().getTask(unrecorded)).toBeUndefined();
  });

  it('refuses arguments it cannot store, naming where in them the problem is', () => {
    const manager = open();
    const args = { user: { name: 'Ada', tags: ['a', { save: () => undefined }] } };
    expect(() => manager.createTask('bad', echo, { args })).toThrow(TypeError);
    expect(() => manager.createTask('bad', echo, { args })).toThrow(/options\.args\.user\.tags\[1\]\.save is a function/);
    expect(() => manager.createTask('bad', echo, { args: { pending: Promise.resolve() } })).toThrow(/options\.args\.pending is a Promise/);
    expect(() => manager.createTask('bad', echo, { args: Symbol('s') })).toThrow(/options\.args is a symbol/);
    expect(() => manager.createTask('bad', echo, { durable: 'yes' as unknown as boolean })).toThrow(/`options\.durable` to be a boolean/);
    expect(manager.getStats().total).toBe(0);
  });

  it('keeps args and results as structured-clone data across a restart', async () => {
    const args = { when: new Date(1_000), bytes: new Uint8Array([1, 2, 3]), map: new Map([[1, new Set(['x'])]]), big: 10n ** 20n };
    const first = open();
    const id = first.createTask('echo', echo, { args });
    await runToEnd(first);
    await first.stop();
    const task = open().getTask(id);
    expect(task?.state).toBe(TaskState.COMPLETED);
    expect(task?.result).toEqual(args);
  });
});

describe('recovery', () => {
  it('brings pending tasks back pending, with their ids, in the same priority order (setPriority included)', async () => {
    const first = open();
    const ids = [3, 1, 3, 2, 1].map((priority, i) => first.createTask(`p${priority}-${i}`, echo, { args: i, priority }));
    first.setPriority(ids[4]!, 5);
    await first.stop();
    const second = open();
    expect(second.listTasks(TaskState.PENDING).map((task) => task.id)).toEqual(ids);
    const events = recordEvents(second);
    await runToEnd(second);
    const started = events.filter((event) => event.event === 'started').map((event) => event.task.name);
    expect(started).toEqual(['p1-4', 'p3-0', 'p3-2', 'p2-3', 'p1-1']);
  });

  it("runs a task that was running when its process ended again, counting an attempt ('retry', the default)", async () => {
    const child = startChild({
      journal,
      tasks: [{ name: 'cut short', export: 'record', args: { file: runs, key: 'cut' } }],
      exitOnStart: 'cut short',
    });
    await child.exited;
    expect(readJournal(journal).get('cut short')).toMatchObject({ state: 'running', attempts: 1 });
    const manager = open();
    const [task] = manager.listTasks();
    expect(task).toMatchObject({ state: 'pending', attempts: 1, errors: ['interrupted: the process ended while this task ran'] });
    await runToEnd(manager);
    expect(manager.getTask(task!.id)).toMatchObject({ state: 'completed', attempts: 2, result: 'cut' });
  });

  it("fails a task that was running when its process ended with onInterrupted: 'fail', and never runs it", async () => {
    const child = startChild({ journal, tasks: [{ name: 'cut short', export: 'block' }], exitOnStart: 'cut short' });
    await child.exited;
    const manager = open({ onInterrupted: 'fail' });
    const [task] = manager.listTasks();
    expect(task).toMatchObject({ state: 'failed', attempts: 1, error: 'interrupted: the process ended while this task ran' });
    expect(task!.failure).toMatchObject({ name: 'TaskInterruptedError', code: TaskInterruptedError.code });
    expect(manager.getStats()).toMatchObject({ total: 1, failed: 1, pending: 0 });
    await runToEnd(manager);
    expect(manager.getTask(task!.id)?.state).toBe('failed');
    await manager.stop();
    expect(readJournal(journal).get('cut short')?.state).toBe('failed');
  });

  it('brings finished tasks back as records, with their results and errors, and never runs them again', async () => {
    const first = open();
    const done = first.createTask('done', record, { args: { file: runs, key: 'done' } });
    const failed = first.createTask('failed', fail, { args: { message: 'no luck', file: runs, key: 'failed' } });
    const cancelled = first.createTask('cancelled', record, { args: { file: runs, key: 'cancelled' } });
    first.cancelTask(cancelled);
    await runToEnd(first);
    await first.stop();
    const second = open();
    expect(second.getTask(done)).toMatchObject({ state: 'completed', result: 'done', attempts: 1 });
    expect(second.getTask(failed)).toMatchObject({ state: 'failed', error: 'no luck' });
    expect(second.getTask(cancelled)?.state).toBe('cancelled');
    expect(second.getStats()).toMatchObject({ total: 3, completed: 1, failed: 1, cancelled: 1 });
    await runToEnd(second);
    expect(Object.fromEntries(countRuns(runs))).toEqual({ done: 1, failed: 1 });
  });

  it('keeps what stop() cancels as it was in the journal, so that the next manager takes it up', async () => {
    const first = open();
    const blocked = first.createTask('blocked', workerTask(TASKS, 'block'));
    const waiting = first.createTask('waiting', echo, { args: 'later' });
    const started = new Promise<void>((resolve) => first.on('started', () => resolve()));
    void first.runTasks();
    await started;
    await first.stop();
    expect(first.getTask(waiting)?.state).toBe('cancelled');
    const second = open();
    expect(second.getTask(waiting)?.state).toBe('pending');
    expect(second.getTask(blocked)).toMatchObject({ state: 'pending', attempts: 1 });
  });
});

describe('finished tasks beyond memory', () => {
  it('reads a finished task that retention dropped back from the journal: getTask and waitFor', async () => {
    const manager = open({ maxFinishedTasks: 2 });
    const ids = [0, 1, 2, 3].map((i) => manager.createTask(`t${i}`, echo, { args: i }));
    await runToEnd(manager);
    expect(manager.listTasks()).toHaveLength(2);
    expect(manager.getTask(ids[0]!)).toMatchObject({ id: ids[0], state: 'completed', result: 0 });
    expect(await manager.waitFor(ids[1]!)).toMatchObject({ state: 'completed', result: 1 });
    await manager.stop();
    const second = open({ maxFinishedTasks: 2 });
    expect(second.listTasks().map((task) => task.name)).toEqual(['t2', 't3']);
    expect(second.getStats()).toMatchObject({ total: 4, completed: 4 });
    expect(second.getTask(ids[0]!)?.result).toBe(0);
  });

  it('without a journal, the same task is gone', async () => {
    const manager = createManager({ maxConcurrentTasks: 1, maxFinishedTasks: 2 });
    const ids = [0, 1, 2, 3].map((i) => manager.createTask(`t${i}`, echo, { args: i }));
    await runToEnd(manager);
    expect(manager.getTask(ids[0]!)).toBeUndefined();
  });

  it('compactJournal() removes the finished tasks and keeps the pending ones', async () => {
    const manager = open();
    const finished = [0, 1, 2].map((i) => manager.createTask(`t${i}`, echo, { args: i }));
    await runToEnd(manager);
    const pending = manager.createTask('later', echo, { args: 'later' });
    expect(manager.compactJournal()).toBe(3);
    expect(manager.compactJournal()).toBe(0);
    await manager.stop();
    expect([...readJournal(journal).keys()]).toEqual(['later']);
    const second = open();
    expect(second.getTask(finished[0]!)).toBeUndefined();
    expect(second.getTask(pending)?.state).toBe('pending');
    expect(createManager().compactJournal()).toBe(0);
  });

  it('maxJournalAge removes finished tasks older than it', async () => {
    const first = open();
    const old = first.createTask('old', echo, { args: 1 });
    await runToEnd(first);
    await first.stop();
    // The age is measured on the wall clock: let it pass.
    await sleep(20);
    const second = open({ maxJournalAge: 10 });
    expect(second.getTask(old)).toBeUndefined();
    expect(second.getStats().total).toBe(0);
    await second.stop();
    expect(readJournal(journal).size).toBe(0);
  });
});
