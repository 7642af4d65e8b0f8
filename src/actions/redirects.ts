/**
 * Following redirects for the built-in actions' GET requests, with one policy: the caller's
 * headers go only to the origin they were meant for, a loop fails with a message of its own,
 * and past the limit the last 3xx answer is returned as it is.
 */
import { request, type Dispatcher } from 'undici';
import { RedirectLoopError } from './errors.js';
import { headerValue } from './http.js';

const REDIRECT_STATUSES: ReadonlySet<number> = new Set([300, 301, 302, 303, 307, 308]);
/** A redirect's body is read, so that its connection can be used again, up to this size; a larger one is dropped. */
const MAX_REDIRECT_BODY_BYTES = 64 * 1024;

export interface GetOptions {
  readonly dispatcher: Dispatcher;
  readonly signal: AbortSignal;
  /** How many redirects to follow; the answer to the last one is returned whatever its status. */
  readonly maxRedirections: number;
  /** The caller's request headers. */
  readonly headers?: Readonly<Record<string, string>>;
  /**
   * The names of `headers`, in lowercase, that still go to another origin after a redirect.
   * The others are sent only while every hop stays on the first URL's origin.
   */
  readonly crossOriginHeaders?: ReadonlySet<string>;
  /** The response body's buffer, in bytes. */
  readonly highWaterMark?: number;
  /** Called as each answer's headers arrive, the redirects' included: a sign of life for a stall watchdog. */
  readonly onAnswer?: () => void;
}

export interface GetResult {
  readonly response: Dispatcher.ResponseData;
  /** Whether `response` is a redirect left unfollowed because `maxRedirections` were followed already. */
  readonly isRedirectOverLimit: boolean;
}

/** GETs `url`, following up to `maxRedirections` redirects. */
export async function getFollowingRedirects(url: URL, options: GetOptions): Promise<GetResult> {
  const { dispatcher, signal, maxRedirections, highWaterMark, onAnswer, crossOriginHeaders = new Set<string>() } = options;
  const visited = new Set<string>();
  let headers = options.headers ?? {};
  let current = url;
  for (let redirects = 0; ; redirects++) {
    visited.add(current.href);
    const sizing = highWaterMark === undefined ? {} : { highWaterMark };
    const response = await request(current, { method: 'GET', headers, signal, dispatcher, ...sizing });
    onAnswer?.();
    const next = redirectTarget(current, response);
    if (next === undefined) return { response, isRedirectOverLimit: false };
    if (redirects >= maxRedirections) return { response, isRedirectOverLimit: true };
    await response.body.dump({ limit: MAX_REDIRECT_BODY_BYTES, signal });
    if (visited.has(next.href)) throw new RedirectLoopError(url.href, current.href, next.href);
    if (next.origin !== current.origin) {
      headers = Object.fromEntries(Object.entries(headers).filter(([name]) => crossOriginHeaders.has(name.toLowerCase())));
    }
    current = next;
  }
}

/** Where a redirect answer points, when it is one that can be followed. */
function redirectTarget(from: URL, response: Dispatcher.ResponseData): URL | undefined {
  if (!REDIRECT_STATUSES.has(response.statusCode)) return undefined;
  const location = headerValue(response.headers, 'location');
  if (location === undefined) return undefined;
  let target: URL;
  try {
    target = new URL(location, from);
  } catch {
    return undefined;
  }
  target.hash = '';
  return target.protocol === 'http:' || target.protocol === 'https:' ? target : undefined;
}
