import type { ServerResponse } from 'node:http';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { actions, TaskState, type Task } from 'taskloom';
import { periodicHealthCheck, type PeriodicHealthCheckResult } from 'taskloom/actions';
import {
  createActionManager,
  deferred,
  freePort,
  handMadeContext,
  onCleanup,
  pendingTimers,
  serve,
  socketClosed,
} from './fixtures/actions-http.js';

describe('periodicHealthCheck', () => {
  it('records a server that alternates 200 and 500: failures are recorded, never fatal', async () => {
    let served = 0;
    const server = await serve((_request, response) => {
      const status = served++ % 2 === 0 ? 200 : 500;
      // A small delay that the latency must include.
      setTimeout(() => response.writeHead(status).end('status'), 10);
    });
    const { manager, logs } = createActionManager();
    const progress: number[] = [];
    manager.on('progress', (task) => progress.push(task.progress));

    const url = `${server.base}/health`;
    const id = manager.createTask('Health', actions.periodicHealthCheck, { args: { url, intervalSeconds: 0.05, maxChecks: 4 } });
    const task = (await manager.waitFor(id)) as Task<PeriodicHealthCheckResult>;

    expect(task.state, task.error).toBe(TaskState.COMPLETED);
    expect(task.progress).toBe(100);
    expect(progress.filter((value) => value < 100)).toEqual([25, 50, 75]);
    const result = task.result as PeriodicHealthCheckResult;
    expect(result).toMatchObject({ checks: 4, healthy: 2, unhealthy: 2, uptimePercent: 50 });
    expect(result.results.map((check) => [check.ok, check.status])).toEqual([
      [true, 200],
      [false, 500],
      [true, 200],
      [false, 500],
    ]);
    expect(result.results[1]?.error).toBe('unexpected status 500 Internal Server Error');
    expect(result.results[0]).not.toHaveProperty('error');
    const latencies = result.results.map((check) => check.latencyMs as number);
    expect(latencies.every((latency) => latency >= 9)).toBe(true);
    expect(result.avgLatencyMs).toBeCloseTo(latencies.reduce((a, b) => a + b, 0) / 4, 0);
    const times = result.results.map((check) => Date.parse(check.at));
    for (let index = 1; index < times.length; index++) {
      expect((times[index] as number) - (times[index - 1] as number)).toBeGreaterThanOrEqual(49);
    }
    expect(served).toBe(4);
    // Each check is logged: ok ones at info, failed ones at warn.
    for (const check of [1, 2, 3, 4]) await logs.waitFor((line) => line.check === check);
    expect(logs.lines.filter((line) => typeof line.check === 'number').map((line) => [line.check, line.level])).toEqual([
      [1, 30],
      [2, 40],
      [3, 30],
      [4, 40],
    ]);
  });

  it('records every check as failed against a port where nothing listens, and still completes', async () => {
    const port = await freePort();
    const { manager } = createActionManager();

    const id = manager.createTask('Health', actions.periodicHealthCheck, {
      args: { url: `http://127.0.0.1:${port}/health`, intervalSeconds: 0.02, maxChecks: 3 },
    });
    const task = (await manager.waitFor(id)) as Task<PeriodicHealthCheckResult>;

    expect(task.state, task.error).toBe(TaskState.COMPLETED);
    expect(task.result).toMatchObject({ checks: 3, healthy: 0, unhealthy: 3, uptimePercent: 0, avgLatencyMs: null });
    for (const check of task.result?.results ?? []) {
      expect(check).toMatchObject({ ok: false, status: null, latencyMs: null });
      expect(check.error).toBe(`GET http://127.0.0.1:${port}/health failed: connect ECONNREFUSED 127.0.0.1:${port}`);
    }
  });

  it('runs the first check at once, records a check that times out, and honours expectStatus', async () => {
    const held: ServerResponse[] = [];
    const server = await serve((request, response) => {
      // '/hang' is never answered.
      if (request.url === '/hang') held.push(response);
      else response.writeHead(request.url === '/empty' ? 204 : 200).end();
    });
    onCleanup(() => {
      for (const response of held) response.destroy();
      return Promise.resolve();
    });
    const { manager } = createActionManager();

    // One check an hour apart: it can only finish in time if the first check runs at once.
    const once = await manager.waitFor(
      manager.createTask('Once', actions.periodicHealthCheck, { args: { url: `${server.base}/ok`, intervalSeconds: 3600, maxChecks: 1 } }),
    );
    expect(once.state, once.error).toBe(TaskState.COMPLETED);
    expect(once.result).toMatchObject({ checks: 1, healthy: 1 });

    const hung = await manager.waitFor(
      manager.createTask('Hung', actions.periodicHealthCheck, {
        args: { url: `${server.base}/hang`, intervalSeconds: 0, maxChecks: 2, timeoutMs: 100 },
      }),
    );
    expect(hung.state, hung.error).toBe(TaskState.COMPLETED);
    const hungResult = hung.result as PeriodicHealthCheckResult;
    expect(hungResult.unhealthy).toBe(2);
    expect(hungResult.results[0]).toMatchObject({
      ok: false,
      status: null,
      latencyMs: null,
      error: `GET ${server.base}/hang timed out: no complete answer within 100 ms`,
    });

    const expecting = async (path: string, expectStatus: number | number[]): Promise<boolean | undefined> => {
      const task = await manager.waitFor(
        manager.createTask('Expect', actions.periodicHealthCheck, { args: { url: `${server.base}${path}`, maxChecks: 1, expectStatus } }),
      );
      return (task.result as PeriodicHealthCheckResult | undefined)?.results[0]?.ok;
    };
    expect(await expecting('/empty', 204)).toBe(true);
    expect(await expecting('/ok', [204])).toBe(false);
    expect(await expecting('/ok', [200, 204])).toBe(true);
  });

  it('records an answer cut short as a failed check: a reset, or a body shorter than its content-length', async () => {
    const server = await serve((request, response) => {
      // '/short' announces 100000 bytes, '/reset' is chunked: both stop after 30000 and drop the connection.
      response.writeHead(200, request.url === '/short' ? { 'content-length': 100_000 } : {});
      response.write(Buffer.alloc(30_000), () => request.socket.destroy());
    });
    const task = handMadeContext();

    const short = await periodicHealthCheck(task, { url: `${server.base}/short`, maxChecks: 1 });
    const reset = await periodicHealthCheck(task, { url: `${server.base}/reset`, maxChecks: 1 });

    expect(short).toMatchObject({ checks: 1, healthy: 0, unhealthy: 1, avgLatencyMs: null });
    expect(short.results[0]).toMatchObject({ ok: false, status: null, latencyMs: null });
    expect(short.results[0]?.error).toMatch(
      /^GET http:\/\/127\.0\.0\.1:\d+\/short: the body ended after \d+ of 100000 bytes \(other side closed\)$/,
    );
    expect(reset.results[0]).toMatchObject({
      ok: false,
      status: null,
      latencyMs: null,
      error: `GET ${server.base}/reset failed: other side closed`,
    });
    expect(task.logged.map((line) => line.level)).toEqual(['warn', 'warn']);
  });

  it('reads a large answer to its last byte: a check is ok only once the whole answer has arrived', async () => {
    const body = Buffer.alloc(1024 * 1024, 'x');
    const server = await serve((request, response) => {
      response.writeHead(200, { 'content-length': body.length });
      // '/held' sends all but the last byte, then waits.
      if (request.url === '/held') response.write(body.subarray(0, -1));
      else response.end(body);
    });
    const task = handMadeContext();

    const whole = await periodicHealthCheck(task, { url: `${server.base}/whole`, maxChecks: 1 });
    const held = await periodicHealthCheck(task, { url: `${server.base}/held`, maxChecks: 1, timeoutMs: 200 });

    expect(whole.results[0]).toMatchObject({ ok: true, status: 200, latencyMs: expect.any(Number) as unknown });
    expect(held.results[0]).toMatchObject({
      ok: false,
      status: null,
      latencyMs: null,
      error: `GET ${server.base}/held timed out: no complete answer within 200 ms`,
    });
  });

  it('stops at once when cancelled while waiting for the next check', async () => {
    const server = await serve((_request, response) => response.end('ok'));
    const { manager } = createActionManager({ cancelGraceMs: 15_000 });
    const firstCheck = deferred();
    manager.on('progress', () => firstCheck.resolve());

    const id = manager.createTask('Health', actions.periodicHealthCheck, {
      args: { url: server.base, intervalSeconds: 60, maxChecks: 10 },
    });
    await firstCheck.promise;
    const cancelledAt = performance.now();
    expect(manager.cancelTask(id)).toBe(true);
    await manager.onIdle();

    expect(performance.now() - cancelledAt).toBeLessThan(5000);
    expect(manager.getTask(id)).toMatchObject({ state: TaskState.CANCELLED, progress: 10 });
  });

  it('can be called from any handler; an abort rejects with its reason and leaves no timer behind', async () => {
    const server = await serve((_request, response) => response.end('ok'));
    const task = handMadeContext();
    const result = await periodicHealthCheck(task, { url: new URL(server.base), intervalSeconds: 0, maxChecks: 2 });
    expectTypeOf(result).toEqualTypeOf<PeriodicHealthCheckResult>();
    expect(result).toMatchObject({ checks: 2, healthy: 2, uptimePercent: 100 });
    expect(task.progressHistory).toEqual([50, 100]);
    expect(task.logged.map((line) => line.level)).toEqual(['info', 'info']);
    expect(structuredClone(result)).toEqual(result);

    // Aborted while waiting for the next check.
    const controller = new AbortController();
    const cancelled = handMadeContext(controller.signal);
    const timersBefore = pendingTimers();
    const running = periodicHealthCheck(cancelled, { url: server.base, intervalSeconds: 60, maxChecks: 3 });
    await cancelled.progressReached((value) => value > 0);
    const reason = new Error('enough');
    controller.abort(reason);
    await expect(running).rejects.toBe(reason);
    expect(pendingTimers()).toBeLessThanOrEqual(timersBefore);

    // Aborted during its last check: that is a cancellation, not a failed check.
    const hanging = await serve(() => undefined);
    const lastController = new AbortController();
    const last = periodicHealthCheck(handMadeContext(lastController.signal), { url: hanging.base, maxChecks: 1 });
    const request = await hanging.nextRequest();
    lastController.abort(reason);
    await expect(last).rejects.toBe(reason);
    await socketClosed(request.socket);
  });

  it('rejects bad options with a TypeError or RangeError that names the option', async () => {
    const task = handMadeContext();
    const url = 'http://127.0.0.1:9/health';
    await expect(periodicHealthCheck(task, { url, maxChecks: 0 })).rejects.toThrow(
      new RangeError('Expected `options.maxChecks` to be a positive integer, got `0` (number)'),
    );
    await expect(periodicHealthCheck(task, { url, intervalSeconds: -5 })).rejects.toThrow(
      new RangeError('Expected `options.intervalSeconds` to be a finite number >= 0, got `-5` (number)'),
    );
    await expect(periodicHealthCheck(task, { url, timeoutMs: 0 })).rejects.toThrow(
      new RangeError('Expected `options.timeoutMs` to be a finite number > 0, got `0` (number)'),
    );
    await expect(periodicHealthCheck(task, { url, expectStatus: [200, 700] })).rejects.toThrow(
      new RangeError('Expected `options.expectStatus[1]` to be an HTTP status code (an integer from 100 to 599), got `700` (number)'),
    );
    await expect(periodicHealthCheck(task, { url: 'localhost:8080' })).rejects.toThrow(TypeError);
    await expect(periodicHealthCheck(task, { url, interval: 5 } as never)).rejects.toThrow(
      /^Unknown option `options.interval`: expected one of `url`, `intervalSeconds`/,
    );
    expect(task.progressHistory).toEqual([]);
  });
});
