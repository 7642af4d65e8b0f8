/**
 * batchWebSearch: runs a list of queries, one after another, against a SearXNG-style JSON
 * search endpoint, honouring rate limits.
 */
import { errors, interceptors, type RetryHandler } from 'undici';
import { errorMessage } from '../shared/errors.js';
import { HttpStatusError, HttpTimeoutError, MissingSearchEndpointError } from './errors.js';
import { checkNonNegativeNumber, checkPositiveInteger, checkTimerMs, received, withDefaults } from '../shared/validate.js';
import type { TaskContext } from '../shared/context.js';
import { LinkedAbort, sleep, sleepUntil } from './abortable.js';
import { createRunAgent, headerValue, isSuccess, statusText, toRequestError } from './http.js';
import { getFollowingRedirects } from './redirects.js';
import { parseHits, readText, type SearchHit } from './search-response.js';

export type { SearchHit } from './search-response.js';

export interface BatchWebSearchOptions {
  /**
   * The queries to run, in order. Each is URL-encoded into the endpoint's `{query}`.
   * @example ['node worker threads', 'piscina vs tinypool']
   */
  queries: readonly string[];
  /**
   * The pause between the end of one query and the start of the next, in seconds.
   * @default 1.0
   * @example 2
   */
  delaySeconds?: number;
  /**
   * A URL template for a search API that answers SearXNG-style JSON: `{ results: [{ title,
   * url, content }] }`. `{query}` is replaced by the URL-encoded query.
   * @default process.env.TASKLOOM_SEARCH_URL
   * @example 'http://localhost:8888/search?q={query}&format=json'
   */
  endpoint?: string;
  /**
   * Keeps at most this many results per query.
   * @default undefined (all the results of the endpoint's first page)
   * @example 5
   */
  maxResults?: number;
  /**
   * How long one query's request may take as a whole, from sending it to the end of the
   * answer, redirects included, in milliseconds. A query that takes longer is recorded as
   * failed, and the batch goes on. The waits before retrying a 429 answer do not count; each
   * retry has the whole limit again.
   * @default 30000
   * @example 10_000
   */
  timeoutMs?: number;
}

/** How one query went. */
export interface SearchQueryResult {
  /** The query, as given. */
  query: string;
  /** Whether the endpoint answered with a usable result list. */
  ok: boolean;
  /** The results, in the endpoint's order; empty when `ok` is false. */
  results: SearchHit[];
  /** What went wrong, when `ok` is false. */
  error?: string;
}

/** One entry per query, in the order of `queries`. */
export type BatchWebSearchResult = SearchQueryResult[];

/** The environment variable that gives the endpoint when `options.endpoint` is not set. */
export const SEARCH_URL_VARIABLE = 'TASKLOOM_SEARCH_URL';

const DEFAULT_OPTIONS = { delaySeconds: 1, timeoutMs: 30_000 } as const;
const KNOWN_OPTIONS = ['queries', 'delaySeconds', 'endpoint', 'maxResults', 'timeoutMs'] as const;
const PLACEHOLDER = '{query}';
/**
 * undici's retry interceptor tries a query answered 429 again, up to 3 times, after its
 * Retry-After, cut to 60 s.
 */
const RETRY_POLICY = { statusCodes: [429], maxRetries: 3, maxTimeout: 60_000 } as const satisfies RetryHandler.RetryOptions;
const MAX_REDIRECTIONS = 5;

/**
 * Runs each query against a search endpoint, `delaySeconds` apart. A 429 answer is retried
 * after its Retry-After (up to 3 times); any other failure of one query, a query that takes
 * longer than `timeoutMs` included, is recorded in its entry and the batch goes on. Progress
 * is the share of queries done.
 *
 * @example
 * // In a handler of your own:
 * const entries = await batchWebSearch(task, { queries: ['python asyncio', 'task management'], delaySeconds: 2 });
 * @example
 * // As a ready worker handler:
 * manager.createTask('Batch search', actions.batchWebSearch, { args: { queries: ['python asyncio'], endpoint } });
 */
