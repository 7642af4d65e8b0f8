/**
 * batchWebSearch: runs a list of queries, one after another, against a SearXNG-style JSON
 * search endpoint, honouring rate limits.
 */
import { request } from 'undici';
import { HttpStatusError, MissingSearchEndpointError } from './errors.js';
import { checkNonNegativeNumber, checkPositiveInteger, received } from '../shared/validate.js';
import type { TaskContext } from '../shared/context.js';
import { sleepUntil } from './abortable.js';
import { createRunAgent, describeFailure, headerValue, isSuccess, statusText, toRequestError } from './http.js';
import { withDefaults } from './options.js';
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

const DEFAULT_OPTIONS = { delaySeconds: 1 } as const;
const KNOWN_OPTIONS = ['queries', 'delaySeconds', 'endpoint', 'maxResults'] as const;
const PLACEHOLDER = '{query}';
/** A query answered 429 is tried again at most this many times. */
const MAX_RETRIES = 3;
/** A Retry-After longer than this is cut to it. */
const MAX_RETRY_AFTER_MS = 60_000;
/** undici's limits on the wait for headers and between body chunks. */
const REQUEST_TIMEOUT_MS = 30_000;
const MAX_REDIRECTIONS = 5;

/**
 * Runs each query against a search endpoint, `delaySeconds` apart. A 429 answer is retried
 * after its Retry-After (up to 3 times); any other failure of one query is recorded in its
 * entry and the batch goes on. Progress is the share of queries done.
 *
 * @example
 * // In a handler of your own:
 * const entries = await batchWebSearch(task, { queries: ['python asyncio', 'task management'], delaySeconds: 2 });
 * @example
 * // As a ready worker handler:
 * manager.createTask('Batch search', actions.batchWebSearch, { args: { queries: ['python asyncio'], endpoint } });
 */
export async function batchWebSearch(task: TaskContext, options: BatchWebSearchOptions): Promise<BatchWebSearchResult> {
  const merged = withDefaults(options, KNOWN_OPTIONS, DEFAULT_OPTIONS);
  const queries = checkQueries(merged.queries);
  checkNonNegativeNumber('options.delaySeconds', merged.delaySeconds);
  if (merged.maxResults !== undefined) checkPositiveInteger('options.maxResults', merged.maxResults);
  const template = resolveEndpoint(merged.endpoint);
  task.signal.throwIfAborted();

  const search = new Search(task, template, merged.delaySeconds * 1000, merged.maxResults);
  const entries: SearchQueryResult[] = [];
  try {
    for (const [index, query] of queries.entries()) {
      if (index > 0) await sleepUntil(performance.now() + merged.delaySeconds * 1000, task.signal);
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

/** The queries of one batch and the agent they share. */
class Search {
  readonly #task: TaskContext;
  readonly #template: string;
  readonly #fallbackRetryMs: number;
  readonly #maxResults: number | undefined;
  readonly #agent = createRunAgent({ maxRedirections: MAX_REDIRECTIONS, timeoutMs: REQUEST_TIMEOUT_MS });

  constructor(task: TaskContext, template: string, delayMs: number, maxResults: number | undefined) {
    this.#task = task;
    this.#template = template;
    this.#fallbackRetryMs = Math.max(delayMs, 1000);
    this.#maxResults = maxResults;
  }

  async run(query: string): Promise<SearchQueryResult> {
    const url = fillTemplate(this.#template, query);
    try {
      const hits = await this.#fetch(url, query);
      return { query, ok: true, results: this.#maxResults === undefined ? hits : hits.slice(0, this.#maxResults) };
    } catch (error) {
      if (this.#task.signal.aborted) throw this.#task.signal.reason;
      return { query, ok: false, results: [], error: describeFailure(toRequestError(url, error)) };
    }
  }

  close(): Promise<void> {
    return this.#agent.destroy();
  }

  async #fetch(url: string, query: string): Promise<SearchHit[]> {
    const { signal } = this.#task;
    for (let attempt = 0; ; attempt++) {
      const response = await request(url, {
        method: 'GET',
        headers: { accept: 'application/json' },
        signal,
        dispatcher: this.#agent.dispatcher,
      });
      const status = response.statusCode;
      if (status === 429 && attempt < MAX_RETRIES) {
        await response.body.dump();
        const waitMs = parseRetryAfter(headerValue(response.headers, 'retry-after')) ?? this.#fallbackRetryMs * 2 ** attempt;
        this.#task.log.info({ query, status, retryInMs: waitMs }, `search for ${JSON.stringify(query)} was rate limited; retrying in ${waitMs} ms`);
        await sleepUntil(performance.now() + waitMs, signal);
        continue;
      }
      if (!isSuccess(status)) {
        await response.body.dump();
        const hint = status === 429 ? ` (gave up after ${MAX_RETRIES} retries)` : '';
        throw new HttpStatusError(url, status, statusText(status, response.statusText), hint);
      }
      return parseHits(await readText(response.body));
    }
  }
}

function checkQueries(value: unknown): readonly string[] {
  if (!Array.isArray(value)) throw new TypeError(`Expected \`options.queries\` to be an array of strings, ${received(value)}`);
  value.forEach((query: unknown, index) => {
    if (typeof query !== 'string') throw new TypeError(`Expected \`options.queries[${index}]\` to be a non-empty string, ${received(query)}`);
    if (query.trim() === '') throw new RangeError(`Expected \`options.queries[${index}]\` to be a non-empty string, ${received(query)}`);
  });
  return value as readonly string[];
}

/** The endpoint template, from the option or the environment, checked. */
function resolveEndpoint(option: unknown): string {
  const fromEnv = process.env[SEARCH_URL_VARIABLE];
  const [name, template] = option !== undefined ? ['`options.endpoint`', option] : [`the ${SEARCH_URL_VARIABLE} environment variable`, fromEnv];
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
  return Math.min(Math.max(0, Math.ceil(ms)), MAX_RETRY_AFTER_MS);
}
