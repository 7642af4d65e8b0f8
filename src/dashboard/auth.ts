/**
 * Who may use the dashboard: whoever holds its token. A script sends it as
 * `Authorization: Bearer <token>`; a browser opens the page once with `?token=`, and from then on
 * holds it in an HttpOnly, SameSite=Strict cookie that its scripts cannot read. Tokens are
 * compared in constant time. A request that changes something must also come from the page's own
 * origin; and on a loopback address, the Host header must name loopback, so that a page elsewhere
 * cannot reach the dashboard by pointing a host name of its own at 127.0.0.1.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isLoopback } from './options.js';

/** How a request proved it holds the token. */
export type Credential = 'bearer' | 'cookie';

/** 32 random bytes, base64url: 43 characters. */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

export class Gate {
  readonly #digest: Buffer;
  readonly #cookieName: string;
  readonly #port: number;
  readonly #isLoopbackOnly: boolean;

  constructor(token: string, host: string, port: number) {
    this.#digest = digest(token);
    // Cookies are kept per host, not per port: each dashboard names its own.
    this.#cookieName = `taskloom_dashboard_${port}`;
    this.#port = port;
    this.#isLoopbackOnly = isLoopback(host);
  }

  /** Whether `given` is the token, compared in constant time. */
  matches(given: string | null | undefined): boolean {
    return typeof given === 'string' && timingSafeEqual(digest(given), this.#digest);
  }

  /** How the request carries the token, or undefined when it does not. */
  credential(request: IncomingMessage): Credential | undefined {
    const authorization = request.headers.authorization;
    if (authorization !== undefined) {
      const match = /^Bearer +(\S+) *$/i.exec(authorization);
      return this.matches(match?.[1]) ? 'bearer' : undefined;
    }
    return this.matches(readCookie(request.headers.cookie, this.#cookieName)) ? 'cookie' : undefined;
  }

  /** The Set-Cookie header that hands the token to the browser. */
  cookie(token: string): string {
    return `${this.#cookieName}=${token}; HttpOnly; SameSite=Strict; Path=/`;
  }

  /**
   * On a loopback address, whether the Host header names loopback and this port. A page of
   * another site whose host name resolves to 127.0.0.1 sends its own name, and is turned away.
   */
  isHostAllowed(request: IncomingMessage): boolean {
    if (!this.#isLoopbackOnly) return true;
    const host = request.headers.host;
    if (host === undefined) return false;
    const match = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(host);
    return match !== null && isLoopback(match[1] as string) && Number(match[2]) === this.#port;
  }

  /**
   * Whether a request that changes something may: its Origin, when it sends one, must be the
   * dashboard's own, and a browser's fetch metadata must not say cross-site. A request without an
   * Origin must carry the token in its Authorization header: browsers send an Origin with every
   * POST, so it comes from a script, which a web page cannot make send that header elsewhere.
   */
  isSameOrigin(request: IncomingMessage, credential: Credential): boolean {
    const { origin, host } = request.headers;
    const site = request.headers['sec-fetch-site'];
    if (site !== undefined && site !== 'same-origin' && site !== 'none') return false;
    if (origin === undefined) return credential === 'bearer';
    return host !== undefined && origin === `http://${host}`;
  }
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

function readCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const separator = part.indexOf('=');
    if (separator !== -1 && part.slice(0, separator).trim() === name) return part.slice(separator + 1).trim();
  }
  return undefined;
}
