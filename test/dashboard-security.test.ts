/**
 * The dashboard's security model, over real HTTP: every route needs the token, the page moves
 * it into an HttpOnly SameSite=Strict cookie, requests that change something must come from the
 * page's own origin, there is no CORS, the Host must name loopback, a CSP forbids inline script,
 * and a non-loopback bind without a token is refused.
 */
import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import type { Dashboard, DashboardOptions, TaskManager } from 'taskloom';
import { client, Holds } from './dashboard-helpers.js';
import { createManager } from './helpers.js';

const dashboards: Dashboard[] = [];

afterEach(async () => {
  await Promise.all(dashboards.splice(0).map((dashboard) => dashboard.close()));
});

async function serve(manager: TaskManager, options?: DashboardOptions): Promise<Dashboard> {
  const dashboard = await manager.serveDashboard(options);
  dashboards.push(dashboard);
  return dashboard;
}

/** A raw request, so that the test sets headers (Host, Origin) that fetch would not let it. */
function rawRequest(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const outgoing = request(url, { method: options.method ?? 'GET', headers: options.headers ?? {} }, (response) => {
      let body = '';
      response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body }));
    });
    outgoing.on('error', reject);
    outgoing.end(options.body);
  });
}

const ROUTES = ['/', '/assets/app.js', '/assets/uPlot.js', '/api/stats', '/api/tasks', '/api/tasks/x', '/api/events', '/metrics'];

