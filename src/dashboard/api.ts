/**
 * The JSON API, for the page and for scripts:
 * - `GET /api/stats`: getStats();
 * - `GET /api/tasks?state=&q=&limit=&cursor=`: one page of the table, `{ tasks, matching, next }`;
 * - `GET /api/tasks/:id`: one task, with its arguments, result or error and last log lines;
 * - `POST /api/tasks/:id/cancel`;
 * - `POST /api/tasks/:id/priority` with `{ "priority": n }`;
 * - `GET /api/events?state=&q=&limit=&cursor=`: Server-Sent Events (see events.ts).
 * Bad input gets a 400 whose JSON names the field; an unknown id a 404.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TaskRecord } from '../main/task-record.js';
import { TaskState } from '../shared/task.js';
import { received } from '../shared/validate.js';
import type { EventStreams } from './events.js';
import { HttpError, readJsonBody, sendJson } from './http.js';
import { decodeCursor, DEFAULT_LIMIT, MAX_LIMIT, queryRows, toDetail, toRow, type RowQuery } from './rows.js';
import type { DashboardSource } from './source.js';

const STATES: readonly string[] = Object.values(TaskState);
const QUERY_PARAMETERS: readonly string[] = ['state', 'q', 'limit', 'cursor'];
const MAX_SEARCH_LENGTH = 200;
const TASK_PATH = /^\/api\/tasks\/([^/]+)(?:\/(cancel|priority))?$/;

export class Api {
  readonly #source: DashboardSource;
  readonly #streams: EventStreams;

  constructor(source: DashboardSource, streams: EventStreams) {
    this.#source = source;
    this.#streams = streams;
  }

  /** Answers a request under /api/. Throws an HttpError for anything but a success. */
  async handle(request: IncomingMessage, response: ServerResponse, url: URL): Promise<void> {
    const { pathname } = url;
    const method = request.method ?? 'GET';
    if (pathname === '/api/stats') {
      allow(method, 'GET');
      sendJson(response, 200, this.#source.table.stats());
      return;
    }
    if (pathname === '/api/tasks') {
      allow(method, 'GET');
      const page = queryRows(this.#source.table.values(), parseRowQuery(url.searchParams));
      const now = Date.now();
      sendJson(response, 200, { tasks: page.rows.map((record) => toRow(record, now)), matching: page.matching, next: page.next });
      return;
    }
    if (pathname === '/api/events') {
      allow(method, 'GET');
      this.#streams.open(request, response, parseRowQuery(url.searchParams));
      return;
    }
    const match = TASK_PATH.exec(pathname);
    if (match === null) throw new HttpError(404, `No such route: ${method} ${pathname}`);
    const id = decodeId(match[1] as string);
    const action = match[2];
    if (action === undefined) {
      allow(method, 'GET');
      const record = this.#record(id);
      sendJson(response, 200, toDetail(record, this.#source.logs.get(id), Date.now()));
      return;
    }
    allow(method, 'POST');
    if (action === 'cancel') {
      this.#record(id);
      await readOptionalBody(request);
      if (!this.#source.cancel(id)) throw this.#notLive(id, 'cancelled');
    } else {
      this.#record(id);
      const priority = parsePriority(await readJsonBody(request));
      if (!this.#source.setPriority(id, priority)) throw this.#notLive(id, 'reprioritized', TaskState.PENDING);
    }
    sendJson(response, 200, { task: toRow(this.#record(id), Date.now()) });
  }

  #record(id: string): TaskRecord {
    const record = this.#source.table.get(id);
    if (record === undefined) throw new HttpError(404, `No task has the id ${JSON.stringify(id)}`, 'id');
    return record;
  }

  #notLive(id: string, done: string, only?: TaskState): HttpError {
    const state = this.#record(id).state;
    const which = only === undefined ? 'a pending or running task' : `a ${only} task`;
    return new HttpError(409, `Task ${id} is ${state}: only ${which} can be ${done}`, 'id');
  }
}

function allow(method: string, allowed: string): void {
  if (method !== allowed) throw new HttpError(405, `Expected ${allowed} here, got ${method}`, undefined, { Allow: allowed });
}

function decodeId(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new HttpError(400, `Expected \`id\` to be a task id, got a malformed path segment ${JSON.stringify(raw)}`, 'id');
  }
}

/** The table's filter and page from a query string; unknown or repeated parameters are refused. */
export function parseRowQuery(parameters: URLSearchParams): RowQuery {
  const seen = new Set<string>();
  for (const name of parameters.keys()) {
    if (!QUERY_PARAMETERS.includes(name)) {
      throw new HttpError(
        400,
        `Unknown parameter \`${name}\`: expected one of ${QUERY_PARAMETERS.map((p) => `\`${p}\``).join(', ')}`,
        name,
      );
    }
    if (seen.has(name)) throw new HttpError(400, `Expected \`${name}\` once, got it more than once`, name);
    seen.add(name);
  }
  const state = parameters.get('state') ?? '';
  if (state !== '' && !STATES.includes(state)) {
    throw new HttpError(400, `Expected \`state\` to be one of ${STATES.map((s) => `'${s}'`).join(', ')}, ${received(state)}`, 'state');
  }
  const search = parameters.get('q') ?? '';
  if (search.length > MAX_SEARCH_LENGTH) {
    throw new HttpError(400, `Expected \`q\` to be at most ${MAX_SEARCH_LENGTH} characters, got ${search.length}`, 'q');
  }
  const limitText = parameters.get('limit') ?? '';
  const limit = limitText === '' ? DEFAULT_LIMIT : Number(limitText);
  if (limitText !== '' && (!/^\d+$/.test(limitText) || limit < 1 || limit > MAX_LIMIT)) {
    throw new HttpError(400, `Expected \`limit\` to be an integer from 1 to ${MAX_LIMIT}, ${received(limitText)}`, 'limit');
  }
  const cursor = parameters.get('cursor') ?? '';
  const after = cursor === '' ? undefined : decodeCursor(cursor);
  if (cursor !== '' && after === undefined) {
    throw new HttpError(400, `Expected \`cursor\` to be the \`next\` of an earlier page, ${received(cursor)}`, 'cursor');
  }
  return {
    state: state === '' ? undefined : (state as TaskState),
    search: search === '' ? undefined : search.toLowerCase(),
    limit,
    after,
  };
}

function parsePriority(body: unknown): number {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new HttpError(400, `Expected the body to be a JSON object like {"priority": 10}, ${received(body)}`, 'body');
  }
  for (const key of Object.keys(body)) {
    if (key !== 'priority') throw new HttpError(400, `Unknown field \`${key}\`: expected only \`priority\``, key);
  }
  const { priority } = body as { priority?: unknown };
  if (typeof priority !== 'number' || !Number.isFinite(priority)) {
    throw new HttpError(400, `Expected \`priority\` to be a finite number, ${received(priority)}`, 'priority');
  }
  return priority;
}

/** A cancel needs no body, but one that is sent must be empty or JSON. */
async function readOptionalBody(request: IncomingMessage): Promise<void> {
  const length = request.headers['content-length'];
  const hasBody = (length !== undefined && length !== '0') || request.headers['transfer-encoding'] !== undefined;
  if (hasBody) await readJsonBody(request);
}
