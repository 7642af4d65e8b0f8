/**
 * The dashboard's page in a real browser: Debian's chromium, driven by playwright-core. The
 * tasks run main-thread handlers that the test holds and releases, so each check waits for the
 * page to show what the test just did, by role and by name, as a screen reader would find it.
 */
import { createServer, type Server } from 'node:http';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { AddressInfo } from 'node:net';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Dashboard, TaskManager } from 'taskloom';
import { Holds, launchBrowser } from './dashboard-helpers.js';
import { createManager, nextEvent } from './helpers.js';

/**
 * What the functions that run in the page use of it. The tests compile without the DOM's types,
 * and these functions are sent to the page and run there, never here.
 */
interface PageElement {
  readonly textContent: string | null;
  readonly parentElement: PageElement | null;
  getBoundingClientRect(): { readonly width: number };
}
declare const document: {
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): { readonly length: number };
};
declare const window: { readonly __frames: number[]; readonly __xss?: unknown };

let browser: Awaited<ReturnType<typeof launchBrowser>>;
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  browser = await launchBrowser();
}, 60_000);

afterAll(async () => {
  await browser.close();
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function serve(manager: TaskManager): Promise<Dashboard> {
  const dashboard = await manager.serveDashboard();
  cleanups.push(() => dashboard.close());
  return dashboard;
}

/** Opens the dashboard's URL in a new tab, as a user would: with the token, once. */
async function open(dashboard: Dashboard): Promise<Page> {
  const page = await browser.context.newPage();
  cleanups.push(() => page.close());
  const response = await page.goto(dashboard.url);
  expect(response?.status()).toBe(200);
  return page;
}

/** The row of the task named `name`: the row that holds a button of exactly that name. */
function row(page: Page, name: string) {
  return page.getByRole('row').filter({ has: page.getByRole('button', { name, exact: true }) });
}

/** Resolves once the task's row shows `state`, as text. */
async function waitForState(page: Page, name: string, state: string): Promise<void> {
  await row(page, name)
    .filter({ has: page.locator('.state', { hasText: new RegExp(`^${state}$`) }) })
    .waitFor();
}

/** The names of the table's rows, top to bottom. */
function rowNames(page: Page): Promise<string[]> {
  return page.locator('#tasks tbody .task-name').allTextContents();
}

describe('dashboard page', () => {
  it('moves tasks from pending to running to completed, with a progress bar that follows task.progress', async () => {
    const manager = createManager({ maxConcurrentTasks: 1 });
    const holds = new Holds();
    const alpha = manager.createTask('Alpha', holds.handler);
    const bravo = manager.createTask('Bravo', holds.handler);
    const page = await open(await serve(manager));
    // The token has moved into a cookie: the address bar no longer shows it.
    expect(new URL(page.url()).search).toBe('');
    await waitForState(page, 'Alpha', 'pending');
    await waitForState(page, 'Bravo', 'pending');

    void manager.runTasks();
    await waitForState(page, 'Alpha', 'running');
    const bar = row(page, 'Alpha').getByRole('progressbar', { name: 'Progress of Alpha' });
    for (const progress of [30, 75]) {
      holds.progress(alpha, progress);
      await row(page, 'Alpha').locator(`[role="progressbar"][aria-valuenow="${progress}"]`).waitFor();
      // The fill's width, once its transition has run, is that share of the bar's.
      await page.waitForFunction((expected) => {
        const fill = document.querySelector('#tasks tbody tr.row-running .progress-fill');
        const track = fill?.parentElement;
        if (fill === null || track === null || track === undefined) return false;
        return Math.abs(fill.getBoundingClientRect().width / track.getBoundingClientRect().width - expected) < 0.02;
      }, progress / 100);
      expect(await bar.getAttribute('aria-valuenow')).toBe(String(progress));
    }
    expect(await page.locator('[data-count="running"]').textContent()).toBe('1');

    holds.release(alpha);
    await waitForState(page, 'Alpha', 'completed');
    await waitForState(page, 'Bravo', 'running');
    // Running first, then recently finished.
    expect(await rowNames(page)).toEqual(['Bravo', 'Alpha']);
    holds.release(bravo);
    await waitForState(page, 'Bravo', 'completed');
    expect(await page.locator('[data-count="completed"]').textContent()).toBe('2');
  });

  it('cancels a running task from its Cancel button, and reorders pending tasks when a priority changes', async () => {
    const manager = createManager({ maxConcurrentTasks: 1, autoStart: true });
    const holds = new Holds();
    const running = manager.createTask('Busy worker', holds.handler);
    await nextEvent(manager, 'started', running);
    for (const name of ['One', 'Two', 'Three']) manager.createTask(name, holds.handler);
    const page = await open(await serve(manager));
    await waitForState(page, 'Three', 'pending');
    expect(await rowNames(page)).toEqual(['Busy worker', 'One', 'Two', 'Three']);

    await page.getByRole('spinbutton', { name: 'Priority of Three' }).fill('10');
    await page.getByRole('button', { name: 'Set the priority of Three' }).click();
    await page.waitForFunction(() => document.querySelector('#tasks tbody tr:nth-child(2) .task-name')?.textContent === 'Three');
    expect(await rowNames(page)).toEqual(['Busy worker', 'Three', 'One', 'Two']);
    expect(manager.listTasks().find((task) => task.name === 'Three')!.priority).toBe(10);

    const cancelled = nextEvent(manager, 'cancelled', running);
    await page.getByRole('button', { name: 'Cancel Busy worker' }).click();
    await cancelled;
    expect(manager.getTask(running)!.state).toBe('cancelled');
    await waitForState(page, 'Busy worker', 'cancelled');
    // The highest priority runs next.
    await waitForState(page, 'Three', 'running');
  });

  it('shows names, arguments, errors and log lines as text, never as markup', async () => {
    const name = '<img src=x onerror="window.__xss=1">';
    // Log lines are kept only when the logger writes them: one that writes info lines, to nowhere.
    const logger = pino({ level: 'info' }, new Writable({ write: (_chunk, _encoding, done) => done() }));
    const manager = createManager({ maxConcurrentTasks: 1, autoStart: true, logger });
    const failed = manager.createTask(name, (task) => {
      task.log.info('<img src=y onerror="window.__xss=4">');
      throw new Error('<script>window.__xss=2</script>');
    });
    await manager.waitFor(failed);
    const holds = new Holds();
    manager.createTask('blocker', holds.handler);
    manager.createTask(`${name} again`, holds.handler, { args: { html: '<b onmouseover="window.__xss=3">bold</b>' } });
    const page = await open(await serve(manager));
    await waitForState(page, name, 'failed');
    await row(page, name).getByText('<script>window.__xss=2</script>', { exact: true }).waitFor();
    await page.getByRole('button', { name, exact: true }).click();
    await page.locator('#detail-title', { hasText: name }).waitFor();
    await page.locator('#detail [data-field="outcome"]', { hasText: '<script>window.__xss=2</script>' }).waitFor();
    await page.locator('#detail [data-field="logs"] li', { hasText: 'INFO  <img src=y onerror="window.__xss=4">' }).waitFor();
    await page.getByRole('button', { name: `${name} again`, exact: true }).click();
    await page.locator('#detail [data-field="args"]', { hasText: '<b onmouseover="window.__xss=3">bold</b>' }).waitFor();
    await page.locator('#detail [data-field="args"]').hover();
    expect(await page.evaluate(() => typeof window.__xss)).toBe('undefined');
    // The only image is the page's own icon, and no script runs but the page's files.
    expect(await page.locator('img').count()).toBe(1);
    expect(await page.locator('b').count()).toBe(0);
  });

  it('filters by state and searches by name', async () => {
    const manager = createManager({ maxConcurrentTasks: 1, autoStart: true });
    for (const name of ['resize photo 1', 'Resize Photo 2', 'send email']) await manager.waitFor(manager.createTask(name, () => name));
    const holds = new Holds();
    manager.createTask('waiting photo', holds.handler);
    const page = await open(await serve(manager));
    await waitForState(page, 'waiting photo', 'running');
    await page.getByRole('searchbox', { name: 'Name' }).fill('PHOTO');
    await page.waitForFunction(() => document.querySelectorAll('#tasks tbody tr').length === 3);
    expect((await rowNames(page)).sort()).toEqual(['Resize Photo 2', 'resize photo 1', 'waiting photo']);
    await page.getByRole('combobox', { name: 'State' }).selectOption('completed');
    await page.waitForFunction(() => document.querySelectorAll('#tasks tbody tr').length === 2);
    expect(await page.locator('#tasks tbody .state').allTextContents()).toEqual(['completed', 'completed']);
  });

  it('refuses a visitor without the token, a cross-origin POST, and a non-loopback bind without a token', async () => {
    const manager = createManager({ maxConcurrentTasks: 1 });
    const pending = manager.createTask('Pending', new Holds().handler);
    const dashboard = await serve(manager);
    const { origin } = new URL(dashboard.url);
    const stranger = await browser.context.newPage();
    cleanups.push(() => stranger.close());
    expect((await stranger.goto(`${origin}/`))?.status()).toBe(401);
    expect((await stranger.goto(`${origin}/api/stats`))?.status()).toBe(401);

    // The browser holds the cookie; a page of another origin on the same host makes it POST.
    const own = await open(dashboard);
    const evil = createServer((_request, response) => {
      response.writeHead(200, { 'Content-Type': 'text/html' });
      response.end('<!doctype html><title>elsewhere</title>');
    });
    const evilOrigin = await listen(evil);
    cleanups.push(
      () =>
        new Promise((resolve) => {
          evil.close(resolve);
          evil.closeAllConnections();
        }),
    );
    const attacker = await browser.context.newPage();
    cleanups.push(() => attacker.close());
    await attacker.goto(evilOrigin);
    const refused = attacker.waitForEvent('requestfailed', (request) => request.url().endsWith('/cancel'));
    const cancel = async (url: string): Promise<void> => {
      // A simple request, sent without a preflight, with the cookie.
      await fetch(url, { method: 'POST', credentials: 'include' }).catch(() => undefined);
    };
    const url = `${origin}/api/tasks/${pending}/cancel`;
    await attacker.evaluate(cancel, url);
    // The answer is a 403 without any CORS header: the fetch fails there, and the task is left alone.
    await refused;
    expect(manager.getTask(pending)!.state).toBe('pending');
    // The same request from the dashboard's own page is let through.
    await own.evaluate(cancel, url);
    expect(manager.getTask(pending)!.state).toBe('cancelled');

    // A free port, then nothing listens on it: the dashboard refused to start there.
    const port = await freePort();
    await expect(manager.serveDashboard({ host: '0.0.0.0', port })).rejects.toThrow(/options.token/);
    await expect(stranger.goto(`http://127.0.0.1:${port}/`)).rejects.toThrow(/ERR_CONNECTION_REFUSED/);
  });

  it('stays responsive with 20,000 pending tasks, at no more than 10 frames a second', async () => {
    const manager = createManager({ maxConcurrentTasks: 1, autoStart: true });
    const holds = new Holds();
    const running = manager.createTask('the one running', holds.handler);
    await nextEvent(manager, 'started', running);
    for (let i = 0; i < 20_000; i++) manager.createTask(`pending ${i}`, holds.handler, { priority: i % 7 });
    const dashboard = await serve(manager);
    // Count the frames as the page receives them.
    const page = await browser.context.newPage();
    cleanups.push(() => page.close());
    await page.addInitScript({
      content: `
        window.__frames = [];
        window.EventSource = class extends window.EventSource {
          constructor(url, init) {
            super(url, init);
            this.addEventListener('message', () => window.__frames.push(performance.now()));
          }
        };`,
    });
    // A change every 2 ms: far more than the frames.
    let progress = 0;
    const churn = setInterval(() => holds.progress(running, (progress = (progress + 1) % 100)), 2);
    cleanups.push(() => {
      clearInterval(churn);
      return Promise.resolve();
    });

    const started = performance.now();
    await page.goto(dashboard.url);
    await page.locator('[data-count="pending"]', { hasText: '20,000' }).waitFor();
    await page.waitForFunction(() => document.querySelectorAll('#tasks tbody tr').length === 50);
    const loadMs = performance.now() - started;
    expect(loadMs).toBeLessThan(5000);
    expect(await page.locator('#page-info').textContent()).toBe('1–50 of 20,001');

    await page.waitForFunction(() => window.__frames.length >= 31, undefined, { timeout: 15_000 });
    const frames = await page.evaluate(() => window.__frames.slice(0, 31));
    const seconds = (frames[30]! - frames[0]!) / 1000;
    expect(30 / seconds).toBeLessThanOrEqual(10.5);
    // The page answers at once between frames.
    const answered = performance.now();
    expect(await page.evaluate(() => document.querySelectorAll('#tasks tbody tr').length)).toBe(50);
    expect(performance.now() - answered).toBeLessThan(1000);
  });
});

function listen(server: Server): Promise<string> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`)),
  );
}

async function freePort(): Promise<number> {
  const server = createServer();
  await listen(server);
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
