/** The dashboard's options, their defaults and checks, and what `serveDashboard` returns. */
import { isIP } from 'node:net';
import type { Registry } from 'prom-client';
import { checkNonEmptyString, checkOptions, received } from '../shared/validate.js';

export interface DashboardOptions {
  /**
   * The TCP port to listen on; 0 picks a free one (read it from `dashboard.url`).
   * @default 0
   */
  port?: number;
  /**
   * The address to bind. Any address but a loopback one (127.0.0.1, ::1, localhost) needs an
   * explicit `token`: without one, `serveDashboard` refuses to start.
   * @default '127.0.0.1'
   */
  host?: string;
  /**
   * The secret every request must carry: 16 to 512 characters, no spaces, quotes, commas,
   * semicolons or backslashes.
   * @default 32 random bytes (crypto), base64url
   * @example
   * await manager.serveDashboard({ host: '0.0.0.0', port: 8080, token: process.env.DASHBOARD_TOKEN });
   */
  token?: string;
  /**
   * A prom-client registry of your own: taskloom's metrics are registered there, and `/metrics`
   * serves all of it. They are removed from it when the dashboard closes.
   * @default a registry of the dashboard's own
   */
  registry?: Registry;
}

/** A running dashboard. */
export interface Dashboard {
  /** The page's address, with the token: open it once, and the browser keeps the token in a cookie. */
  readonly url: string;
  /** The token every request needs: `Authorization: Bearer <token>` for scripts and Prometheus. */
  readonly token: string;
  /** Stops the server and ends the event streams. Calling it again returns the same promise. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export interface ResolvedDashboardOptions {
  readonly port: number;
  readonly host: string;
  /** The token, and whether the caller chose it. */
  readonly token: string | undefined;
  readonly registry: Registry | undefined;
}

const OPTION_NAMES = ['port', 'host', 'token', 'registry'] as const;
const MAX_PORT = 65_535;
/** What a cookie value and a header can carry as they are: printable ASCII without space, `"`, `,`, `;` and `\`. */
const TOKEN_PATTERN = /^[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]{16,512}$/;

/** Checks the options; throws a TypeError or RangeError that names the option. */
export function resolveDashboardOptions(options: DashboardOptions | undefined): ResolvedDashboardOptions {
  const { port = 0, host = '127.0.0.1', token, registry } = checkOptions('options', options, OPTION_NAMES);
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > MAX_PORT) {
    throw new RangeError(`Expected \`options.port\` to be an integer from 0 to ${MAX_PORT}, ${received(port)}`);
  }
  checkNonEmptyString('options.host', host);
  if (token !== undefined) {
    if (typeof token !== 'string') throw new TypeError(`Expected \`options.token\` to be a string, ${received(token)}`);
    if (!TOKEN_PATTERN.test(token)) {
      throw new RangeError(
        'Expected `options.token` to be 16 to 512 printable ASCII characters without spaces, quotes, commas, semicolons ' +
          `or backslashes, got a string of ${token.length} characters that is not`,
      );
    }
  } else if (!isLoopback(host)) {
    throw new TypeError(
      `Expected \`options.token\` with \`options.host\` ${JSON.stringify(host)}, got none: a dashboard on an address ` +
        'other than loopback can be reached from other machines, so it needs a token you chose. Pass one, or bind 127.0.0.1.',
    );
  }
  if (registry !== undefined && typeof (registry as { registerMetric?: unknown } | null)?.registerMetric !== 'function') {
    throw new TypeError(`Expected \`options.registry\` to be a prom-client Registry, ${received(registry)}`);
  }
  return { port, host, token, registry };
}

/** Whether `host` names this machine's loopback interface only: 127.0.0.0/8, ::1 or localhost. */
export function isLoopback(host: string): boolean {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (bare.toLowerCase() === 'localhost') return true;
  const version = isIP(bare);
  if (version === 4) return bare.startsWith('127.');
  if (version === 6) return bare === '::1' || bare.toLowerCase().startsWith('::ffff:127.');
  return false;
}