describe('dashboard security', () => {
  it('answers 401 on every route without the token, or with a wrong one', async () => {
    const dashboard = await serve(createManager());
    const { origin } = new URL(dashboard.url);
    for (const route of ROUTES) {
      const bare = await fetch(origin + route);
      expect(bare.status, route).toBe(401);
      expect(bare.headers.get('www-authenticate')).toBe('Bearer realm="taskloom"');
      const wrong = await fetch(origin + route, { headers: { Authorization: `Bearer ${'x'.repeat(43)}` } });
      expect(wrong.status, route).toBe(401);
      const inQuery = await fetch(`${origin}${route}${route.includes('?') ? '&' : '?'}token=${dashboard.token}`, { redirect: 'manual' });
      // The token is taken from the URL on the page's address only.
      expect(inQuery.status, route).toBe(route === '/' ? 303 : 401);
    }
    const right = await client(dashboard).get('/api/stats');
    expect(right.status).toBe(200);
  });

  it('hands the token from the URL to an HttpOnly, SameSite=Strict cookie, and drops it from the URL', async () => {
    const dashboard = await serve(createManager(), { token: 'a-token-of-our-own-choosing' });
    expect(dashboard.token).toBe('a-token-of-our-own-choosing');
    expect(dashboard.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=a-token-of-our-own-choosing$/);
    const entered = await fetch(dashboard.url, { redirect: 'manual' });
    expect(entered.status).toBe(303);
    expect(entered.headers.get('location')).toBe('/');
    const cookie = entered.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/^taskloom_dashboard_\d+=a-token-of-our-own-choosing; /);
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Strict');
    const { origin } = new URL(dashboard.url);
    const page = await fetch(`${origin}/`, { headers: { Cookie: cookie.split(';')[0]! } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<table id="tasks">');
    const wrongEntry = await fetch(`${origin}/?token=not-the-token-at-all`, { redirect: 'manual' });
    expect(wrongEntry.status).toBe(401);
    expect(wrongEntry.headers.get('set-cookie')).toBeNull();
  });

  it('refuses a request that changes something from another origin, or with a cookie and no origin', async () => {
    const manager = createManager({ maxConcurrentTasks: 1 });
    const id = manager.createTask('pending', new Holds().handler);
    const dashboard = await serve(manager);
    const { origin, host } = new URL(dashboard.url);
    const cookie = ((await fetch(dashboard.url, { redirect: 'manual' })).headers.get('set-cookie') ?? '').split(';')[0]!;
    const body = JSON.stringify({ priority: 5 });
    const json = { 'Content-Type': 'application/json' };
    const priority = `${origin}/api/tasks/${id}/priority`;
    const refused = [
      { Cookie: cookie, Origin: 'http://evil.example', ...json },
      { Cookie: cookie, Origin: 'http://127.0.0.1:1', ...json },
      { Cookie: cookie, ...json },
      { Cookie: cookie, Origin: origin, 'Sec-Fetch-Site': 'cross-site', ...json },
      { Cookie: cookie, Origin: origin, 'Sec-Fetch-Site': 'same-site', ...json },
      { Authorization: `Bearer ${dashboard.token}`, Origin: 'http://evil.example', ...json },
    ];
    for (const headers of refused) {
      const response = await rawRequest(priority, { method: 'POST', headers, body });
      expect(response.status, JSON.stringify(headers)).toBe(403);
      expect(response.headers['access-control-allow-origin']).toBeUndefined();
    }
    expect(manager.getTask(id)!.priority).toBe(0);
    // From the page itself (cookie and its own origin), or from a script with the bearer token.
    const fromPage = await rawRequest(priority, { method: 'POST', headers: { Cookie: cookie, Origin: origin, Host: host, ...json }, body });
    expect(fromPage.status).toBe(200);
    const fromScript = await rawRequest(priority, {
      method: 'POST',
      headers: { Authorization: `Bearer ${dashboard.token}`, ...json },
      body: '{"priority":6}',
    });
    expect(fromScript.status).toBe(200);
    expect(manager.getTask(id)!.priority).toBe(6);
  });

  it('sends no CORS header, answers no preflight, and sets a CSP that forbids inline script', async () => {
    const dashboard = await serve(createManager());
    const { origin } = new URL(dashboard.url);
    const preflight = await rawRequest(`${origin}/api/stats`, {
      method: 'OPTIONS',
      headers: { Origin: 'http://evil.example', 'Access-Control-Request-Method': 'POST' },
    });
    expect(preflight.status).toBe(401);
    expect(Object.keys(preflight.headers).filter((name) => name.startsWith('access-control-'))).toEqual([]);
    for (const route of ROUTES.filter((route) => route !== '/api/events')) {
      const response = await client(dashboard).get(route, { headers: { Origin: 'http://evil.example' } });
      expect(
        [...response.headers.keys()].filter((name) => name.startsWith('access-control-')),
        route,
      ).toEqual([]);
      const policy = response.headers.get('content-security-policy') ?? '';
      expect(policy, route).toContain("script-src 'self'");
      expect(policy).not.toContain('unsafe-inline');
      expect(policy).toContain("frame-ancestors 'none'");
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(response.headers.get('referrer-policy')).toBe('no-referrer');
      await response.arrayBuffer();
    }
    const page = await (await client(dashboard).get('/')).text();
    // Every script of the page is a file of the package: none inline, none from elsewhere.
    const scripts = [...page.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attributes, content] of scripts) {
      expect(content!.trim()).toBe('');
      expect(attributes).toMatch(/src="\/assets\//);
    }
    expect(page).not.toMatch(/https?:\/\//);
  });

  it('turns away a Host header that is not loopback: a rebound host name cannot reach it', async () => {
    const dashboard = await serve(createManager());
    const { origin, port } = new URL(dashboard.url);
    const headers = { Authorization: `Bearer ${dashboard.token}` };
    expect((await rawRequest(`${origin}/api/stats`, { headers: { ...headers, Host: `attacker.example:${port}` } })).status).toBe(403);
    expect((await rawRequest(`${origin}/api/stats`, { headers: { ...headers, Host: '127.0.0.1:1' } })).status).toBe(403);
    expect((await rawRequest(`${origin}/api/stats`, { headers: { ...headers, Host: `localhost:${port}` } })).status).toBe(200);
  });

  it('refuses to bind an address other than loopback without a token of its own', async () => {
    const manager = createManager();
    await expect(manager.serveDashboard({ host: '0.0.0.0' })).rejects.toThrow(
      /Expected `options.token` with `options.host` "0.0.0.0", got none/,
    );
    await expect(manager.serveDashboard({ host: '::' })).rejects.toThrow(TypeError);
    // With a token of its own, it binds, and still needs the token.
    const dashboard = await serve(manager, { host: '0.0.0.0', token: 'shared-secret-for-the-lan' });
    expect(dashboard.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=shared-secret-for-the-lan$/);
    const { origin } = new URL(dashboard.url);
    expect((await fetch(`${origin}/api/stats`)).status).toBe(401);
    expect((await client(dashboard).get('/api/stats')).status).toBe(200);
  });

  it('checks its options, naming the one at fault', async () => {
    const manager = createManager();
    await expect(manager.serveDashboard({ port: -1 })).rejects.toThrow(RangeError);
    await expect(manager.serveDashboard({ port: 70_000 })).rejects.toThrow(/`options.port`/);
    await expect(manager.serveDashboard({ token: 'short' })).rejects.toThrow(/`options.token` to be 16 to 512/);
    await expect(manager.serveDashboard({ token: 'has a space in the middle' })).rejects.toThrow(RangeError);
    await expect(manager.serveDashboard({ token: 42 as unknown as string })).rejects.toThrow(TypeError);
    await expect(manager.serveDashboard({ host: '' })).rejects.toThrow(/`options.host`/);
    await expect(manager.serveDashboard({ registry: {} as never })).rejects.toThrow(/`options.registry`/);
    await expect(manager.serveDashboard({ colour: 'blue' } as never)).rejects.toThrow(/Unknown option `options.colour`/);
  });

  it('makes a new random token each time, and closes with the manager', async () => {
    const manager = createManager();
    const first = await serve(manager);
    const second = await serve(manager);
    expect(first.token).toMatch(/^[\w-]{43}$/);
    expect(second.token).not.toBe(first.token);
    expect(first.close()).toBe(first.close());
    await first.close();
    await expect(fetch(new URL(first.url).origin)).rejects.toThrow();
    await manager.stop();
    await expect(fetch(new URL(second.url).origin)).rejects.toThrow();
    await expect(manager.serveDashboard()).rejects.toThrow(/stop/);
  });
});
