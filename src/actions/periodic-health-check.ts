/**
 * periodicHealthCheck: GETs a URL at a fixed interval and records how each check went.
 */
import { request, type Dispatcher } from 'undici';
import { HttpTimeoutError, IncompleteBodyError } from './errors.js';
import { errorMessage } from '../shared/errors.js';
import { checkNonNegativeNumber, checkPositiveInteger, checkTimerMs, received, withDefaults } from '../shared/validate.js';
import type { TaskContext } from '../shared/context.js';
import { LinkedAbort, sleepUntil } from './abortable.js';
import { checkHttpUrl, contentLength, createRunAgent, describeStatus, isSuccess, toRequestError, type RunAgent } from './http.js';

export interface PeriodicHealthCheckOptions {
  /**
   * The address to check: an absolute http: or https: URL. Redirects are not followed, so a
   * 3xx answer counts as unhealthy unless `expectStatus` lists it.
   * @example 'https://api.example.com/health'
   */
  url: string | URL;
  /**
   * The time between the starts of two checks, in seconds. The first check runs at once; a
   * check that takes longer than the interval delays the next one.
   * @default 60
   * @example 30
   */
  intervalSeconds?: number;
  /**
   * How many checks to run.
   * @default 10
   * @example 20
   */
  maxChecks?: number;
  /**
   * How long one check may take, from sending the request to the end of the answer, in
   * milliseconds. A check that takes longer is recorded as failed.
   * @default 10000
   * @example 2000
   */
  timeoutMs?: number;
  /**
   * The status, or statuses, that count as healthy.
   * @default any 2xx status
   * @example [200, 204]
   */
  expectStatus?: number | readonly number[];
}

/** How one check went. */
export interface HealthCheckRecord {
  /** When the check started, as an ISO 8601 string. */
  at: string;
  /** Whether the whole answer came in time, with an expected status. */
  ok: boolean;
  /** The answer's status, or null when no whole answer came (refused, timed out, cut short). */
  status: number | null;
  /** From sending the request to the end of the answer, in milliseconds; null without a whole answer. */
  latencyMs: number | null;
  /** What went wrong, when `ok` is false. */
  error?: string;
}

export interface PeriodicHealthCheckResult {
  /** How many checks ran. */
  checks: number;
  /** How many checks were ok. */
  healthy: number;
  /** How many checks failed. */
  unhealthy: number;
  /** healthy / checks × 100, rounded to two decimals. */
  uptimePercent: number;
  /** The mean latency of the checks that got an answer, whatever its status; null when none did. */
  avgLatencyMs: number | null;
  /** Every check, in order. */
  results: HealthCheckRecord[];
}

const DEFAULT_OPTIONS = { intervalSeconds: 60, maxChecks: 10, timeoutMs: 10_000 } as const;
const KNOWN_OPTIONS = ['url', 'intervalSeconds', 'maxChecks', 'timeoutMs', 'expectStatus'] as const;

/**
 * Runs `maxChecks` GET requests against `url`, `intervalSeconds` apart, the first at once.
 * A failed check (refused, timed out, cut short, unexpected status) is recorded, never fatal.
 * Progress is the share of checks done, and each check is logged: at info when ok, at warn
 * otherwise.
 *
 * @example
 * // In a handler of your own:
 * const { uptimePercent } = await periodicHealthCheck(task, { url: 'https://api.example.com/health', intervalSeconds: 30, maxChecks: 20 });
 * @example
 * // As a ready worker handler:
 * manager.createTask('Health check', actions.periodicHealthCheck, { args: { url: 'https://api.example.com/health', intervalSeconds: 30 } });
 */
export async function periodicHealthCheck(task: TaskContext, options: PeriodicHealthCheckOptions): Promise<PeriodicHealthCheckResult> {
  const merged = withDefaults('options', options, KNOWN_OPTIONS, DEFAULT_OPTIONS);
  const url = checkHttpUrl('options.url', merged.url);
  checkNonNegativeNumber('options.intervalSeconds', merged.intervalSeconds);
  checkPositiveInteger('options.maxChecks', merged.maxChecks);
  checkTimerMs('options.timeoutMs', merged.timeoutMs, 'positive');
  const isExpected = expectedStatuses(merged.expectStatus);
  task.signal.throwIfAborted();

  const { intervalSeconds, maxChecks, timeoutMs } = merged;
  const agent = createRunAgent();
  const results: HealthCheckRecord[] = [];
  let lastStart = -Infinity;
  try {
    for (let index = 0; index < maxChecks; index++) {
      await sleepUntil(lastStart + intervalSeconds * 1000, task.signal);
      lastStart = performance.now();
      const record = await checkOnce(task.signal, agent, url, timeoutMs, isExpected);
      results.push(record);
      task.progress = ((index + 1) / maxChecks) * 100;
      logCheck(task, url.href, index + 1, maxChecks, record);
    }
  } finally {
    await agent.destroy();
  }
  return summarise(results);
}

