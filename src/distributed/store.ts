/**
 * What taskloom keeps in Redis beside BullMQ's own keys, and the scripts that change it
 * atomically. BullMQ has no cancelled state and no counts that survive its retention, so:
 *
 * - a job's hash gets `tlCancel` when a cancel is accepted, `tlFinal` with the task's one
 *   final state once it is decided, and `tlErrors` / `tlFailure` for failed attempts;
 * - `<queue>:taskloom:stats` counts final states, each task once (`tlFinal` is set only once);
 * - `<queue>:taskloom:cancelled` keeps the hash of each pending task removed by a cancel, so
 *   that it can still be read, bounded like finished jobs;
 * - `<queue>:taskloom:cancel` is the pub/sub channel that carries a cancel to the process
 *   running the task.
 */
import type { Redis } from 'ioredis';
import type { TaskCounts } from '../shared/task.js';

/** BullMQ's key prefix (its default). */
const PREFIX = 'bull';

/** The final states a task can record. */
export type RecordedState = 'completed' | 'failed' | 'cancelled';

export interface QueueKeys {
  /** `bull:<queue>:`: a job's hash is this plus its id. */
  readonly jobPrefix: string;
  readonly stats: string;
  readonly cancelled: string;
  readonly cancelledOrder: string;
  readonly cancelChannel: string;
  readonly events: string;
}

export function queueKeys(queue: string): QueueKeys {
  const base = `${PREFIX}:${queue}:`;
  return {
    jobPrefix: base,
    stats: `${base}taskloom:stats`,
    cancelled: `${base}taskloom:cancelled`,
    cancelledOrder: `${base}taskloom:cancelled-order`,
    cancelChannel: `${base}taskloom:cancel`,
    events: `${base}events`,
  };
}

/**
 * Records how an attempt ended. KEYS: job hash, stats. ARGV: outcome, final ('1' or '0'),
 * the attempt's error message ('' for none), its failure as JSON ('' for none).
 * A cancel accepted earlier wins over the outcome. Returns the task's state: the one recorded
 * before (a task ends once), or the outcome as now recorded.
 */
const FINISH = `
if redis.call('EXISTS', KEYS[1]) == 0 then return ARGV[1] end
local recorded = redis.call('HGET', KEYS[1], 'tlFinal')
if recorded then return recorded end
local state = ARGV[1]
local final = ARGV[2] == '1'
if redis.call('HEXISTS', KEYS[1], 'tlCancel') == 1 then
  state = 'cancelled'
  final = true
end
if ARGV[1] == 'failed' and ARGV[3] ~= '' then
  local errors = cjson.decode(redis.call('HGET', KEYS[1], 'tlErrors') or '[]')
  errors[#errors + 1] = ARGV[3]
  redis.call('HSET', KEYS[1], 'tlErrors', cjson.encode(errors))
  if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 'tlFailure', ARGV[4]) end
end
if final then
  redis.call('HSET', KEYS[1], 'tlFinal', state)
  redis.call('HINCRBY', KEYS[2], state, 1)
end
return state
`;

/**
 * Accepts a cancel. KEYS: job hash, stats, cancelled hash, cancelled order. ARGV: now, id, how
 * many cancelled records to keep (-1: all). Returns 'unknown', 'final' (already ended),
 * 'again' (already cancelled), 'running' (its process must be told), or 'pending': then the
 * task is recorded as cancelled, and the caller removes the job.
 */
const CANCEL = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 'unknown' end
if redis.call('HEXISTS', KEYS[1], 'tlFinal') == 1 or redis.call('HEXISTS', KEYS[1], 'finishedOn') == 1 then return 'final' end
if redis.call('HEXISTS', KEYS[1], 'tlCancel') == 1 then return 'again' end
redis.call('HSET', KEYS[1], 'tlCancel', ARGV[1])
if redis.call('EXISTS', KEYS[1] .. ':lock') == 1 then return 'running' end
redis.call('HSET', KEYS[1], 'tlFinal', 'cancelled')
redis.call('HINCRBY', KEYS[2], 'cancelled', 1)
local fields = redis.call('HGETALL', KEYS[1])
local record = {}
for i = 1, #fields, 2 do
  if fields[i] ~= 'stacktrace' then record[fields[i]] = fields[i + 1] end
