/** The errors of the built-in actions' HTTP requests. */
import { registerErrorClass, TaskloomError } from '../shared/errors.js';

/** A built-in action's HTTP request got an answer outside the statuses it accepts. */
export class HttpStatusError extends TaskloomError {
  readonly status: number;
  readonly url: string;

  constructor(url: string, status: number, statusText: string, hint = '') {
    super(`GET ${url} answered ${status}${statusText === '' ? '' : ` ${statusText}`}${hint}`, 'TASKLOOM_HTTP_STATUS');
    this.name = 'HttpStatusError';
    this.status = status;
    this.url = url;
  }
}

/** A built-in action's HTTP request failed before a complete answer arrived: refused, reset, unreachable. */
export class HttpRequestError extends TaskloomError {
  readonly url: string;

  constructor(url: string, options: ErrorOptions & { cause: unknown }) {
    super(`GET ${url} failed: ${describeCause(options.cause)}`, 'TASKLOOM_HTTP_REQUEST', options);
    this.name = 'HttpRequestError';
    this.url = url;
  }
}

/** A built-in action's HTTP request went quiet, or took as a whole, longer than its `timeoutMs`. */
export class HttpTimeoutError extends TaskloomError {
  readonly url: string;
  readonly timeoutMs: number;

  constructor(url: string, timeoutMs: number, what = 'no data arrived for') {
    super(`GET ${url} timed out: ${what} ${timeoutMs} ms`, 'TASKLOOM_HTTP_TIMEOUT');
    this.name = 'HttpTimeoutError';
    this.url = url;
    this.timeoutMs = timeoutMs;
  }
}

/** A built-in action's redirects led back to an address they had already visited. */
export class RedirectLoopError extends TaskloomError {
  readonly url: string;

  constructor(url: string, from: string, to: string) {
    const where = from === to ? `${from} redirects to itself` : `${from} redirects back to ${to}`;
    super(`GET ${url}: redirect loop (${where})`, 'TASKLOOM_HTTP_REDIRECT_LOOP');
    this.name = 'RedirectLoopError';
    this.url = url;
  }
}

/** A response body ended before all the bytes its content-length announced had arrived. */
export class IncompleteBodyError extends TaskloomError {
  readonly url: string;
  readonly bytes: number;
  readonly expectedBytes: number;

  constructor(url: string, bytes: number, expectedBytes: number, options?: ErrorOptions) {
    const why = options?.cause instanceof Error ? ` (${options.cause.message})` : '';
    super(`GET ${url}: the body ended after ${bytes} of ${expectedBytes} bytes${why}`, 'TASKLOOM_BODY_INCOMPLETE', options);
    this.name = 'IncompleteBodyError';
    this.url = url;
    this.bytes = bytes;
    this.expectedBytes = expectedBytes;
  }
}

/** A response body is larger than the caller's `maxBytes`. */
export class BodyTooLargeError extends TaskloomError {
  readonly url: string;
  readonly maxBytes: number;

  constructor(url: string, maxBytes: number, announced?: number) {
    const what = announced === undefined ? `the body grew past` : `the body's content-length, ${announced} bytes, is over`;
    super(`GET ${url}: ${what} \`maxBytes\` (${maxBytes} bytes)`, 'TASKLOOM_BODY_TOO_LARGE');
    this.name = 'BodyTooLargeError';
    this.url = url;
    this.maxBytes = maxBytes;
  }
}

/** batchWebSearch was given no search endpoint, by option or by environment. */
export class MissingSearchEndpointError extends TaskloomError {
  constructor() {
    super(
      'No search endpoint: pass `options.endpoint` or set the TASKLOOM_SEARCH_URL environment variable to a URL ' +
        "template with {query}, for a SearXNG instance such as 'http://localhost:8888/search?q={query}&format=json'",
      'TASKLOOM_NO_SEARCH_ENDPOINT',
    );
    this.name = 'MissingSearchEndpointError';
  }
}

// Revived as themselves on any thread, and recognised by code by another copy of the package.
registerErrorClass('TASKLOOM_HTTP_STATUS', HttpStatusError);
registerErrorClass('TASKLOOM_HTTP_REQUEST', HttpRequestError);
registerErrorClass('TASKLOOM_HTTP_TIMEOUT', HttpTimeoutError);
registerErrorClass('TASKLOOM_HTTP_REDIRECT_LOOP', RedirectLoopError);
registerErrorClass('TASKLOOM_BODY_INCOMPLETE', IncompleteBodyError);
registerErrorClass('TASKLOOM_BODY_TOO_LARGE', BodyTooLargeError);
registerErrorClass('TASKLOOM_NO_SEARCH_ENDPOINT', MissingSearchEndpointError);

/** The most telling text of a low-level error: its message, or its code when the message is empty. */
function describeCause(cause: unknown): string {
  if (!(cause instanceof Error)) return String(cause);
  const code = (cause as { code?: unknown }).code;
  if (cause.message !== '') return cause.message;
  if (cause instanceof AggregateError && cause.errors[0] instanceof Error) return describeCause(cause.errors[0]);
  return typeof code === 'string' ? code : cause.name;
}
