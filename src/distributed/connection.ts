/**
 * Loading BullMQ and ioredis, which only `taskloom/distributed` needs (they are optional peer
 * dependencies), and the first contact with Redis: refused, unknown or silent, it fails within
 * `connectTimeoutMs` with a RedisUnavailableError, never a hang.
 */
import type * as BullMQ from 'bullmq';
import type * as IORedis from 'ioredis';
import type { Redis, RedisOptions } from 'ioredis';
import { errorMessage, MissingDependencyError, RedisUnavailableError } from '../shared/errors.js';

export type BullMQModule = typeof BullMQ;

export interface Libraries {
  readonly bullmq: BullMQModule;
  readonly Redis: typeof IORedis.Redis;
}

const FEATURE = 'taskloom/distributed';
const INSTALL = 'npm install bullmq ioredis';

/** Imports bullmq and ioredis, or says what to install. */
export async function loadLibraries(): Promise<Libraries> {
  const [bullmq, ioredis] = await Promise.all([importPackage<BullMQModule>('bullmq'), importPackage<typeof IORedis>('ioredis')]);
  return { bullmq, Redis: ioredis.Redis };
}

async function importPackage<T>(name: string): Promise<T> {
  try {
    return (await import(name)) as T;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException | null)?.code;
    if (code === 'ERR_MODULE_NOT_FOUND' && errorMessage(error).includes(`'${name}'`)) {
      throw new MissingDependencyError(name, FEATURE, INSTALL, { cause: error });
    }
    throw error;
  }
}

/** The options every connection of the queue uses: BullMQ needs commands to wait, not fail, while Redis is away. */
export function connectionOptions(redis: RedisOptions): RedisOptions {
  return { ...redis, maxRetriesPerRequest: null };
}

/** The same, typed as BullMQ takes them (its own declaration of ioredis's options). */
export function bullConnection(redis: RedisOptions): BullMQ.ConnectionOptions {
  return connectionOptions(redis) as BullMQ.ConnectionOptions;
}

/** How long a closing connection of our own client may take before it is destroyed. */
const CLOSE_TIMEOUT_MS = 200;

/**
 * Connects a client of our own and checks that Redis answers, within `timeoutMs`. Once
 * connected the client reconnects by itself whenever Redis goes away.
 */
export async function connect(Redis: Libraries['Redis'], redis: RedisOptions, label: string, timeoutMs: number): Promise<Redis> {
  let isStarting = true;
  const client = new Redis({
    ...connectionOptions(redis),
    lazyConnect: true,
    connectTimeout: timeoutMs,
    // While starting, one failed attempt is the answer; once started, retry forever, a little slower each time.
    retryStrategy: (times) => (isStarting ? null : Math.min(times * 100, 2000)),
    // How long a connection being closed may take to close before it is destroyed: ioredis waits
    // 2 s, with a timer that keeps a process alive that long, when a server is slow to answer the close.
    disconnectTimeout: CLOSE_TIMEOUT_MS,
  });
  // ioredis reports every failed reconnection as an 'error' event; the commands wait for the next one.
  client.on('error', () => undefined);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([client.connect().then(() => client.ping()), timeout]);
    isStarting = false;
    return client;
  } catch (error) {
    // A refused connection has ended already: ioredis would set its close timer again, and the
    // socket, closed already, would never clear it.
    if (client.status !== 'end') client.disconnect();
    // Not chained as the cause: its message, the whole of what it says (ioredis's "Connection is
    // closed." or the timeout above), is already the error's own, and pino's err serializer
    // appends a cause's message to it, which logged it twice.
    throw new RedisUnavailableError(label, errorMessage(error));
  } finally {
    clearTimeout(timer);
  }
}
