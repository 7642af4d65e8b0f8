/**
 * DistributedTaskManager across real processes on a real redis-server: many processes share one
 * queue, every task ends once, priorities hold across processes, a cancel reaches the process
 * that runs the task, and a process killed with SIGKILL loses nothing.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { workerTask, type Task } from 'taskloom';
import { DistributedTaskManager, packageTask, type DistributedTaskManagerOptions } from 'taskloom/distributed';
import { WorkerProcess } from './fixtures/distributed/processes.js';
import { sharedRedis } from './fixtures/distributed/redis-server.js';

const TASKS = new URL('./fixtures/distributed/tasks.mjs', import.meta.url);
const task = (name: string) => workerTask(TASKS, name);
const FINAL = ['completed', 'failed', 'cancelled'] as const;

let redis: { url: string; close: () => Promise<void> };
const managers: DistributedTaskManager[] = [];
const processes: WorkerProcess[] = [];

beforeAll(async () => {
  redis = await sharedRedis();
});

afterAll(async () => {
  await redis.close();
});

afterEach(async () => {
  await Promise.all([...managers.splice(0).map((manager) => manager.stop()), ...processes.splice(0).map((child) => child.stop())]);
});

type AwaitedEvent = 'started' | 'retrying';

/**
 * Every 'started' and 'retrying' event of each manager, from its creation, by task, that
 * nextEvent has not handed out yet: an event may come before a test asks for it (a task can start
 * while createTask's own round trip to Redis is still under way).
 */
const unclaimed = new WeakMap<DistributedTaskManager, Map<string, Task[]>>();

function manager(queue: string, options: Partial<DistributedTaskManagerOptions> = {}): DistributedTaskManager {
  const created = new DistributedTaskManager({ redis: redis.url, queue, logger: false, maxConcurrentTasks: 2, ...options });
  managers.push(created);
  const events = new Map<string, Task[]>();
  unclaimed.set(created, events);
  for (const event of ['started', 'retrying'] as const) {
    created.on(event, (seen) => {
      const key = `${event}:${seen.id}`;
      events.set(key, [...(events.get(key) ?? []), seen]);
    });
  }
  return created;
}

async function workerProcess(queue: string, options: Record<string, unknown> = {}): Promise<WorkerProcess> {
  const child = await WorkerProcess.start({ redis: redis.url, queue, maxConcurrentTasks: 2, ...options });
  processes.push(child);
  return child;
}

/** Counts each task's final events, and remembers the order and host of starts. */
function recordEvents(target: DistributedTaskManager): { finals: Map<string, string[]>; started: Task[] } {
  const finals = new Map<string, string[]>();
  const started: Task[] = [];
  for (const event of FINAL) {
    target.on(event, (ended) => finals.set(ended.id, [...(finals.get(ended.id) ?? []), event]));
  }
  target.on('started', (begun) => started.push(begun));
  return { finals, started };
}

/** The next `event` of task `id` that no earlier call has taken, whether it came already or comes later. */
function nextEvent(target: DistributedTaskManager, event: AwaitedEvent, id: string): Promise<Task> {
  const events = unclaimed.get(target);
  if (events === undefined) throw new TypeError('Expected a manager made by manager()');
  const key = `${event}:${id}`;
  return new Promise((resolve) => {
    const take = (): boolean => {
      const [first, ...rest] = events.get(key) ?? [];
      if (first === undefined) return false;
      events.set(key, rest);
      resolve(first);
      return true;
    };
    if (take()) return;
    const listener = (seen: Task): void => {
      // The recorder, registered first, has already queued it.
      if (seen.id === id && take()) target.off(event, listener);
    };
    target.on(event, listener);
  });
}

