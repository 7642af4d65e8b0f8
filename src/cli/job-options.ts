/**
 * A job's task options in a job file: `timeoutMs` and `retry`, with the shapes `createTask`
 * takes. Each problem is reported against its field, as for the other job fields, so that a
 * bad value stops the run before anything starts.
 */
import { resolveRetry } from '../main/retry.js';
import { errorMessage } from '../shared/errors.js';
import type { RetryOptions } from '../shared/task.js';
import { MAX_TIMER_MS, received } from '../shared/validate.js';

/** Reports a problem with a field of the job: `field` as in `retry.attempts`. */
export type Report = (field: string, detail: string) => void;

const RETRY_FIELDS = [
  'attempts',
  'backoff',
  'delayMs',
  'maxDelayMs',
  'jitter',
  'retryOnTimeout',
] as const satisfies readonly (keyof RetryOptions)[];

/** The job's `timeoutMs`: a number of milliseconds > 0, or undefined when the job has none. */
export function checkTimeoutMs(job: Record<string, unknown>, report: Report): number | undefined {
  if (!('timeoutMs' in job)) return undefined;
  const value = job['timeoutMs'];
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    report('timeoutMs', `expected a number of milliseconds > 0, ${received(value)}`);
    return undefined;
  }
  if (value > MAX_TIMER_MS) {
    report('timeoutMs', `expected at most ${MAX_TIMER_MS} ms (about 24.8 days), ${received(value)}`);
    return undefined;
  }
  return value;
}

/**
 * The job's `retry`: `{ attempts, backoff, delayMs, maxDelayMs, jitter, retryOnTimeout }`,
 * every field optional, or undefined when the job has none.
 */
export function checkRetry(job: Record<string, unknown>, report: Report): RetryOptions | undefined {
  if (!('retry' in job)) return undefined;
  const retry = job['retry'];
  if (typeof retry !== 'object' || retry === null || Array.isArray(retry)) {
    report('retry', `expected an object such as { "attempts": 3 }, ${received(retry)}`);
    return undefined;
  }
  const fields = retry as Record<string, unknown>;
  const problems = [...unknownFields(fields), ...retryProblems(fields)];
  for (const [field, detail] of problems) report(`retry.${field}`, detail);
  if (problems.length > 0) return undefined;
  try {
    // The manager's own check, so that nothing it would refuse gets past the job file.
    resolveRetry('retry', fields);
  } catch (error) {
    report('retry', errorMessage(error));
    return undefined;
  }
  return fields;
}

type Problem = readonly [field: string, detail: string];

function unknownFields(fields: Record<string, unknown>): Problem[] {
  const known: readonly string[] = RETRY_FIELDS;
  const expected = `unknown field; expected one of ${RETRY_FIELDS.map((field) => JSON.stringify(field)).join(', ')}`;
  return Object.keys(fields)
    .filter((key) => !known.includes(key))
    .map((key) => [key, expected]);
}

/** What is wrong with the retry fields given, as resolveRetry checks them. */
function retryProblems(fields: Record<string, unknown>): Problem[] {
  const { attempts, backoff, delayMs, maxDelayMs, jitter, retryOnTimeout } = fields;
  const problems: Problem[] = [];
  const isNumber = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);
  if (attempts !== undefined && !(isNumber(attempts) && Number.isInteger(attempts) && attempts >= 1)) {
    problems.push(['attempts', `expected a positive integer, ${received(attempts)}`]);
  }
  if (backoff !== undefined && backoff !== 'fixed' && backoff !== 'exponential') {
    problems.push(['backoff', `expected "fixed" or "exponential", ${received(backoff)}`]);
  }
  for (const [field, value] of Object.entries({ delayMs, maxDelayMs })) {
    if (value !== undefined && !(isNumber(value) && value >= 0)) {
      problems.push([field, `expected a finite number >= 0, ${received(value)}`]);
    }
  }
  if (jitter !== undefined && !(isNumber(jitter) && jitter >= 0 && jitter <= 1)) {
    problems.push(['jitter', `expected a number from 0 to 1, ${received(jitter)}`]);
  }
  if (retryOnTimeout !== undefined && typeof retryOnTimeout !== 'boolean') {
    problems.push(['retryOnTimeout', `expected true or false, ${received(retryOnTimeout)}`]);
  }
  return problems;
}