end
redis.call('HSET', KEYS[3], ARGV[2], cjson.encode(record))
redis.call('ZADD', KEYS[4], ARGV[1], ARGV[2])
local keep = tonumber(ARGV[3])
if keep >= 0 then
  local excess = redis.call('ZCARD', KEYS[4]) - keep
  if excess > 0 then
    local old = redis.call('ZRANGE', KEYS[4], 0, excess - 1)
    redis.call('ZREMRANGEBYRANK', KEYS[4], 0, excess - 1)
    redis.call('HDEL', KEYS[3], unpack(old))
  end
end
return 'pending'
`;

export type CancelAnswer = 'unknown' | 'final' | 'again' | 'running' | 'pending';

/** BullMQ's states, by the taskloom state they count as. */
export const PENDING_TYPES = ['waiting', 'prioritized', 'delayed', 'waiting-children'] as const;

/** Reads and writes taskloom's records of one queue, on a client of our own. */
export class QueueStore {
  readonly keys: QueueKeys;
  readonly #client: Redis;

  constructor(client: Redis, queue: string) {
    this.#client = client;
    this.keys = queueKeys(queue);
  }

  jobKey(id: string): string {
    return this.keys.jobPrefix + id;
  }

  async finish(id: string, outcome: RecordedState, final: boolean, error = '', failure = ''): Promise<RecordedState> {
    const state = (await this.#client.eval(
      FINISH,
      2,
      this.jobKey(id),
      this.keys.stats,
      outcome,
      final ? '1' : '0',
      error,
      failure,
    )) as string;
    return state as RecordedState;
  }

  async cancel(id: string, keep: number): Promise<CancelAnswer> {
    const { keys } = this;
    const keepArg = Number.isFinite(keep) ? String(keep) : '-1';
    const answer = await this.#client.eval(
      CANCEL,
      4,
      this.jobKey(id),
      keys.stats,
      keys.cancelled,
      keys.cancelledOrder,
      Date.now(),
      id,
      keepArg,
    );
    return answer as CancelAnswer;
  }

  /** Tells every process of the queue that `id` is cancelled: the one running it aborts it. */
  async publishCancel(id: string): Promise<void> {
    await this.#client.publish(this.keys.cancelChannel, id);
  }

  /** A job's hash, or undefined when BullMQ has no such job. */
  async jobHash(id: string): Promise<Record<string, string> | undefined> {
    const hash = await this.#client.hgetall(this.jobKey(id));
    return Object.keys(hash).length === 0 ? undefined : hash;
  }

  /** Many jobs' hashes at once, in one round trip. */
  async jobHashes(ids: readonly string[]): Promise<(Record<string, string> | undefined)[]> {
    if (ids.length === 0) return [];
    const pipeline = this.#client.pipeline();
    for (const id of ids) pipeline.hgetall(this.jobKey(id));
    const replies = (await pipeline.exec()) ?? [];
    return replies.map(([error, hash]) => {
      if (error !== null) throw error;
      const fields = hash as Record<string, string>;
      return Object.keys(fields).length === 0 ? undefined : fields;
    });
  }

  /** The hash a pending task had when a cancel removed it, or undefined. */
  async cancelledHash(id: string): Promise<Record<string, string> | undefined> {
    const json = await this.#client.hget(this.keys.cancelled, id);
    return json === null ? undefined : (JSON.parse(json) as Record<string, string>);
  }

  async cancelledHashes(): Promise<Map<string, Record<string, string>>> {
    const all = await this.#client.hgetall(this.keys.cancelled);
    return new Map(Object.entries(all).map(([id, json]) => [id, JSON.parse(json) as Record<string, string>]));
  }

  /** The final counts: completed, failed and cancelled since the queue began. */
  async finalCounts(): Promise<Pick<TaskCounts, RecordedState>> {
    const counts = await this.#client.hgetall(this.keys.stats);
    return {
      completed: Number(counts['completed'] ?? 0),
      failed: Number(counts['failed'] ?? 0),
      cancelled: Number(counts['cancelled'] ?? 0),
    };
  }

  /** The id of the last event in the queue's event stream, or '0-0': where to start reading. */
  async lastEventId(): Promise<string> {
    const last = await this.#client.xrevrange(this.keys.events, '+', '-', 'COUNT', 1);
    return last[0]?.[0] ?? '0-0';
  }
}
