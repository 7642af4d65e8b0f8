/**
 * The dashboard's HTTP server: the page and its files, the JSON API, the event streams and
 * `/metrics`. Every request goes through the same gate first (auth.ts): the Host header, then the
 * token, then, for a request that changes something, its origin.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { Api } from './api.js';
import { isAsset, readAsset } from './assets.js';
import { Gate, newToken } from './auth.js';
import { EventStreams } from './events.js';
import { HttpError, sendError, sendJson, setSecurityHeaders } from './http.js';
import { registerMetrics } from './metrics.js';
import { resolveDashboardOptions, type Dashboard, type DashboardOptions } from './options.js';
import type { DashboardSource } from './source.js';

/** How long open connections have to finish when the dashboard closes. */
const CLOSE_GRACE_MS = 1000;

/** Starts a dashboard for the manager behind `source`; resolves once it listens. */
export async function startDashboard(source: DashboardSource, options: DashboardOptions | undefined): Promise<Dashboard> {
  const resolved = resolveDashboardOptions(options);
  const registry = resolved.registry ?? new Registry();
  const unregister = registerMetrics(source.table, registry);
  const server = createServer();
  try {
    await listen(server, resolved.port, resolved.host);
  } catch (error) {
    unregister();
    throw error;
  }
  const { port } = server.address() as AddressInfo;
  const token = resolved.token ?? newToken();
  return new DashboardServer({ source, server, registry, unregister, token, host: resolved.host, port });
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

interface ServerParts {
  readonly source: DashboardSource;
  readonly server: Server;
  readonly registry: Registry;
  readonly unregister: () => void;
  readonly token: string;
  readonly host: string;
  readonly port: number;
}

class DashboardServer implements Dashboard {
  readonly url: string;
  readonly token: string;
  readonly #parts: ServerParts;
  readonly #gate: Gate;
  readonly #streams: EventStreams;
  readonly #api: Api;
  #closed: Promise<void> | undefined;

  constructor(parts: ServerParts) {
    const { source, server, token, host, port } = parts;
    this.#parts = parts;
    this.token = token;
    this.url = `http://${urlHost(host)}:${port}/?token=${encodeURIComponent(token)}`;
    this.#gate = new Gate(token, host, port);
    this.#streams = new EventStreams(source);
    this.#api = new Api(source, this.#streams);
    server.on('request', (request: IncomingMessage, response: ServerResponse) => {
      this.#handle(request, response).catch((error: unknown) => this.#fail(response, error));
    });
  }

  close(): Promise<void> {
    this.#closed ??= new Promise<void>((resolve) => {
      const { server, unregister } = this.#parts;
      this.#streams.close();
      unregister();
      server.close(() => resolve());
      server.closeIdleConnections();
      // The streams' last frames are on their way; whatever is still open after that is cut.
      setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS).unref();
    }).then(() => this.#parts.source.onClosed(this));
    return this.#closed;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    setSecurityHeaders(response);
    const url = new URL(request.url ?? '/', 'http://dashboard.invalid');
    const method = request.method ?? 'GET';
    if (!this.#gate.isHostAllowed(request)) {
      throw new HttpError(403, 'Expected the Host header to name this loopback address and port');
    }
    if (method === 'GET' && url.pathname === '/' && url.searchParams.has('token')) {
      this.#enter(response, url.searchParams.get('token'));
      return;
    }
    const credential = this.#gate.credential(request);
    if (credential === undefined) {
      throw new HttpError(
        401,
        'Expected the dashboard token: open the URL printed at start, or send Authorization: Bearer <token>',
        undefined,
        {
          'WWW-Authenticate': 'Bearer realm="taskloom"',
        },
      );
    }
    if (method !== 'GET' && method !== 'HEAD' && !this.#gate.isSameOrigin(request, credential)) {
      throw new HttpError(
        403,
        'Refused: a request that changes something must come from the dashboard page itself, or carry the bearer token',
      );
    }
    if (url.pathname.startsWith('/api/')) {
      await this.#api.handle(request, response, url);
      return;
    }
    if (url.pathname === '/metrics') {
      if (method !== 'GET') throw new HttpError(405, `Expected GET here, got ${method}`, undefined, { Allow: 'GET' });
      const { registry } = this.#parts;
      const text = await registry.metrics();
      response.writeHead(200, { 'Content-Type': registry.contentType, 'Cache-Control': 'no-store' });
      response.end(text);
      return;
    }
    if (isAsset(url.pathname)) {
      if (method !== 'GET') throw new HttpError(405, `Expected GET here, got ${method}`, undefined, { Allow: 'GET' });
      const { body, type } = await readAsset(url.pathname);
      response.writeHead(200, {
        'Content-Type': type,
        'Content-Length': body.length,
        'Cache-Control': url.pathname === '/' ? 'no-store' : 'private, max-age=300',
      });
      response.end(body);
      return;
    }
    throw new HttpError(404, `No such route: ${method} ${url.pathname}`);
  }

  /** The page's URL with the token: the token moves into a cookie, and the URL loses it. */
  #enter(response: ServerResponse, token: string | null): void {
    if (!this.#gate.matches(token)) {
      throw new HttpError(401, 'The token in the URL is not this dashboard’s: open the URL printed at start');
    }
    response.writeHead(303, { Location: '/', 'Set-Cookie': this.#gate.cookie(this.token), 'Cache-Control': 'no-store' });
    response.end();
  }

  #fail(response: ServerResponse, error: unknown): void {
    if (response.headersSent) {
      response.destroy();
      return;
    }
    if (error instanceof HttpError) sendError(response, error);
    else sendJson(response, 500, { error: 'The dashboard failed to answer this request' });
  }
}

/** The host as a URL shows it: a wildcard address as the loopback one, IPv6 in brackets. */
function urlHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}
