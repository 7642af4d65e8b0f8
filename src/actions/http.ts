/**
 * HTTP plumbing shared by the built-in actions: URL and header checks, a private undici agent
 * per action run (destroyed when the run ends, so that no socket outlives it), header reading
 * and error wording.
 */
import { STATUS_CODES } from 'node:http';
import { Agent, type Dispatcher } from 'undici';
import { TaskloomError } from '../shared/errors.js';
import { HttpRequestError } from './errors.js';
import { received } from '../shared/validate.js';

/** Checks that `value` is an absolute http: or https: URL, as a string or a URL. */
export function checkHttpUrl(name: string, value: unknown): URL {
  if (typeof value !== 'string' && !(value instanceof URL)) {
    throw new TypeError(`Expected \`${name}\` to be an http(s) URL string, ${received(value)}`);
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new TypeError(`Expected \`${name}\` to be an absolute http(s) URL, ${received(String(value))}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TypeError(`Expected \`${name}\` to be an http(s) URL, got a ${url.protocol} URL: ${url.href}`);
  }
  return url;
}

/** An HTTP token (RFC 9110), the form a header name must take. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** What Node and undici refuse in a header value: control characters but tab (CR, LF, NUL...), and anything past Latin-1. */
const FORBIDDEN_IN_VALUE = /[^\t\x20-\x7e\x80-\xff]/;

/** Headers the HTTP client writes itself, for the connection it manages: undici refuses them from a caller. */
const CLIENT_MANAGED = new Set(['transfer-encoding', 'keep-alive', 'upgrade', 'expect']);

/**
 * Checks that `value` is undefined or a plain object of header names to string values, each of
 * which undici can send: here, a bad one names its option, where at request time it would only
 * fail the request with "invalid header key", or "invalid transfer-encoding header".
 */
export function checkHeaders(name: string, value: unknown): asserts value is Record<string, string> | undefined {
  if (value === undefined) return;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new TypeError(`Expected \`${name}\` to be an object of header names to strings, ${received(value)}`);
  }
  /** The names seen so far, in lower case, to the key each was given as. */
  const seen = new Map<string, string>();
  for (const [key, entry] of Object.entries(value)) {
    const entryName = `${name}[${JSON.stringify(key)}]`;
    if (!TOKEN.test(key)) {
      throw new TypeError(
        `Expected the name of \`${entryName}\` to be an HTTP token (letters, digits and !#$%&'*+-.^_\`|~), ${received(key)}`,
      );
    }
    const lower = key.toLowerCase();
    const first = seen.get(lower);
    if (first !== undefined) {
      throw new TypeError(
        `Expected each header once, whatever its case, but \`${entryName}\` names the same header as \`${name}[${JSON.stringify(first)}]\``,
      );
    }
    seen.set(lower, key);
    if (CLIENT_MANAGED.has(lower)) {
      throw new TypeError(
        `Expected \`${entryName}\` to be left out: the HTTP client writes the ${lower} header itself, and refuses it from a caller`,
      );
    }
    if (typeof entry !== 'string') throw new TypeError(`Expected \`${entryName}\` to be a string, ${received(entry)}`);
    if (FORBIDDEN_IN_VALUE.test(entry)) {
      throw new TypeError(
        `Expected \`${entryName}\` to be a header value: no CR, LF, NUL or other control character, nothing past Latin-1, ${received(entry)}`,
      );
    }
    if (lower === 'connection' && !entry.split(',').every((option) => TOKEN.test(option.trim()))) {
      throw new TypeError(`Expected \`${entryName}\` to be a comma-separated list of HTTP tokens (such as "close"), ${received(entry)}`);
    }
    if (lower === 'content-length' && !/^\d+$/.test(entry)) {
      throw new TypeError(`Expected \`${entryName}\` to be a number of bytes in decimal digits, ${received(entry)}`);
    }
  }
}

/** An undici agent that belongs to one action run. */
export interface RunAgent {
  readonly dispatcher: Dispatcher;
  /** Closes every socket the agent opened. Call it in `finally`. */
  destroy(): Promise<void>;
}

/**
 * A private agent, so that destroying it at the end of a run closes exactly that run's sockets.
 * `interceptors` are composed over it in order, the last outermost. Redirects are left to
 * `getFollowingRedirects`, which knows whose headers may go where.
 */
export function createRunAgent(interceptors: readonly Dispatcher.DispatcherComposeInterceptor[] = []): RunAgent {
  const agent = new Agent();
  return {
    dispatcher: interceptors.length === 0 ? agent : agent.compose([...interceptors]),
    destroy: () => agent.destroy().catch(() => undefined),
  };
}

/** Drops a response body without reading it. Its socket is closed, as undici cannot reuse it. */
export function discardBody(body: NodeJS.ReadableStream & { destroy(): unknown }): void {
  // undici destroys an unread body with an error: without a listener it would be thrown.
  body.on('error', () => undefined);
  body.destroy();
}

/** The single value of a response header, or undefined. */
export function headerValue(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** A content-length header as a number of bytes, or undefined when it is absent or malformed. */
export function contentLength(headers: Record<string, string | string[] | undefined>): number | undefined {
  const value = headerValue(headers, 'content-length');
  return value !== undefined && /^\d+$/.test(value) ? Number(value) : undefined;
}

export function isSuccess(status: number): boolean {
  return status >= 200 && status < 300;
}

/** The reason phrase the server sent, or the standard one for the status. */
export function statusText(status: number, sent = ''): string {
  return sent === '' ? (STATUS_CODES[status] ?? '') : sent;
}

/** "404 Not Found" */
export function describeStatus(status: number, sent = ''): string {
  const text = statusText(status, sent);
  return text === '' ? String(status) : `${status} ${text}`;
}

/** Wraps a low-level failure (refused, reset, DNS) so that its message names the URL. */
export function toRequestError(url: string, error: unknown): Error {
  if (error instanceof TaskloomError) return error;
  return new HttpRequestError(url, { cause: error });
}
