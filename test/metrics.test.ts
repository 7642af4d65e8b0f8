/**
 * GET /metrics and registerMetrics: Prometheus text through prom-client, with stable names, that
 * parses, and whose figures agree with getStats().
 */
import { Counter, Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import type { Dashboard } from 'taskloom';
import { client, Holds } from './dashboard-helpers.js';
import { createManager, nextEvent, work } from './helpers.js';

const dashboards: Dashboard[] = [];

afterEach(async () => {
  await Promise.all(dashboards.splice(0).map((dashboard) => dashboard.close()));
});

interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

interface Family {
  readonly type: string;
  readonly help: string;
  readonly samples: Sample[];
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const SAMPLE = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (\\S+)$`);
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\.)*)"(?:,|$)/gy;

/**
 * Parses the Prometheus text format (0.0.4), strictly: every line is a HELP, a TYPE or a sample
 * of a declared family, labels are well formed, values are numbers. Throws on anything else.
 */
function parsePrometheus(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const familyOf = (sample: string): Family | undefined => families.get(sample) ?? families.get(sample.replace(/_(bucket|sum|count)$/, ''));
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const meta = new RegExp(`^# (HELP|TYPE) (${NAME}) (.*)$`).exec(line);
    if (meta !== null) {
      const [, kind, name, rest] = meta as unknown as [string, string, string, string];
      const family = families.get(name) ?? { type: '', help: '', samples: [] };
      families.set(name, kind === 'HELP' ? { ...family, help: rest } : { ...family, type: rest });
      continue;
    }
    const match = SAMPLE.exec(line);
    if (match === null) throw new Error(`not a Prometheus line: ${line}`);
    const [, name, labelText = '', valueText] = match as unknown as [string, string, string | undefined, string];
    const family = familyOf(name);
    if (family === undefined || !['counter', 'gauge', 'histogram'].includes(family.type)) throw new Error(`no TYPE before ${line}`);
    const labels: Record<string, string> = {};
    LABEL.lastIndex = 0;
    let consumed = 0;
    for (const label of labelText.matchAll(LABEL)) {
      labels[label[1]!] = label[2]!;
      consumed += label[0].length;
    }
    if (consumed !== labelText.length) throw new Error(`bad labels in ${line}`);
    const value = valueText === '+Inf' ? Infinity : Number(valueText);
    if (Number.isNaN(value)) throw new Error(`bad value in ${line}`);
    family.samples.push({ name, labels, value });
  }
  return families;
}

