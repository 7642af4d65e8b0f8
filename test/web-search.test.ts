import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterEach, beforeEach, describe, expect, expectTypeOf, it } from 'vitest';
import { actions, TaskState, type Task } from 'taskloom';
import { batchWebSearch, MissingSearchEndpointError, type BatchWebSearchResult } from 'taskloom/actions';
import {
  createActionManager,
  deferred,
  handMadeContext,
  onCleanup,
  pendingTimers,
  socketClosed,
  startServer,
  type TestServer,
} from './fixtures/actions-http.js';

const savedSearchUrl = process.env.TASKLOOM_SEARCH_URL;

beforeEach(() => {
  delete process.env.TASKLOOM_SEARCH_URL;
});

afterEach(() => {
  if (savedSearchUrl === undefined) delete process.env.TASKLOOM_SEARCH_URL;
  else process.env.TASKLOOM_SEARCH_URL = savedSearchUrl;
});

interface SearchRequest {
  readonly q: string | null;
  readonly format: string | null;
  readonly at: number;
}

/** A SearXNG-like server: `answer` decides each reply; every request is recorded. */
async function searchServer(
  answer: (q: string, request: IncomingMessage, response: ServerResponse) => void = (q, _request, response) => replyWith(response, q),
): Promise<{ server: TestServer; requests: SearchRequest[]; endpoint: string }> {
  const requests: SearchRequest[] = [];
  const server = await startServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const q = url.searchParams.get('q');
    requests.push({ q, format: url.searchParams.get('format'), at: performance.now() });
    answer(q ?? '', request, response);
  });
  onCleanup(() => server.close());
  return { server, requests, endpoint: `${server.base}/search?q={query}&format=json` };
}

/** Two results that echo the query, the way SearXNG shapes them. */
function replyWith(response: ServerResponse, q: string): void {
  response.writeHead(200, { 'content-type': 'application/json' });
  response.end(
    JSON.stringify({
      query: q,
      number_of_results: 2,
      results: [
        { title: `About ${q}`, url: `https://example.com/1?${encodeURIComponent(q)}`, content: `All on ${q}`, engine: 'test' },
        { title: `More ${q}`, url: 'https://example.com/2', engine: 'test' },
      ],
    }),
  );
}