describe('DistributedTaskManager across processes', () => {
  it('runs 300 mixed tasks on three processes: each ends once, and every manager counts the same', { timeout: 90_000 }, async () => {
    const queue = `mixed-${randomUUID()}`;
    // Everything is queued first, so that the tasks to cancel while pending are still pending.
    const here = manager(queue, { work: false });
    const { finals } = recordEvents(here);
    const toCancelWhenStarted = new Set<string>();
    here.on('started', (begun) => {
      if (toCancelWhenStarted.has(begun.id)) void here.cancelTask(begun.id);
    });

    const ids: string[] = [];
    const expected = new Map<string, string>();
    for (let i = 0; i < 300; i++) {
      const kind = i % 12;
      let id: string;
      if (kind < 4) {
        id = await here.createTask(`cpu ${i}`, task('cpu'), { args: { ms: 5 } });
        expected.set(id, 'completed');
      } else if (kind < 8) {
        id = await here.createTask(`sleep ${i}`, task('sleepFor'), { args: { ms: 10 } });
        expected.set(id, 'completed');
      } else if (kind < 10) {
        id = await here.createTask(`fail ${i}`, task('fail'), { args: {}, retry: { attempts: kind === 8 ? 2 : 1 } });
        expected.set(id, 'failed');
      } else if (kind === 10) {
        id = await here.createTask(`cancel running ${i}`, task('untilCancelled'), { args: {}, priority: 1 });
        toCancelWhenStarted.add(id);
        expected.set(id, 'cancelled');
      } else {
        id = await here.createTask(`cancel pending ${i}`, task('echo'), { args: i, priority: -10 });
        expect(await here.cancelTask(id)).toBe(true);
        expected.set(id, 'cancelled');
      }
      ids.push(id);
    }
    // Three processes run them: this one, and two children.
    const worker = manager(queue);
    const children = await Promise.all([workerProcess(queue), workerProcess(queue), worker.ready()]);
    const ended = await Promise.all(ids.map((id) => here.waitFor(id)));
    await here.onIdle();

    for (const finished of ended) expect(finished.state, finished.name).toBe(expected.get(finished.id));
    for (const id of ids) expect(finals.get(id), id).toHaveLength(1);
    expect(finals.size).toBe(300);
    const hosts = new Set(ended.filter((finished) => finished.host !== undefined).map((finished) => finished.host));
    expect(hosts.size).toBeGreaterThanOrEqual(2);
    const counts = { total: 300, pending: 0, running: 0, completed: 200, failed: 50, cancelled: 50 };
    expect(await here.getStats()).toEqual(counts);
    expect(await worker.getStats()).toEqual(counts);
    for (const child of children.slice(0, 2) as WorkerProcess[]) expect(await child.stats()).toEqual(counts);
    const retried = ended.filter((finished) => finished.name.startsWith('fail') && finished.attempts === 2);
    expect(retried).toHaveLength(25);
    expect(retried.every((finished) => finished.errors.length === 2)).toBe(true);
  });

  it('starts tasks in priority order across processes, first-in first-out among equals', { timeout: 60_000 }, async () => {
    const queue = `priority-${randomUUID()}`;
    const submitter = manager(queue, { work: false });
    const { started } = recordEvents(submitter);
    const priorities = [3, -1.5, 10, 0.25, 0, 10, -1.5, 3, 7.75, 0, -10_000, 10_000];
    const ids: string[] = [];
    for (const [index, priority] of priorities.entries()) {
      ids.push(await submitter.createTask(`p${priority} #${index}`, task('sleepFor'), { args: { ms: 20 }, priority }));
    }
    const moved = await submitter.createTask('moved to the front', task('sleepFor'), { args: { ms: 20 }, priority: -5 });
    expect(await submitter.setPriority(moved, 10_000)).toBe(true);
    expect((await submitter.getTask(moved))?.priority).toBe(10_000);
    const [first] = await Promise.all([workerProcess(queue, { maxConcurrentTasks: 1 }), workerProcess(queue, { maxConcurrentTasks: 1 })]);
    await Promise.all([...ids, moved].map((id) => submitter.waitFor(id)));

    const order = ids
      .map((id, index) => ({ id, index, priority: priorities[index]! }))
      .sort((a, b) => b.priority - a.priority || a.index - b.index)
      .map((entry) => entry.id);
    const expectedOrder = [order[0]!, moved, ...order.slice(1)];
    expect(started.map((begun) => begun.id)).toEqual(expectedOrder);
    expect(await submitter.setPriority(moved, 1)).toBe(false);
    expect(started.every((begun) => begun.host !== undefined && begun.host !== submitter.host)).toBe(true);
    expect(first.host).toMatch(/:\d+$/);
  });

  it('cancels a task running in another process: cooperatively, then by terminating its worker', { timeout: 60_000 }, async () => {
    const queue = `cancel-${randomUUID()}`;
    const submitter = manager(queue, { work: false });
    const { finals } = recordEvents(submitter);
    const child = await workerProcess(queue, { maxConcurrentTasks: 1, cancelGraceMs: 300 });

    const polite = await submitter.createTask('polite', task('untilCancelled'), { args: {} });
    const begun = await nextEvent(submitter, 'started', polite);
    expect(begun.host).toBe(child.host);
    expect(await submitter.cancelTask(polite)).toBe(true);
    expect(await submitter.cancelTask(polite)).toBe(false);
    const cancelled = await submitter.waitFor(polite);
    expect(cancelled).toMatchObject({ state: 'cancelled', host: child.host, attempts: 1 });

    const stubborn = await submitter.createTask('stubborn', task('spin'), { args: { ms: 60_000 }, retry: { attempts: 3 } });
    await nextEvent(submitter, 'started', stubborn);
    expect(await submitter.cancelTask(stubborn)).toBe(true);
    expect(await submitter.waitFor(stubborn)).toMatchObject({ state: 'cancelled', attempts: 1 });

    // The terminated worker was replaced: the process goes on.
    const after = await submitter.createTask('after', task('echo'), { args: 'still here' });
    expect(await submitter.waitFor(after)).toMatchObject({ state: 'completed', result: 'still here', host: child.host });
    await submitter.onIdle();
    expect(finals.get(polite)).toEqual(['cancelled']);
    expect(finals.get(stubborn)).toEqual(['cancelled']);
    expect(await submitter.getStats()).toMatchObject({ completed: 1, cancelled: 2, failed: 0 });
  });

  it('recovers the task of a process killed with SIGKILL: another runs it, and it ends once', { timeout: 60_000 }, async () => {
    const queue = `kill-${randomUUID()}`;
    const fast = { maxConcurrentTasks: 1, lockDurationMs: 1500, stalledIntervalMs: 500 };
    const submitter = manager(queue, { work: false });
    const { finals } = recordEvents(submitter);
    const doomed = await workerProcess(queue, fast);
    const id = await submitter.createTask('survivor', task('nap'), { args: { ms: 1500 } });
    expect((await nextEvent(submitter, 'started', id)).host).toBe(doomed.host);

    const retried = nextEvent(submitter, 'retrying', id);
    await doomed.kill();
    const rescuer = await workerProcess(queue, fast);
    await retried;
    const ended = await submitter.waitFor(id);
    expect(ended).toMatchObject({ state: 'completed', host: rescuer.host, attempts: 2 });
    await submitter.onIdle();
    expect(finals.get(id)).toEqual(['completed']);
    expect(await submitter.getStats()).toEqual({ total: 1, pending: 0, running: 0, completed: 1, failed: 0, cancelled: 0 });
  });
});