export async function batchWebSearch(task: TaskContext, options: BatchWebSearchOptions): Promise<BatchWebSearchResult> {
  const merged = withDefaults('options', options, KNOWN_OPTIONS, DEFAULT_OPTIONS);
  const queries = checkQueries(merged.queries);
  checkNonNegativeNumber('options.delaySeconds', merged.delaySeconds);
  if (merged.maxResults !== undefined) checkPositiveInteger('options.maxResults', merged.maxResults);
  checkTimerMs('options.timeoutMs', merged.timeoutMs, 'positive');
  const template = resolveEndpoint(merged.endpoint);
  task.signal.throwIfAborted();

  const { delaySeconds, maxResults, timeoutMs } = merged;
  const search = new Search(task, template, { delayMs: delaySeconds * 1000, maxResults, timeoutMs });
  const entries: SearchQueryResult[] = [];
  try {
    for (const [index, query] of queries.entries()) {
      if (index > 0) await sleepUntil(performance.now() + delaySeconds * 1000, task.signal);
      const entry = await search.run(query);
      entries.push(entry);
      task.progress = ((index + 1) / queries.length) * 100;
      const fields = { query, ok: entry.ok, results: entry.results.length, error: entry.error };
      if (entry.ok) task.log.info(fields, `search ${index + 1}/${queries.length}: ${entry.results.length} results`);
      else task.log.warn(fields, `search ${index + 1}/${queries.length} failed: ${entry.error}`);
    }
  } finally {
    await search.close();
  }
  if (queries.length === 0) task.progress = 100;
  return entries;
}

interface SearchSettings {
  readonly delayMs: number;
  readonly maxResults: number | undefined;
  readonly timeoutMs: number;
}

/** The query whose request is in flight: its name, and the signal that limits it. */
interface InFlight {
  readonly query: string;
  readonly link: LinkedAbort;
  /** (Re)starts the `timeoutMs` watchdog of the query's request. */
  readonly watch: () => void;
}

/** The queries of one batch and the agent they share, one query at a time. */
class Search {
  readonly #task: TaskContext;
  readonly #template: string;
  readonly #settings: SearchSettings;
  /** The wait before a retry when a 429 answer has no usable Retry-After; it doubles each time. */
  readonly #fallbackRetryMs: number;
  readonly #agent = createRunAgent([
    interceptors.retry({
      ...RETRY_POLICY,
      retry: (error, { state }, callback) => this.#retry(error, state.counter, callback),
      // The last 429 answer comes back as a response, to be reported like any other status.
      throwOnError: false,
    }),
  ]);
  #inFlight: InFlight | undefined;

  constructor(task: TaskContext, template: string, settings: SearchSettings) {
    this.#task = task;
    this.#template = template;
    this.#settings = settings;
    this.#fallbackRetryMs = Math.max(settings.delayMs, 1000);
  }

  async run(query: string): Promise<SearchQueryResult> {
    const url = fillTemplate(this.#template, query);
    const { timeoutMs, maxResults } = this.#settings;
    const link = new LinkedAbort(this.#task.signal);
    const watch = (): void => link.watch(timeoutMs, () => new HttpTimeoutError(url, timeoutMs, 'no complete answer within'));
    this.#inFlight = { query, link, watch };
    try {
      watch();
      const hits = await this.#fetch(url, link.signal);
      return { query, ok: true, results: maxResults === undefined ? hits : hits.slice(0, maxResults) };
    } catch (error) {
      if (link.isParentAborted) throw this.#task.signal.reason;
      const failure: unknown = link.signal.aborted ? link.signal.reason : toRequestError(url, error);
      return { query, ok: false, results: [], error: errorMessage(failure) };
    } finally {
      this.#inFlight = undefined;
      link.dispose();
    }
  }

  close(): Promise<void> {
    return this.#agent.destroy();
  }

  async #fetch(url: string, signal: AbortSignal): Promise<SearchHit[]> {
    const { response } = await getFollowingRedirects(new URL(url), {
      dispatcher: this.#agent.dispatcher,
      signal,
      maxRedirections: MAX_REDIRECTIONS,
      headers: { accept: 'application/json' },
      crossOriginHeaders: new Set(['accept']),
    });
    const status = response.statusCode;
    if (!isSuccess(status)) {
      await response.body.dump();
      const hint = status === 429 ? ` (gave up after ${RETRY_POLICY.maxRetries} retries)` : '';
      throw new HttpStatusError(url, status, statusText(status, response.statusText), hint);
    }
    return parseHits(await readText(response.body));
  }

  /**
   * undici's retry interceptor asks this whether, and when, to try again: after the
   * `counter`-th answer. Its own wait could not be cut short by a cancellation, so the wait is
   * done here, on the query's signal; the query's watchdog stops meanwhile.
   */
  #retry(error: Error, counter: number, callback: RetryHandler.OnRetryCallback): void {
    const inFlight = this.#inFlight;
    const statuses: readonly number[] = RETRY_POLICY.statusCodes;
    const isRateLimited = error instanceof errors.RequestRetryError && statuses.includes(error.statusCode);
    if (inFlight === undefined || !isRateLimited || counter > RETRY_POLICY.maxRetries) {
      callback(error);
      return;
    }
    const retryAfter = parseRetryAfter(headerValue(error.headers, 'retry-after'));
    const waitMs = retryAfter ?? Math.min(this.#fallbackRetryMs * 2 ** (counter - 1), RETRY_POLICY.maxTimeout);
    const { query, link, watch } = inFlight;
    this.#task.log.info(
      { query, status: error.statusCode, retryInMs: waitMs },
      `search for ${JSON.stringify(query)} was rate limited; retrying in ${waitMs} ms`,
    );
    link.unwatch();
    sleep(waitMs, link.signal).then(
      () => {
        watch();
        callback(null);
      },
      // Aborted: the abort has already ended the request, so undici waits for no answer.
      () => undefined,
    );
  }
}