describe('batchWebSearch', () => {
  it('retries a 429 after its Retry-After, then takes the 200', async () => {
    let answered = 0;
    const { requests, endpoint } = await searchServer((q, _request, response) => {
      if (answered++ === 0) response.writeHead(429, { 'retry-after': '1' }).end('slow down');
      else replyWith(response, q);
    });
    const { manager, logs } = createActionManager();

    const id = manager.createTask('Search', actions.batchWebSearch, { args: { queries: ['rate limits'], endpoint } });
    const task = (await manager.waitFor(id)) as Task<BatchWebSearchResult>;

    expect(task.state, task.error).toBe(TaskState.COMPLETED);
    expect(task.result).toEqual([
      {
        query: 'rate limits',
        ok: true,
        results: [
          { title: 'About rate limits', url: 'https://example.com/1?rate%20limits', snippet: 'All on rate limits' },
          { title: 'More rate limits', url: 'https://example.com/2', snippet: '' },
        ],
      },
    ]);
    expect(requests).toHaveLength(2);
    const [first, second] = requests as [SearchRequest, SearchRequest];
    expect(second.at - first.at).toBeGreaterThanOrEqual(990);
    const line = await logs.waitFor((entry) => entry.status === 429);
    expect(line).toMatchObject({ query: 'rate limits', retryInMs: 1000 });
  });

  it('gives up on a query answered 429 after 3 retries, and records the last status', async () => {
    const { server, requests, endpoint } = await searchServer((q, _request, response) => {
      if (q === 'busy') response.writeHead(429, { 'retry-after': '0' }).end('slow down');
      else replyWith(response, q);
    });
    const task = handMadeContext();

    const [busy, after] = await batchWebSearch(task, { queries: ['busy', 'after'], endpoint, delaySeconds: 0 });

    expect(busy).toEqual({
      query: 'busy',
      ok: false,
      results: [],
      error: `GET ${server.base}/search?q=busy&format=json answered 429 Too Many Requests (gave up after 3 retries)`,
    });
    expect(after?.ok).toBe(true);
    expect(requests.map((request) => request.q)).toEqual(['busy', 'busy', 'busy', 'busy', 'after']);
    const retries = task.logged.filter((line) => line.msg?.includes('rate limited') === true);
    expect(retries.map((line) => line.fields)).toEqual(Array(3).fill({ query: 'busy', status: 429, retryInMs: 0 }));
  });

  it('does not count a Retry-After wait against timeoutMs, and stops at once when cancelled during one', async () => {
    let answered = 0;
    const { requests, endpoint } = await searchServer((q, _request, response) => {
      if (q === 'forever busy') response.writeHead(429, { 'retry-after': '60' }).end();
      else if (answered++ === 0) response.writeHead(429, { 'retry-after': '1' }).end();
      else replyWith(response, q);
    });

    // A 1 s wait, then an answer at once: well within a 300 ms limit per request.
    const [entry] = await batchWebSearch(handMadeContext(), { queries: ['patience'], endpoint, timeoutMs: 300 });
    expect(entry).toMatchObject({ query: 'patience', ok: true });
    expect(requests).toHaveLength(2);

    const controller = new AbortController();
    const task = handMadeContext(controller.signal);
    const timersBefore = pendingTimers();
    const running = batchWebSearch(task, { queries: ['forever busy'], endpoint });
    await task.logReached((line) => line.msg?.includes('retrying in 60000 ms') === true);
    const reason = new Error('enough');
    const abortedAt = performance.now();
    controller.abort(reason);
    await expect(running).rejects.toBe(reason);
    expect(performance.now() - abortedAt).toBeLessThan(1000);
    expect(pendingTimers()).toBeLessThanOrEqual(timersBefore);
    expect(requests).toHaveLength(3);
  });

  it('records a query that takes longer than timeoutMs as failed, even while bytes keep trickling in', async () => {
    let trickled = 0;
    const { server, endpoint } = await searchServer((q, _request, response) => {
      if (q === 'silent') return; // never answers
      if (q !== 'trickle') {
        replyWith(response, q);
        return;
      }
      // One byte every 40 ms, without end: a limit between chunks would never fire.
      response.writeHead(200, { 'content-type': 'application/json' });
      const timer = setInterval(() => {
        trickled++;
        response.write(' ');
      }, 40);
      response.on('close', () => clearInterval(timer));
    });
    const task = handMadeContext();

    const startedAt = performance.now();
    const queries = ['trickle', 'silent', 'after'];
    const entries = await batchWebSearch(task, { queries, endpoint, delaySeconds: 0, timeoutMs: 400 });

    expect(performance.now() - startedAt).toBeLessThan(5000);
    expect(trickled).toBeGreaterThanOrEqual(3);
    const timedOut = (query: string): string =>
      `GET ${server.base}/search?q=${query}&format=json timed out: no complete answer within 400 ms`;
    expect(entries).toEqual([
      { query: 'trickle', ok: false, results: [], error: timedOut('trickle') },
      { query: 'silent', ok: false, results: [], error: timedOut('silent') },
      expect.objectContaining({ query: 'after', ok: true }),
    ]);
    const warned = task.logged.filter((line) => line.level === 'warn').map((line) => (line.fields as { query: string }).query);
    expect(warned).toEqual(['trickle', 'silent']);
  });

  it("sends queries with spaces, '&', '#' and non-ASCII letters intact, spaced delaySeconds apart", async () => {
    const queries = ['node worker threads', 'salt & pepper', 'C# #hashtag', 'crème brûlée à Zürich', '東京 ラーメン', '100% a+b=c?/'];
    const { requests, endpoint } = await searchServer();
    const { manager } = createActionManager();
    const progress: number[] = [];
    manager.on('progress', (task) => progress.push(task.progress));

    const id = manager.createTask('Search', actions.batchWebSearch, { args: { queries, endpoint, delaySeconds: 0.05, maxResults: 1 } });
    const task = (await manager.waitFor(id)) as Task<BatchWebSearchResult>;

    expect(task.state, task.error).toBe(TaskState.COMPLETED);
    expect(requests.map((request) => request.q)).toEqual(queries);
    expect(requests.every((request) => request.format === 'json')).toBe(true);
    for (let index = 1; index < requests.length; index++) {
      expect((requests[index] as SearchRequest).at - (requests[index - 1] as SearchRequest).at).toBeGreaterThanOrEqual(49);
    }
    expect(task.result?.map((entry) => [entry.query, entry.ok, entry.results.length])).toEqual(queries.map((query) => [query, true, 1]));
    expect(task.result?.[2]?.results[0]?.title).toBe('About C# #hashtag');
    expect(task.progress).toBe(100);
    expect(progress.filter((value) => value < 100)).toEqual([1, 2, 3, 4, 5].map((done) => (done / 6) * 100));
  });

  it('records a query whose answer is invalid JSON, or an error status, and goes on', async () => {
    const { server, endpoint } = await searchServer((q, _request, response) => {
      if (q === 'broken') response.writeHead(200, { 'content-type': 'application/json' }).end('<html>not json</html>');
      else if (q === 'shapeless') response.writeHead(200).end('{"answers":[]}');
      else if (q === 'down') response.writeHead(503).end();
      else replyWith(response, q);
    });
    const { manager, logs } = createActionManager();

    const queries = ['before', 'broken', 'shapeless', 'down', 'after'];
    const task = (await manager.waitFor(
      manager.createTask('Search', actions.batchWebSearch, { args: { queries, endpoint, delaySeconds: 0 } }),
    )) as Task<BatchWebSearchResult>;

    expect(task.state, task.error).toBe(TaskState.COMPLETED);
    const [before, broken, shapeless, down, after] = task.result ?? [];
    expect(before?.ok).toBe(true);
    expect(broken).toMatchObject({ query: 'broken', ok: false, results: [] });
    expect(broken?.error).toMatch(/^GET http:\/\/127\.0\.0\.1:\d+\/search\?q=broken&format=json failed: the answer is not valid JSON/);
    expect(broken?.error).toContain('"<html>not json</html>"');
    expect(shapeless?.error).toContain('the answer is JSON but has no `results` array');
    expect(down?.error).toBe(`GET ${server.base}/search?q=down&format=json answered 503 Service Unavailable`);
    expect(after?.ok).toBe(true);
    await logs.waitFor((line) => line.query === 'after');
    expect(logs.lines.filter((line) => line.level === 40).map((line) => line.query)).toEqual(['broken', 'shapeless', 'down']);
  });

  it('fails with a message that says how to set an endpoint when there is none', async () => {
    await expect(batchWebSearch(handMadeContext(), { queries: ['anything'] })).rejects.toThrow(MissingSearchEndpointError);
    const { manager } = createActionManager();
    const task = await manager.waitFor(manager.createTask('Search', actions.batchWebSearch, { args: { queries: ['anything'] } }));
    expect(task.state).toBe(TaskState.FAILED);
    expect(task.error).toBe(
      'MissingSearchEndpointError: No search endpoint: pass `options.endpoint` or set the TASKLOOM_SEARCH_URL environment variable ' +
        "to a URL template with {query}, for a SearXNG instance such as 'http://localhost:8888/search?q={query}&format=json'",
    );
  });

  it('takes its endpoint from TASKLOOM_SEARCH_URL, on a worker too', async () => {
    const { requests, endpoint } = await searchServer();
    process.env.TASKLOOM_SEARCH_URL = endpoint;
    // Worker threads copy the environment when they start, so the manager comes after.
    const { manager } = createActionManager();
    const task = (await manager.waitFor(
      manager.createTask('Search', actions.batchWebSearch, { args: { queries: ['from the environment'] } }),
    )) as Task<BatchWebSearchResult>;
    expect(task.state, task.error).toBe(TaskState.COMPLETED);
    expect(task.result?.[0]?.ok).toBe(true);
    expect(requests.map((request) => request.q)).toEqual(['from the environment']);

    process.env.TASKLOOM_SEARCH_URL = 'http://127.0.0.1:9/search?q=nothing';
    await expect(batchWebSearch(handMadeContext(), { queries: ['x'] })).rejects.toThrow(
      'Expected the TASKLOOM_SEARCH_URL environment variable to be an http(s) URL template with {query}',
    );
  });

  it('stops at once when cancelled between queries', async () => {
    const { endpoint } = await searchServer();
    const { manager } = createActionManager({ cancelGraceMs: 15_000 });
    const firstDone = deferred();
    manager.on('progress', () => firstDone.resolve());

    const id = manager.createTask('Search', actions.batchWebSearch, { args: { queries: ['one', 'two'], endpoint, delaySeconds: 60 } });
    await firstDone.promise;
    const cancelledAt = performance.now();
    expect(manager.cancelTask(id)).toBe(true);
    await manager.onIdle();

    expect(performance.now() - cancelledAt).toBeLessThan(5000);
    expect(manager.getTask(id)).toMatchObject({ state: TaskState.CANCELLED, progress: 50 });
  });

  it('can be called from any handler; an abort rejects with its reason and leaves no timer behind', async () => {
    const { endpoint } = await searchServer();
    const task = handMadeContext();
    const result = await batchWebSearch(task, { queries: ['a', 'b'], endpoint, delaySeconds: 0 });
    expectTypeOf(result).toEqualTypeOf<BatchWebSearchResult>();
    expect(result.map((entry) => entry.ok)).toEqual([true, true]);
    expect(task.progressHistory).toEqual([50, 100]);
    expect(structuredClone(result)).toEqual(result);
    expect(await batchWebSearch(handMadeContext(), { queries: [], endpoint })).toEqual([]);

    const controller = new AbortController();
    const cancelled = handMadeContext(controller.signal);
    const timersBefore = pendingTimers();
    const running = batchWebSearch(cancelled, { queries: ['a', 'b'], endpoint, delaySeconds: 60 });
    await cancelled.progressReached((value) => value > 0);
    const reason = new Error('no more');
    controller.abort(reason);
    await expect(running).rejects.toBe(reason);
    expect(pendingTimers()).toBeLessThanOrEqual(timersBefore);

    // Aborted while its last query waits for an answer: that is a cancellation, not a failed query.
    const hanging = await startServer(() => undefined);
    onCleanup(() => hanging.close());
    const lastController = new AbortController();
    const last = batchWebSearch(handMadeContext(lastController.signal), {
      queries: ['never answered'],
      endpoint: `${hanging.base}/?q={query}`,
    });
    const request = await hanging.nextRequest();
    lastController.abort(reason);
    await expect(last).rejects.toBe(reason);
    await socketClosed(request.socket);
  });

  it('rejects bad options with a TypeError or RangeError that names the option', async () => {
    const task = handMadeContext();
    const endpoint = 'http://127.0.0.1:9/search?q={query}&format=json';
    await expect(batchWebSearch(task, { queries: 'one query' } as never)).rejects.toThrow(
      new TypeError('Expected `options.queries` to be an array of strings, got `"one query"` (string)'),
    );
    await expect(batchWebSearch(task, { queries: ['ok', ''], endpoint })).rejects.toThrow(
      new RangeError('Expected `options.queries[1]` to be a non-empty string, got `""` (string)'),
    );
    await expect(batchWebSearch(task, { queries: ['ok'], endpoint, delaySeconds: -1 })).rejects.toThrow(
      new RangeError('Expected `options.delaySeconds` to be a finite number >= 0, got `-1` (number)'),
    );
    await expect(batchWebSearch(task, { queries: ['ok'], endpoint, maxResults: 0 })).rejects.toThrow(
      new RangeError('Expected `options.maxResults` to be a positive integer, got `0` (number)'),
    );
    await expect(batchWebSearch(task, { queries: ['ok'], endpoint, timeoutMs: 0 })).rejects.toThrow(
      new RangeError('Expected `options.timeoutMs` to be a finite number > 0, got `0` (number)'),
    );
    await expect(batchWebSearch(task, { queries: ['ok'], endpoint, timeoutMs: '5s' } as never)).rejects.toThrow(
      new TypeError('Expected `options.timeoutMs` to be a finite number, got `"5s"` (string)'),
    );
    await expect(batchWebSearch(task, { queries: ['ok'], endpoint: 'http://127.0.0.1:9/search' })).rejects.toThrow(
      /^Expected `options.endpoint` to be an http\(s\) URL template with \{query\}/,
    );
    await expect(batchWebSearch(task, { queries: ['ok'], endpoint, engine: 'x' } as never)).rejects.toThrow(
      /^Unknown option `options.engine`/,
    );
    expect(task.progressHistory).toEqual([]);
  });
});