describe('DistributedTaskManager, one process', () => {
  it('fails a task whose module this host cannot load, naming the host', async () => {
    const here = manager(`module-${randomUUID()}`);
    const missing = await here.createTask('missing', workerTask('/nonexistent/taskloom/tasks.mjs', 'run'), { retry: { attempts: 2 } });
    const unresolved = await here.createTask('unresolved', packageTask('taskloom-no-such-package/tasks', 'run'));
    const failedMissing = await here.waitFor(missing);
    expect(failedMissing).toMatchObject({
      state: 'failed',
      attempts: 2,
      failure: { code: 'TASKLOOM_MODULE_UNAVAILABLE', data: { host: here.host } },
    });
    expect(failedMissing.error).toContain(
      `host ${hostname()}:${process.pid} could not load the handler module file:///nonexistent/taskloom/tasks.mjs`,
    );
    const failedUnresolved = await here.waitFor(unresolved);
    expect(failedUnresolved.error).toContain(`host ${here.host} could not load the handler module taskloom-no-such-package/tasks`);
  });

  it('retries with the task policy, fails a timeout without retrying it, and refuses a result JSON cannot carry', async () => {
    const here = manager(`retry-${randomUUID()}`);
    const retries: Task[] = [];
    here.on('retrying', (retrying) => retries.push(retrying));
    const { mkdtemp } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const counter = `${await mkdtemp(`${tmpdir()}/taskloom-flaky-`)}/count`;
    const flaky = await here.createTask('flaky', task('flaky'), {
      args: { counter, succeedOn: 3 },
      retry: { attempts: 3, delayMs: 20, backoff: 'exponential' },
    });
    const slow = await here.createTask('slow', task('spin'), { args: { ms: 5000 }, timeoutMs: 200, retry: { attempts: 2 } });
    const dated = await here.createTask('dated', task('returnsDate'));
    expect(await here.waitFor(flaky)).toMatchObject({
      state: 'completed',
      result: 3,
      attempts: 3,
      errors: ['attempt 1 fails', 'attempt 2 fails'],
    });
    expect(retries.filter((retrying) => retrying.id === flaky)).toHaveLength(2);
    expect(await here.waitFor(slow)).toMatchObject({
      state: 'failed',
      attempts: 1,
      error: 'timed out after 200 ms',
      failure: { code: 'TASKLOOM_TASK_TIMEOUT' },
    });
    const refused = await here.waitFor(dated);
    expect(refused.state).toBe('failed');
    expect(refused.error).toContain('result.at is a Date');
  });

  it('lists tasks by state, and reports progress before the final event', async () => {
    const here = manager(`list-${randomUUID()}`, { maxConcurrentTasks: 1 });
    const progress: number[] = [];
    let progressAfterEnd = false;
    let ended = false;
    here.on('progress', (seen) => {
      progress.push(seen.progress);
      progressAfterEnd ||= ended;
    });
    here.on('completed', () => {
      ended = true;
    });
    const sleeper = await here.createTask('sleeper', task('sleepFor'), { args: { ms: 400 } });
    const waiting = await here.createTask('waiting', task('echo'), { args: 1, priority: -1 });
    await nextEvent(here, 'started', sleeper);
    expect((await here.listTasks('running')).map((listed) => listed.id)).toEqual([sleeper]);
    expect((await here.listTasks('pending')).map((listed) => listed.id)).toEqual([waiting]);
    const done = await here.waitFor(sleeper);
    expect(done.progress).toBe(100);
    await here.waitFor(waiting);
    expect((await here.listTasks()).map((listed) => [listed.name, listed.state])).toEqual([
      ['sleeper', 'completed'],
      ['waiting', 'completed'],
    ]);
    expect(progress.at(-1)).toBe(100);
    expect(progress.length).toBeLessThanOrEqual(4);
    expect(progressAfterEnd).toBe(false);
  });
});
