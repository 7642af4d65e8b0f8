/** DistributedTaskManager's options: what callers may pass, the defaults, and the checked result. */
import { hostname } from 'node:os';
import type { RedisOptions } from 'ioredis';
import { resolveOptions, type ResolvedOptions, type TaskManagerOptions } from '../main/options.js';
import {
  checkBoolean,
  checkNonEmptyString,
  checkObject,
  checkOptions,
  checkPositiveInteger,
  checkTimerMs,
  received,
} from '../shared/validate.js';

/** The TaskManager options that a distributed manager takes too, with the same meaning. */
type SharedOptions = Pick<
  TaskManagerOptions,
  'maxConcurrentTasks' | 'logger' | 'cancelGraceMs' | 'workerPreload' | 'timeoutMs' | 'retry' | 'resourceLimits' | 'maxFinishedTasks'
>;

export interface DistributedTaskManagerOptions extends SharedOptions {
  /**
   * Where Redis is: a `redis://` (or `rediss://`) URL, or ioredis connection options. Every
   * process that names the same Redis and the same `queue` shares one queue.
   * @example 'redis://127.0.0.1:6379'
   */
  redis: string | RedisOptions;
  /**
   * The queue's name. Every manager that names it, on any host, shares its tasks, events and counts.
   * @example 'thumbnails'
   */
  queue: string;
  /**
   * Run tasks in this process, on its own worker pool of `maxConcurrentTasks` threads. With
   * `false` the manager only submits and watches: it runs nothing and starts no thread.
   * @default true
   */
  work?: boolean;
  /**
   * How long a start may take to reach Redis before every method rejects with a
   * `RedisUnavailableError`, in milliseconds.
   * @default 5000
   */
  connectTimeoutMs?: number;
  /**
   * How often this process looks for tasks whose process died (SIGKILL, a lost host) so that
   * another process runs them again, in milliseconds (BullMQ's `stalledInterval`).
   * @default 30000
   */
  stalledIntervalMs?: number;
  /**
   * How long a running task's lock lasts without renewal, in milliseconds (BullMQ's
   * `lockDuration`; it is renewed at half of it). A process silent for longer loses its tasks
   * to the stalled check: keep it well above any pause of the process's event loop.
   * @default 30000
   */
  lockDurationMs?: number;
  /**
   * How many times a task may be recovered from a dead process before it fails instead
   * (BullMQ's `maxStalledCount`).
   * @default 1
   */
  maxStalledCount?: number;
}

/** The options after checking, with every default filled in. */
export interface ResolvedDistributedOptions {
  readonly redis: RedisOptions;
  /** The Redis address without its password, for messages. */
  readonly redisLabel: string;
  readonly queue: string;
  readonly work: boolean;
  readonly connectTimeoutMs: number;
  readonly stalledIntervalMs: number;
  readonly lockDurationMs: number;
  readonly maxStalledCount: number;
  /** The TaskManager options, checked by TaskManager's own rules. */
  readonly local: ResolvedOptions;
  readonly localOptions: TaskManagerOptions;
  /** This process: `hostname:pid`. */
  readonly host: string;
}

export const DISTRIBUTED_DEFAULTS = {
  work: true,
  connectTimeoutMs: 5000,
  stalledIntervalMs: 30_000,
  lockDurationMs: 30_000,
  maxStalledCount: 1,
} as const;

const OWN_OPTIONS = ['redis', 'queue', 'work', 'connectTimeoutMs', 'stalledIntervalMs', 'lockDurationMs', 'maxStalledCount'] as const;
const SHARED_OPTIONS = [
  'maxConcurrentTasks',
  'logger',
  'cancelGraceMs',
  'workerPreload',
  'timeoutMs',
  'retry',
  'resourceLimits',
  'maxFinishedTasks',
] as const;

export function resolveDistributedOptions(options: DistributedTaskManagerOptions): ResolvedDistributedOptions {
  const given = checkOptions('options', options, [...OWN_OPTIONS, ...SHARED_OPTIONS]);
  const { redis, queue, work, connectTimeoutMs, stalledIntervalMs, lockDurationMs, maxStalledCount, ...shared } = given;
  checkNonEmptyString('options.queue', queue);
  if (queue.includes(':')) throw new RangeError(`Expected \`options.queue\` to be a name without ':', ${received(queue)}`);
  const connection = resolveRedis(redis);
  const resolved = {
    ...DISTRIBUTED_DEFAULTS,
    ...withoutUndefined({ work, connectTimeoutMs, stalledIntervalMs, lockDurationMs, maxStalledCount }),
  };
  checkBoolean('options.work', resolved.work);
  for (const key of ['connectTimeoutMs', 'stalledIntervalMs', 'lockDurationMs'] as const) {
    checkPositiveInteger(`options.${key}`, resolved[key]);
    checkTimerMs(`options.${key}`, resolved[key]);
  }
  checkPositiveInteger('options.maxStalledCount', resolved.maxStalledCount);
  const localOptions = withoutUndefined(shared) as TaskManagerOptions;
  return {
    ...resolved,
    ...connection,
    queue,
    local: resolveOptions(localOptions),
    localOptions,
    host: `${hostname()}:${process.pid}`,
  };
}

/** A redis:// URL or ioredis options, as ioredis options and a label without the password. */
function resolveRedis(redis: unknown): { redis: RedisOptions; redisLabel: string } {
  if (typeof redis === 'string') {
    let url: URL;
    try {
      url = new URL(redis);
    } catch {
      throw new TypeError(`Expected \`options.redis\` to be a redis:// URL or ioredis options, ${received(redis)}`);
    }
    if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
      throw new TypeError(`Expected \`options.redis\` to be a redis:// or rediss:// URL, got a ${url.protocol} URL`);
    }
    const db = url.pathname.length > 1 ? Number(url.pathname.slice(1)) : 0;
    if (!Number.isInteger(db) || db < 0)
      throw new RangeError(`Expected the database in \`options.redis\` to be an integer >= 0, got ${url.pathname}`);
    const options: RedisOptions = {
      host: url.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1',
      port: url.port === '' ? 6379 : Number(url.port),
      db,
      ...(url.username === '' ? {} : { username: decodeURIComponent(url.username) }),
      ...(url.password === '' ? {} : { password: decodeURIComponent(url.password) }),
      ...(url.protocol === 'rediss:' ? { tls: {} } : {}),
    };
    return { redis: options, redisLabel: `${url.protocol}//${url.host}${url.pathname === '/' ? '' : url.pathname}` };
  }
  checkObject('options.redis', redis);
  const options = redis as RedisOptions;
  const label = options.path ?? `${options.host ?? '127.0.0.1'}:${options.port ?? 6379}`;
  return { redis: { ...options }, redisLabel: `redis://${label}` };
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
