/** Retry policies: what callers may pass, how it is checked, and the delay before each retry. */
import type { RetryOptions } from '../shared/task.js';
import {
  checkBoolean,
  checkNonNegativeNumber,
  checkOneOf,
  checkPositiveInteger,
  checkTimerMs,
  MAX_TIMER_MS,
  received,
  withDefaults,
} from '../shared/validate.js';

export type RetryPolicy = Readonly<Required<RetryOptions>>;

export const NO_RETRY: RetryPolicy = Object.freeze({
  attempts: 1,
  backoff: 'fixed',
  delayMs: 0,
  maxDelayMs: Infinity,
  jitter: 0,
  retryOnTimeout: false,
});

const BACKOFFS = ['fixed', 'exponential'] as const;

const KNOWN = ['attempts', 'backoff', 'delayMs', 'maxDelayMs', 'jitter', 'retryOnTimeout'] as const;

/** Checks `options` (named `name` in errors) and fills it in over `base`. */
export function resolveRetry(name: string, options: RetryOptions | undefined, base: RetryPolicy = NO_RETRY): RetryPolicy {
  if (options === undefined) return base;
  const policy = withDefaults(name, options, KNOWN, base);
  checkPositiveInteger(`${name}.attempts`, policy.attempts);
  checkOneOf(`${name}.backoff`, policy.backoff, BACKOFFS);
  checkTimerMs(`${name}.delayMs`, policy.delayMs);
  if (policy.maxDelayMs !== Infinity) checkTimerMs(`${name}.maxDelayMs`, policy.maxDelayMs);
  checkNonNegativeNumber(`${name}.jitter`, policy.jitter);
  if (policy.jitter > 1) throw new RangeError(`Expected \`${name}.jitter\` to be between 0 and 1, ${received(policy.jitter)}`);
  checkBoolean(`${name}.retryOnTimeout`, policy.retryOnTimeout);
  return Object.freeze(policy);
}

/**
 * The delay before retry number `retry` (1 for the first retry). An exponential one stops growing
 * at `maxDelayMs`, and at the longest a timer holds: past it, a timer would fire at once.
 */
export function retryDelay(policy: RetryPolicy, retry: number, random: () => number = Math.random): number {
  const grown = policy.backoff === 'exponential' ? policy.delayMs * 2 ** (retry - 1) : policy.delayMs;
  const capped = Math.min(grown, policy.maxDelayMs, MAX_TIMER_MS);
  return capped * (1 - policy.jitter * random());
}
