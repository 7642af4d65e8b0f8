/** Retry policies: what callers may pass, how it is checked, and the delay before each retry. */
import { checkBoolean, checkNonNegativeNumber, checkOptions, checkPositiveInteger, received } from './validate.js';

export interface RetryOptions {
  /**
   * The total number of tries, the first included (as in BullMQ): 1 means no retry.
   * @default 1
   */
  attempts?: number;
  /**
   * How the delay grows: 'fixed' waits `delayMs` each time; 'exponential' waits
   * `delayMs * 2 ** (retry - 1)`, capped at `maxDelayMs`.
   * @default 'fixed'
   */
  backoff?: 'fixed' | 'exponential';
  /**
   * The delay before the first retry, in milliseconds.
   * @default 0
   */
  delayMs?: number;
  /**
   * The longest delay, in milliseconds.
   * @default Infinity
   */
  maxDelayMs?: number;
  /**
   * A fraction from 0 to 1: each delay is drawn at random between `delay * (1 - jitter)` and
   * `delay`, so that retries of many tasks do not arrive together.
   * @default 0
   */
  jitter?: number;
  /**
   * Retry a task that timed out too. A cancelled task is never retried.
   * @default false
   */
  retryOnTimeout?: boolean;
}

export type RetryPolicy = Readonly<Required<RetryOptions>>;

export const NO_RETRY: RetryPolicy = Object.freeze({
  attempts: 1,
  backoff: 'fixed',
  delayMs: 0,
  maxDelayMs: Infinity,
  jitter: 0,
  retryOnTimeout: false,
});

const KNOWN = ['attempts', 'backoff', 'delayMs', 'maxDelayMs', 'jitter', 'retryOnTimeout'] as const;

/** Checks `options` (named `name` in errors) and fills it in over `base`. */
export function resolveRetry(name: string, options: RetryOptions | undefined, base: RetryPolicy = NO_RETRY): RetryPolicy {
  if (options === undefined) return base;
  const given = checkOptions(name, options, KNOWN);
  const policy: Required<RetryOptions> = { ...base };
  for (const key of KNOWN) {
    if (given[key] !== undefined) (policy as Record<string, unknown>)[key] = given[key];
  }
  checkPositiveInteger(`${name}.attempts`, policy.attempts);
  if (policy.backoff !== 'fixed' && policy.backoff !== 'exponential') {
    throw new TypeError(`Expected \`${name}.backoff\` to be 'fixed' or 'exponential', ${received(policy.backoff)}`);
  }
  checkNonNegativeNumber(`${name}.delayMs`, policy.delayMs);
  if (policy.maxDelayMs !== Infinity) checkNonNegativeNumber(`${name}.maxDelayMs`, policy.maxDelayMs);
  checkNonNegativeNumber(`${name}.jitter`, policy.jitter);
  if (policy.jitter > 1) throw new RangeError(`Expected \`${name}.jitter\` to be between 0 and 1, ${received(policy.jitter)}`);
  checkBoolean(`${name}.retryOnTimeout`, policy.retryOnTimeout);
  return Object.freeze(policy);
}

/** The delay before retry number `retry` (1 for the first retry). */
export function retryDelay(policy: RetryPolicy, retry: number, random: () => number = Math.random): number {
  const grown = policy.backoff === 'exponential' ? policy.delayMs * 2 ** (retry - 1) : policy.delayMs;
  const capped = Math.min(grown, policy.maxDelayMs);
  return capped * (1 - policy.jitter * random());
}
