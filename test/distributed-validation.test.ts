/**
 * DistributedTaskManager's bad input: every method refuses it with a TypeError or RangeError that
 * names the argument (an async method rejects), args that JSON would change are refused with the
 * path of the offending value, and priorities map onto BullMQ's without losing order.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManagerStoppedError, TaskloomError, workerTask } from 'taskloom';
import {
  DistributedTaskManager,
  MAX_PRIORITY,
  MIN_PRIORITY,
  MissingDependencyError,
  ModuleUnavailableError,
  packageTask,
  RedisUnavailableError,
} from 'taskloom/distributed';
import { reviveError, serializeError } from '../dist/shared/messages.js';
import { fromBullPriority, toBullPriority } from '../dist/distributed/priority.js';
import { sharedRedis } from './fixtures/distributed/redis-server.js';

const TASKS = new URL('./fixtures/distributed/tasks.mjs', import.meta.url);
const echo = workerTask(TASKS, 'echo');

let redis: { url: string; close: () => Promise<void> };
let manager: DistributedTaskManager;

beforeAll(async () => {
  redis = await sharedRedis();
  manager = new DistributedTaskManager({ redis: redis.url, queue: `validation-${randomUUID()}`, logger: false, work: false });
  await manager.ready();
});

afterAll(async () => {
  await manager.stop();
  await redis.close();
});

describe('options', () => {
  it.each([
    [{}, TypeError, /`options.queue` to be a non-empty string, got `undefined`/],
    [{ redis: 'http://x', queue: 'q' }, TypeError, /`options.redis` to be a redis:\/\/ or rediss:\/\/ URL, got a http: URL/],
    [{ redis: 42, queue: 'q' }, TypeError, /`options.redis` to be an object, got `42`/],
    [{ redis: 'redis://127.0.0.1', queue: '' }, RangeError, /`options.queue` to be a non-empty string/],
    [{ redis: 'redis://127.0.0.1', queue: 'a:b' }, RangeError, /`options.queue` to be a name without ':'/],
    [{ redis: 'redis://127.0.0.1', queue: 'q', work: 'yes' }, TypeError, /`options.work` to be a boolean, got `"yes"`/],
    [{ redis: 'redis://127.0.0.1', queue: 'q', stalledIntervalMs: 0 }, RangeError, /`options.stalledIntervalMs` to be a positive integer/],
    [
      { redis: 'redis://127.0.0.1', queue: 'q', maxConcurrentTasks: 1.5 },
      TypeError,
      /`options.maxConcurrentTasks` to be a positive integer/,
    ],
    [{ redis: 'redis://127.0.0.1', queue: 'q', autoStart: true }, TypeError, /Unknown option `options.autoStart`/],
  ])('refuses %j', (options, ErrorClass, message) => {
    expect(() => new DistributedTaskManager(options as never)).toThrow(ErrorClass);
    expect(() => new DistributedTaskManager(options as never)).toThrow(message);
  });
});

describe('methods', () => {
  it('refuses a function handler, saying why', async () => {
    const error: unknown = await manager.createTask('f', () => 1).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toMatch(
      /a distributed task may run in another process or on another host, and a function cannot travel there/,
    );
    await expect(manager.createTask('x', { module: 'm' } as never)).rejects.toThrow(
      /`handler` to be a workerTask\(...\) reference, got `\[object Object\]`/,
    );
  });

  it.each([
    [{ when: new Date(0) }, 'options.args.when is a Date'],
    [{ list: [1, undefined] }, 'options.args.list[1] is undefined'],
    [{ deep: { n: Number.NaN } }, 'options.args.deep.n is NaN'],
    [{ big: 1n }, 'options.args.big is a bigint'],
    [{ map: new Map() }, 'options.args.map is a Map'],
    [{ 'odd key': { fn: () => 1 } }, 'options.args["odd key"].fn is a function'],
  ])('refuses args JSON would change: %s', async (args, path) => {
    const error: unknown = await manager.createTask('bad args', echo, { args }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toContain(path);
  });

  it('refuses args with a cycle', async () => {
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    await expect(manager.createTask('cycle', echo, { args: cyclic })).rejects.toThrow(
      /options.args.self refers back to one of its parents/,
    );
  });

  it.each([
    [{ priority: 0.001 }, RangeError, /`options.priority` to be a multiple of 0.01 from -10000 to 10000/],
    [{ priority: 10_000.01 }, RangeError, /`options.priority` to be a multiple of 0.01/],
    [{ priority: Number.NaN }, TypeError, /`options.priority` to be a finite number, got `NaN`/],
    [{ timeoutMs: 0 }, RangeError, /`options.timeoutMs` to be a number of milliseconds > 0/],
    [{ retry: { attempts: 0 } }, RangeError, /`options.retry.attempts` to be a positive integer/],
    [{ transfer: [] }, TypeError, /Unknown option `options.transfer`/],
  ])('refuses createTask options %j', async (options, ErrorClass, message) => {
    const error: unknown = await manager.createTask('bad', echo, options as never).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ErrorClass);
    expect((error as Error).message).toMatch(message);
  });

  it('refuses bad ids, priorities, states, events and callbacks', async () => {
    await expect(manager.createTask('', echo)).rejects.toThrow(/`name` to be a non-empty string/);
    await expect(manager.getTask(42 as never)).rejects.toThrow(/`id` to be a task id string, got `42` \(number\)/);
    await expect(manager.waitFor(undefined as never)).rejects.toThrow(TypeError);
    await expect(manager.cancelTask(null as never)).rejects.toThrow(/`id` to be a task id string, got `null`/);
    await expect(manager.setPriority('id', 1e9)).rejects.toThrow(
      /`priority` to be a multiple of 0.01 from -10000 to 10000 .*, got `1000000000` \(number\)/,
    );
    await expect(manager.listTasks('done' as never)).rejects.toThrow(/`state` to be one of 'pending'/);
    expect(() => manager.on('finished' as never, () => undefined)).toThrow(RangeError);
    expect(() => manager.on('completed', 'no' as never)).toThrow(/`listener` to be a function/);
    expect(() => manager.addEventCallback(undefined as never)).toThrow(/`callback` to be a function/);
    expect(() => packageTask('./relative.js')).toThrow(/`specifier` to be a package specifier/);
  });

  it('answers for unknown ids without throwing', async () => {
    expect(await manager.getTask('no-such-task')).toBeUndefined();
    expect(await manager.cancelTask('no-such-task')).toBe(false);
    expect(await manager.setPriority('no-such-task', 1)).toBe(false);
    await expect(manager.waitFor('no-such-task')).rejects.toMatchObject({ code: 'TASKLOOM_UNKNOWN_TASK' });
  });

  it('refuses createTask after stop', async () => {
    const stopped = new DistributedTaskManager({ redis: redis.url, queue: `stopped-${randomUUID()}`, logger: false, work: false });
    await stopped.stop();
    await expect(stopped.createTask('late', echo)).rejects.toBeInstanceOf(ManagerStoppedError);
    expect(stopped.stop()).toBe(stopped.stop());
  });
});

describe('priorities on BullMQ', () => {
  it('keeps the order of every priority it takes, and refuses what it cannot map', () => {
    const priorities = [MAX_PRIORITY, 100, 10, 1.5, 1.01, 1, 0.99, 0.01, 0, -0.01, -1, -2.5, -100, MIN_PRIORITY];
    const mapped = priorities.map((priority) => toBullPriority('priority', priority));
    for (let i = 1; i < mapped.length; i++) expect(mapped[i]!).toBeGreaterThan(mapped[i - 1]!);
    expect(Math.min(...mapped)).toBeGreaterThanOrEqual(1);
    expect(Math.max(...mapped)).toBeLessThanOrEqual(2 ** 21);
    expect(mapped.map((value) => fromBullPriority(value))).toEqual(priorities);
    expect(toBullPriority('priority', 0.1 + 0.2)).toBe(toBullPriority('priority', 0.3));
    expect(() => toBullPriority('priority', 0.125)).toThrow(RangeError);
  });
});

describe('errors', () => {
  it.each([
    [new RedisUnavailableError('redis://h:1', 'refused'), { redis: 'redis://h:1' }],
    [new MissingDependencyError('bullmq', 'taskloom/distributed', 'npm install bullmq ioredis'), { packageName: 'bullmq' }],
    [new ModuleUnavailableError('h:1', 'file:///m.js', 'no such file'), { host: 'h:1', module: 'file:///m.js' }],
  ])('keeps the class, code and data of %s across threads and processes', (error, fields) => {
    const revived = reviveError(JSON.parse(JSON.stringify(serializeError(error))) as ReturnType<typeof serializeError>);
    expect(revived).toBeInstanceOf(error.constructor);
    expect(revived).toBeInstanceOf(TaskloomError);
    expect(revived).toMatchObject({ name: error.name, message: error.message, code: (error as TaskloomError).code, ...fields });
  });

  it('says what to install when a dependency is missing', () => {
    expect(new MissingDependencyError('bullmq', 'taskloom/distributed', 'npm install bullmq ioredis').message).toBe(
      'taskloom/distributed needs the package bullmq, which is not installed: run `npm install bullmq ioredis`',
    );
  });
});