async function checkOnce(
  signal: AbortSignal,
  agent: RunAgent,
  url: URL,
  timeoutMs: number,
  isExpected: (status: number) => boolean,
): Promise<HealthCheckRecord> {
  const at = new Date().toISOString();
  const started = performance.now();
  const link = new LinkedAbort(signal);
  link.watch(timeoutMs, () => new HttpTimeoutError(url.href, timeoutMs, 'no complete answer within'));
  try {
    const response = await request(url, { method: 'GET', signal: link.signal, dispatcher: agent.dispatcher });
    await readToEnd(url.href, response);
    link.signal.throwIfAborted();
    const status = response.statusCode;
    const latencyMs = roundTo(performance.now() - started, 1);
    if (isExpected(status)) return { at, ok: true, status, latencyMs };
    return { at, ok: false, status, latencyMs, error: `unexpected status ${describeStatus(status, response.statusText)}` };
  } catch (error) {
    if (link.isParentAborted) throw signal.reason;
    const failure: unknown = link.signal.aborted ? link.signal.reason : toRequestError(url.href, error);
    return { at, ok: false, status: null, latencyMs: null, error: errorMessage(failure) };
  } finally {
    link.dispose();
  }
}

/**
 * Reads a body to its end, keeping none of it: an answer counts only once it has all arrived,
 * so a reset, or an end before the content-length, throws. (undici's `dump()` would swallow
 * both, and drop any body over 128 KiB unread.)
 */
async function readToEnd(href: string, { headers, body }: Dispatcher.ResponseData): Promise<void> {
  const expected = contentLength(headers);
  let bytes = 0;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) bytes += chunk.length;
  } catch (error) {
    if (expected !== undefined && bytes < expected) throw new IncompleteBodyError(href, bytes, expected, { cause: error });
    throw error;
  }
  if (expected !== undefined && bytes < expected) throw new IncompleteBodyError(href, bytes, expected);
}

function logCheck(task: TaskContext, href: string, number: number, total: number, record: HealthCheckRecord): void {
  const fields = { url: href, check: number, of: total, ...record };
  if (record.ok) task.log.info(fields, `health check ${number}/${total}: ok, ${record.status} in ${record.latencyMs} ms`);
  else task.log.warn(fields, `health check ${number}/${total} failed: ${record.error}`);
}

function summarise(results: HealthCheckRecord[]): PeriodicHealthCheckResult {
  const healthy = results.filter((record) => record.ok).length;
  const latencies = results.flatMap((record) => (record.latencyMs === null ? [] : [record.latencyMs]));
  return {
    checks: results.length,
    healthy,
    unhealthy: results.length - healthy,
    uptimePercent: results.length === 0 ? 0 : roundTo((healthy / results.length) * 100, 2),
    avgLatencyMs: latencies.length === 0 ? null : roundTo(latencies.reduce((sum, value) => sum + value, 0) / latencies.length, 1),
    results,
  };
}

function expectedStatuses(value: unknown): (status: number) => boolean {
  if (value === undefined) return isSuccess;
  const list = Array.isArray(value) ? (value as unknown[]) : [value];
  if (list.length === 0) throw new RangeError('Expected `options.expectStatus` to list at least one status, got `[array of 0]` (array)');
  list.forEach((status, index) => checkStatus(Array.isArray(value) ? `options.expectStatus[${index}]` : 'options.expectStatus', status));
  const statuses = new Set(list as number[]);
  return (status) => statuses.has(status);
}

function checkStatus(name: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new TypeError(`Expected \`${name}\` to be an HTTP status code (an integer from 100 to 599), ${received(value)}`);
  }
  if (value < 100 || value > 599) {
    throw new RangeError(`Expected \`${name}\` to be an HTTP status code (an integer from 100 to 599), ${received(value)}`);
  }
}

function roundTo(value: number, decimals: number): number {
  const factor = 10 ** decimals;
  return Math.round(value * factor) / factor;
}