function value(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number | undefined {
  const family = families.get(name) ?? families.get(name.replace(/_(bucket|sum|count)$/, ''));
  return family?.samples.find((sample) => sample.name === name && Object.entries(labels).every(([k, v]) => sample.labels[k] === v))?.value;
}

describe('Prometheus metrics', () => {
  it('GET /metrics parses as Prometheus text, with stable names that agree with getStats()', async () => {
    const manager = createManager({ maxConcurrentTasks: 2 });
    const dashboard = await manager.serveDashboard();
    dashboards.push(dashboard);
    const holds = new Holds();
    let calls = 0;
    const flaky = (): string => {
      calls++;
      if (calls === 1) throw new Error('first try fails');
      return 'second try works';
    };
    manager.createTask('completes', work(5));
    manager.createTask('retried once', flaky, { retry: { attempts: 2 } });
    manager.createTask('fails', () => {
      throw new Error('no');
    });
    manager.createTask('times out', work(10_000), { timeoutMs: 20 });
    manager.cancelTask(manager.createTask('cancelled while pending', work(5)));
    void manager.runTasks();
    await manager.onIdle();
    // Two slots: two hold them, one waits.
    const running = [manager.createTask('running', holds.handler), manager.createTask('running too', holds.handler)];
    await Promise.all(running.map((id) => nextEvent(manager, 'started', id)));
    manager.createTask('pending', holds.handler);

    const response = await client(dashboard).get('/metrics');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const families = parsePrometheus(await response.text());
    const stats = manager.getStats();
    expect(Object.fromEntries([...families].map(([name, family]) => [name, family.type]))).toEqual({
      taskloom_tasks_finished_total: 'counter',
      taskloom_tasks_pending: 'gauge',
      taskloom_tasks_running: 'gauge',
      taskloom_utilization: 'gauge',
      taskloom_task_wait_seconds: 'histogram',
      taskloom_task_run_seconds: 'histogram',
      taskloom_task_retries_total: 'counter',
      taskloom_task_timeouts_total: 'counter',
    });
    expect(stats).toMatchObject({ completed: 2, failed: 2, cancelled: 1, running: 2, pending: 1 });
    for (const state of ['completed', 'failed', 'cancelled'] as const) {
      expect(value(families, 'taskloom_tasks_finished_total', { state })).toBe(stats[state]);
    }
    expect(value(families, 'taskloom_tasks_pending')).toBe(stats.pending);
    expect(value(families, 'taskloom_tasks_running')).toBe(stats.running);
    expect(value(families, 'taskloom_task_retries_total')).toBe(1);
    expect(value(families, 'taskloom_task_timeouts_total')).toBe(1);
    const utilization = value(families, 'taskloom_utilization')!;
    expect(utilization).toBeGreaterThan(0);
    expect(utilization).toBeLessThanOrEqual(1);
    // Six starts, the retry's included, and the two running; five ended attempts, the retried one's included.
    expect(value(families, 'taskloom_task_wait_seconds_count')).toBe(7);
    expect(value(families, 'taskloom_task_run_seconds_count')).toBe(5);
    for (const name of ['taskloom_task_wait_seconds', 'taskloom_task_run_seconds']) {
      const buckets = families.get(name)!.samples.filter((sample) => sample.name === `${name}_bucket`);
      const counts = buckets.map((bucket) => bucket.value);
      expect(counts).toEqual([...counts].sort((a, b) => a - b));
      expect(buckets.at(-1)!.labels.le).toBe('+Inf');
      expect(counts.at(-1)).toBe(value(families, `${name}_count`));
    }
    // The timed-out attempt ran about 20 ms, the retried one well under: runs sum up to at least that.
    expect(value(families, 'taskloom_task_run_seconds_sum')).toBeGreaterThanOrEqual(0.02);
  });

  it("registers in a registry of the user's own, beside their metrics, and /metrics serves all of it", async () => {
    const registry = new Registry();
    const mine = new Counter({ name: 'my_app_requests_total', help: 'Requests.', registers: [registry] });
    mine.inc(3);
    const manager = createManager({ autoStart: true });
    await manager.waitFor(manager.createTask('one', () => 1));
    const dashboard = await manager.serveDashboard({ registry });
    const text = await (await client(dashboard).get('/metrics')).text();
    expect(value(parsePrometheus(text), 'my_app_requests_total')).toBe(3);
    expect(value(parsePrometheus(await registry.metrics()), 'taskloom_tasks_finished_total', { state: 'completed' })).toBe(1);
    // Closing the dashboard takes taskloom's metrics out again, and leaves the user's.
    await dashboard.close();
    expect(registry.getSingleMetric('taskloom_tasks_pending')).toBeUndefined();
    expect(registry.getSingleMetric('my_app_requests_total')).toBeDefined();
  });

  it('registerMetrics puts them in a registry without any dashboard, once per registry', async () => {
    const registry = new Registry();
    const manager = createManager({ autoStart: true });
    await manager.registerMetrics(registry);
    await manager.waitFor(manager.createTask('one', work(2)));
    const families = parsePrometheus(await registry.metrics());
    expect(value(families, 'taskloom_tasks_finished_total', { state: 'completed' })).toBe(1);
    expect(value(families, 'taskloom_task_run_seconds_count')).toBe(1);
    await expect(manager.registerMetrics(registry)).rejects.toThrow(/taskloom_tasks_finished_total is registered already/);
    await expect(manager.registerMetrics('registry' as unknown as Registry)).rejects.toThrow(TypeError);
    await expect(manager.registerMetrics('registry' as unknown as Registry)).rejects.toThrow(/`registry`/);
  });

  it('needs the token', async () => {
    const dashboard = await createManager().serveDashboard();
    dashboards.push(dashboard);
    expect((await fetch(`${new URL(dashboard.url).origin}/metrics`)).status).toBe(401);
  });
});