function checkQueries(value: unknown): readonly string[] {
  if (!Array.isArray(value)) throw new TypeError(`Expected \`options.queries\` to be an array of strings, ${received(value)}`);
  value.forEach((query: unknown, index) => {
    if (typeof query !== 'string') {
      throw new TypeError(`Expected \`options.queries[${index}]\` to be a non-empty string, ${received(query)}`);
    }
    if (query.trim() === '') throw new RangeError(`Expected \`options.queries[${index}]\` to be a non-empty string, ${received(query)}`);
  });
  return value as readonly string[];
}

/** The endpoint template, from the option or the environment, checked. */
function resolveEndpoint(option: unknown): string {
  const fromEnv = process.env[SEARCH_URL_VARIABLE];
  const [name, template] =
    option !== undefined ? ['`options.endpoint`', option] : [`the ${SEARCH_URL_VARIABLE} environment variable`, fromEnv];
  if (template === undefined || template === '') throw new MissingSearchEndpointError();
  const expected = `Expected ${name} to be an http(s) URL template with ${PLACEHOLDER}, such as 'http://localhost:8888/search?q=${PLACEHOLDER}&format=json'`;
  if (typeof template !== 'string') throw new TypeError(`${expected}, ${received(template)}`);
  if (!template.includes(PLACEHOLDER)) throw new TypeError(`${expected}, ${received(template)}`);
  let url: URL;
  try {
    url = new URL(fillTemplate(template, 'test'));
  } catch {
    throw new TypeError(`${expected}, ${received(template)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError(`${expected}, ${received(template)}`);
  return template;
}

function fillTemplate(template: string, query: string): string {
  return template.replaceAll(PLACEHOLDER, encodeURIComponent(query));
}

/** Retry-After as a delay in milliseconds: delay-seconds or an HTTP date, capped; undefined when absent or unreadable. */
function parseRetryAfter(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  let ms: number;
  if (/^\d+(\.\d+)?$/.test(trimmed)) ms = Number(trimmed) * 1000;
  else {
    const date = Date.parse(trimmed);
    if (Number.isNaN(date)) return undefined;
    ms = date - Date.now();
  }
  return Math.min(Math.max(0, Math.ceil(ms)), RETRY_POLICY.maxTimeout);
}
