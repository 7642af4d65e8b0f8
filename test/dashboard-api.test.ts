/**
 * The dashboard's JSON API and event stream, over real HTTP on 127.0.0.1: what each route
 * answers, its paging, and that bad input gets a 400 naming the field and an unknown id a 404.
 */
import { pino } from 'pino';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import type { Dashboard, TaskManager } from 'taskloom';
import { client, Holds, readFrames } from './dashboard-helpers.js';
import { createManager, nextEvent } from './helpers.js';

const dashboards: Dashboard[] = [];

afterEach(async () => {
  await Promise.all(dashboards.splice(0).map((dashboard) => dashboard.close()));
});

async function serve(manager: TaskManager): Promise<Dashboard> {
  const dashboard = await manager.serveDashboard();
  dashboards.push(dashboard);
  return dashboard;
}

interface Page {
  tasks: { id: string; name: string; state: string; priority: number }[];
  matching: number;
  next: string | null;
}

describe('dashboard JSON API', () => {
  it('GET /api/stats returns getStats() as JSON', async () => {
    const manager = createManager({ maxConcurrentTasks: 1, autoStart: true });
    await manager.waitFor(manager.createTask('one', () => 'done'));
    const api = client(await serve(manager));
    const response = await api.get('/api/stats');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    const stats = (await response.json()) as Record<string, unknown>;
    expect(stats).toMatchObject({ total: 1, completed: 1, pending: 0, running: 0, failed: 0, cancelled: 0 });
    expect(Object.keys(stats.runTime as object).sort()).toEqual(['max', 'mean', 'p50', 'p99']);
    expect(typeof stats.utilization).toBe('number');
    expect(typeof stats.throughput).toBe('number');
  });

  it('GET /api/tasks lists running first, then pending by priority, then finished, a page at a time', async () => {
    const manager = createManager({ maxConcurrentTasks: 1, autoStart: true });
    const holds = new Holds();
    const done = manager.createTask('finished', () => 'ok', { priority: 100 });
    await manager.waitFor(done);
    const running = manager.createTask('running', holds.handler, { priority: 50 });
    await nextEvent(manager, 'started', running);
    const names: string[] = [];
    for (let i = 0; i < 120; i++) {
      const name = `pending ${String(i).padStart(3, '0')}`;
      manager.createTask(name, holds.handler, { priority: i % 3 });
      names.push(name);
    }
    // Higher priority first, creation order among equals.
    const pendingOrder = [2, 1, 0].flatMap((priority) => names.filter((_, i) => i % 3 === priority));
    const api = client(await serve(manager));
    const seen: string[] = [];
    let cursor = '';
    let pages = 0;
    do {
      const response = await api.get(`/api/tasks?limit=50${cursor === '' ? '' : `&cursor=${cursor}`}`);
      expect(response.status).toBe(200);
      const page = (await response.json()) as Page;
      expect(page.matching).toBe(122);
      expect(page.tasks.length).toBeLessThanOrEqual(50);
      seen.push(...page.tasks.map((task) => task.name));
      cursor = page.next ?? '';
      pages++;
    } while (cursor !== '');
    expect(pages).toBe(3);
    expect(seen).toEqual(['running', ...pendingOrder, 'finished']);
  });

  it('GET /api/tasks filters by state and by name, case-insensitively', async () => {
    const manager = createManager({ maxConcurrentTasks: 1 });
    const holds = new Holds();
    for (const name of ['Resize photo 1', 'resize PHOTO 2', 'Send email', 'Resize video']) manager.createTask(name, holds.handler);
    manager.cancelTask(manager.createTask('Resize cancelled photo', holds.handler));
    const api = client(await serve(manager));
    const byName = (await (await api.get('/api/tasks?q=photo')).json()) as Page;
    expect(byName.tasks.map((task) => task.name)).toEqual(['Resize photo 1', 'resize PHOTO 2', 'Resize cancelled photo']);
    expect(byName.matching).toBe(3);
    const both = (await (await api.get('/api/tasks?state=pending&q=PHOTO')).json()) as Page;
    expect(both.tasks.map((task) => task.name)).toEqual(['Resize photo 1', 'resize PHOTO 2']);
    const cancelled = (await (await api.get('/api/tasks?state=cancelled')).json()) as Page;
    expect(cancelled.tasks.map((task) => task.state)).toEqual(['cancelled']);
  });

  it("GET /api/tasks/:id shows a task's arguments, result or error, attempts and last log lines", async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const logger = pino({ level: 'info' }, sink);
    const manager = createManager({ maxConcurrentTasks: 2, logger });
    const holds = new Holds();
    const pending = manager.createTask('pending', holds.handler, { args: { path: '/tmp/a.txt', sizes: [1, 2, 3] } });
    const logged = manager.createTask(
      'logs',
      (task) => {
        task.log.info({ step: 1 }, 'first step');
        task.log.warn('second <b>step</b>');
        task.log.debug('below the level: not kept');
        return { answer: 42 };
      },
      { priority: 10 },
    );
    const failed = manager.createTask(
      'fails',
      () => {
        throw new RangeError('out of range');
      },
      { priority: 10, retry: { attempts: 2 } },
    );
    const api = client(await serve(manager));
    const before = (await (await api.get(`/api/tasks/${pending}`)).json()) as Record<string, unknown>;
    expect(before).toMatchObject({ id: pending, name: 'pending', state: 'pending', attempts: 0, result: null });
    expect(before.args).toContain("path: '/tmp/a.txt'");
    void manager.runTasks();
    await Promise.all([manager.waitFor(logged), manager.waitFor(failed)]);
    const detail = (await (await api.get(`/api/tasks/${logged}`)).json()) as {
      result: string;
      logs: { level: string; text: string }[];
      args: unknown;
    };
    expect(detail.result).toBe('{ answer: 42 }');
    expect(detail.args).toBeNull();
    expect(detail.logs.map((line) => [line.level, line.text])).toEqual([
      ['info', 'first step { step: 1 }'],
      ['warn', 'second <b>step</b>'],
    ]);
    const failure = (await (await api.get(`/api/tasks/${failed}`)).json()) as Record<string, unknown>;
    expect(failure).toMatchObject({
      state: 'failed',
      attempts: 2,
      error: 'RangeError: out of range',
      errors: ['RangeError: out of range', 'RangeError: out of range'],
      failure: { name: 'RangeError', code: null, message: 'out of range' },
    });
  });

  it('POST /api/tasks/:id/cancel cancels, and POST /api/tasks/:id/priority reprioritizes', async () => {
    const manager = createManager({ maxConcurrentTasks: 1, autoStart: true });
    const holds = new Holds();
    const running = manager.createTask('running', holds.handler);
    await nextEvent(manager, 'started', running);
    const pending = manager.createTask('pending', holds.handler);
    const api = client(await serve(manager));
    const reprioritized = await api.post(`/api/tasks/${pending}/priority`, { priority: 7.5 });
    expect(reprioritized.status).toBe(200);
    expect(await reprioritized.json()).toMatchObject({ task: { id: pending, priority: 7.5, state: 'pending' } });
    expect(manager.getTask(pending)!.priority).toBe(7.5);
    const next = nextEvent(manager, 'started', pending);
    const cancelled = await api.post(`/api/tasks/${running}/cancel`);
    expect(cancelled.status).toBe(200);
    expect(await cancelled.json()).toMatchObject({ task: { id: running, state: 'cancelled' } });
    expect(manager.getTask(running)!.state).toBe('cancelled');
    // Once the first is cancelled the second runs: it can no longer be reprioritized, and is cancelled in turn.
    await next;
    const late = await api.post(`/api/tasks/${pending}/priority`, { priority: 1 });
    expect(late.status).toBe(409);
    expect(await late.json()).toEqual({ error: `Task ${pending} is running: only a pending task can be reprioritized`, field: 'id' });
    expect((await api.post(`/api/tasks/${pending}/cancel`)).status).toBe(200);
    const again = await api.post(`/api/tasks/${pending}/cancel`);
    expect(again.status).toBe(409);
  });

  it.each([
    ['/api/tasks?state=sleeping', 'state'],
    ['/api/tasks?limit=0', 'limit'],
    ['/api/tasks?limit=501', 'limit'],
    ['/api/tasks?limit=ten', 'limit'],
    ['/api/tasks?limit=1.5', 'limit'],
    ['/api/tasks?cursor=not-a-cursor', 'cursor'],
    ['/api/tasks?cursor=WzksMSwxXQ', 'cursor'],
    [`/api/tasks?q=${'x'.repeat(201)}`, 'q'],
    ['/api/tasks?sort=name', 'sort'],
    ['/api/tasks?state=pending&state=running', 'state'],
    ['/api/events?limit=-1', 'limit'],
    ['/api/tasks/%E0%A4%A', 'id'],
  ])('GET %s is a 400 that names `%s`', async (path, field) => {
    const api = client(await serve(createManager()));
    const response = await api.get(path);
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: string; field: string };
    expect(body.field).toBe(field);
    expect(body.error).toContain(field);
  });

  it('bad priority changes are 400s that name the field; unknown ids are 404s', async () => {
    const manager = createManager({ maxConcurrentTasks: 1 });
    const id = manager.createTask('pending', new Holds().handler);
    const api = client(await serve(manager));
    const cases: [Promise<Response>, number, string | undefined][] = [
      [api.post(`/api/tasks/${id}/priority`, { priority: 'high' }), 400, 'priority'],
      [api.post(`/api/tasks/${id}/priority`, { priority: null }), 400, 'priority'],
      [api.post(`/api/tasks/${id}/priority`, {}), 400, 'priority'],
      [api.post(`/api/tasks/${id}/priority`, { priority: 1, urgent: true }), 400, 'urgent'],
      [api.post(`/api/tasks/${id}/priority`, [1]), 400, 'body'],
      [
        api.post(`/api/tasks/${id}/priority`, undefined, { body: '{"priority":', headers: { 'Content-Type': 'application/json' } }),
        400,
        'body',
      ],
      [api.post(`/api/tasks/${id}/priority`, undefined, { body: 'priority=1', headers: { 'Content-Type': 'text/plain' } }), 415, 'body'],
      [api.post(`/api/tasks/${id}/priority`, { priority: 1, pad: 'x'.repeat(5000) }), 413, 'body'],
      [api.post('/api/tasks/no-such-task/priority', { priority: 1 }), 404, 'id'],
      [api.post('/api/tasks/no-such-task/cancel'), 404, 'id'],
      [api.get('/api/tasks/no-such-task'), 404, 'id'],
      [api.get('/api/nothing-here'), 404, undefined],
      [api.get(`/api/tasks/${id}/cancel`), 405, undefined],
      [api.post('/api/stats'), 405, undefined],
    ];
    for (const [request, status, field] of cases) {
      const response = await request;
      expect(response.status).toBe(status);
      const body = (await response.json()) as { error: string; field?: string };
      expect(body.field).toBe(field);
      expect(typeof body.error).toBe('string');
    }
    expect(manager.getTask(id)!.priority).toBe(0);
  });

  it('GET /api/events streams frames of the stats and the rows on screen, never the whole table', async () => {
    const manager = createManager({ maxConcurrentTasks: 1 });
    const holds = new Holds();
    for (let i = 0; i < 300; i++) manager.createTask(`task ${i}`, holds.handler, { priority: i });
    const dashboard = await serve(manager);
    let first: Parameters<Parameters<typeof readFrames>[2]>[0] | undefined;
    await readFrames(dashboard, '/api/events?limit=20&state=pending', (frame) => {
      first = frame;
      return true;
    });
    expect(first!.stats).toMatchObject({ total: 300, pending: 300 });
    expect(first!.rows.map((row) => row.name)).toEqual(Array.from({ length: 20 }, (_, i) => `task ${299 - i}`));
    expect(first!.matching).toBe(300);
    expect(first!.next).toEqual(expect.any(String));
    // A change shows in a later frame.
    void manager.runTasks();
    await readFrames(dashboard, '/api/events?limit=5', (frame) => frame.rows[0]?.state === 'running' && frame.stats.running === 1);
  });

  it('coalesces changes into at most 10 frames a second', async () => {
    const manager = createManager({ maxConcurrentTasks: 1, autoStart: true });
    const holds = new Holds();
    const id = manager.createTask('busy', holds.handler);
    await nextEvent(manager, 'started', id);
    const dashboard = await serve(manager);
    // A change every millisecond: far more than the frames.
    let progress = 0;
    const churn = setInterval(() => holds.progress(id, (progress = (progress + 1) % 100)), 1);
    const times: number[] = [];
    try {
      await readFrames(dashboard, '/api/events', (_frame, at) => times.push(at) >= 21);
    } finally {
      clearInterval(churn);
    }
    const seconds = ((times.at(-1) ?? 0) - (times[0] ?? 0)) / 1000;
    // 20 intervals between 21 frames: at 10 a second, at least about 2 s.
    expect(20 / seconds).toBeLessThanOrEqual(10.5);
    expect(20 / seconds).toBeGreaterThan(3);
  });
});
