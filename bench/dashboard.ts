/**
 * The dashboard scenario: what watching a manager costs.
 *
 * - No-op throughput of a manager whose dashboard is served, with two clients following its
 *   event stream from another process (as a browser would), against a manager without one. The
 *   issue's target: at least 0.9x.
 * - What getStats()'s timing figures cost: the same manager, with the hooks the task table
 *   calls for them (queued, started, retried, finished: dist/main/stats.js) replaced by empty
 *   functions for its turn, the fair baseline: every other line of the hot path stays. The
 *   issue's target: under 3% of throughput, so at least 0.97x.
 *
 * Each subject runs no-op tasks all at once, on worker threads and on the main thread, in
 * rounds that go round the subjects from a different start each time.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { TaskManager, type Dashboard, type Handler } from 'taskloom';
import { checkTarget, FigureSet, type Check, type ScenarioResult } from './lib/figures.js';
import { fixture, PACKAGE_ROOT } from './lib/paths.js';
import { managerOptions, taskloomHandler } from './lib/pools.js';
import { goRound, PerRound, roundCount, type Visit } from './lib/rounds.js';
import { timed, type Scenario, type ScenarioContext } from './lib/scenario.js';
import { summarizePerRound } from './lib/stats.js';

const WORKERS = 'no-op tasks, all at once';
const MAIN_THREAD = 'main-thread no-op tasks, all at once';
const PLAIN = 'taskloom';
const TIMINGS_OFF = 'taskloom, timing figures off';
const WATCHED = 'taskloom, dashboard + 2 SSE clients';
const CLIENTS = 2;
const FRAME_CAP = 10;
const HOOKS = ['queued', 'started', 'retried', 'finished'] as const;
const HOOKS_METRIC = 'timing hooks, per task';

/** The hooks of the timing figures, as the built task table calls them: methods of TaskTimings.prototype. */
type TimingHooks = Record<(typeof HOOKS)[number], (...args: unknown[]) => void>;

/**
 * Runs `action` with the timing hooks of the build `taskloom` resolves to emptied, and puts them
 * back after. The same module instance as the managers': `taskloom` is this package's dist.
 */
async function withoutTimings<T>(hooks: TimingHooks, action: () => Promise<T>): Promise<T> {
  const saved = HOOKS.map((name) => [name, hooks[name]] as const);
  for (const name of HOOKS) hooks[name] = (): void => undefined;
  try {
    return await action();
  } finally {
    for (const [name, hook] of saved) hooks[name] = hook;
  }
}

/** The built TaskTimings class, whose prototype holds the hooks. */
interface TimingsClass {
  new (slots: number): TimingHooks;
  readonly prototype: TimingHooks;
}

async function loadTimings(): Promise<TimingsClass> {
  const url = pathToFileURL(join(PACKAGE_ROOT, 'dist', 'main', 'stats.js')).href;
  const { TaskTimings } = (await import(url)) as { TaskTimings?: TimingsClass };
  if (TaskTimings === undefined) throw new Error(`Expected ${url} to export TaskTimings`);
  return TaskTimings;
}

/**
 * The hooks' own cost per task, in nanoseconds: queued, started and finished, as the table calls
 * them, on 10,000 records shaped like the table's, with the loop that walks them counted in. A
 * figure that a busy machine moves far less than the end-to-end comparison.
 */
function hookCost(Timings: TimingsClass): number {
  const timings = new Timings(2);
  const now = Date.now();
  const records = Array.from({ length: 10_000 }, () => ({
    since: 0,
    state: 'pending',
    internal: undefined,
    batch: undefined,
    createdAt: now,
  }));
  const cycle = (): void => {
    for (const record of records) timings.queued(record, record.createdAt);
    for (const record of records) {
      timings.started(record, now);
      record.state = 'running';
    }
    for (const record of records) {
      timings.finished(record, now + 1, false);
      record.state = 'completed';
    }
    for (const record of records) record.state = 'pending';
  };
  for (let warm = 0; warm < 20; warm++) cycle();
  const cycles = 100;
  const started = performance.now();
  for (let round = 0; round < cycles; round++) cycle();
  return ((performance.now() - started) * 1e6) / (cycles * records.length);
}

/** Clients of the dashboard's event stream in a child process; `stop` resolves with the frames each received. */
interface Clients {
  /** When every stream was open, on performance.now()'s clock. */
  readonly readyAt: number;
  stop(): Promise<number[]>;
}

async function startClients(dashboard: Dashboard): Promise<Clients> {
  const events = `${new URL(dashboard.url).origin}/api/events`;
  const script = fileURLToPath(fixture('sse-clients'));
  const child = spawn(process.execPath, [...process.execArgv, script, events, dashboard.token, String(CLIENTS)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
      if (output.includes('ready\n')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`the SSE clients exited (${String(code)}) before they were ready`)));
  });
  return {
    readyAt: performance.now(),
    async stop() {
      const exited = once(child, 'exit');
      child.stdin.end();
      await exited;
      return JSON.parse(output.slice(output.indexOf('ready\n') + 'ready\n'.length)) as number[];
    },
  };
}

/** Runs `count` tasks of `handler` all at once on `manager`; the rate in tasks per second. */
async function rate(manager: TaskManager, handler: Handler, count: number): Promise<number> {
  const ms = await timed(async () => {
    for (let i = 0; i < count; i++) manager.createTask('noop', handler);
    await manager.onIdle();
  });
  return (count / ms) * 1000;
}

async function run(context: ScenarioContext): Promise<ScenarioResult> {
  // Large enough that a visit lasts a fair fraction of a second even with batched dispatch.
  const count = context.quick ? 20_000 : 200_000;
  const rounds = roundCount(context);
  const figures = new FigureSet('dashboard');
  const worker = taskloomHandler('noop');
  const noop = (): undefined => undefined;
  const Timings = await loadTimings();
  const hooks = Timings.prototype;
  const hookNs: number[] = [];

  const plain = new TaskManager(managerOptions(context.poolSize));
  const watched = new TaskManager(managerOptions(context.poolSize));
  const dashboard = await watched.serveDashboard();
  let clients: Clients | undefined;
  const samples = { [WORKERS]: new PerRound(), [MAIN_THREAD]: new PerRound() };
  let watchedMs = 0;
  try {
    clients = await startClients(dashboard);
    const measure = async (subject: string, manager: TaskManager): Promise<void> => {
      samples[WORKERS].add(subject, await rate(manager, worker, count));
      samples[MAIN_THREAD].add(subject, await rate(manager, noop, count));
    };
    const visits: Visit[] = [
      { name: PLAIN, measure: () => measure(PLAIN, plain) },
      {
        name: TIMINGS_OFF,
        async measure() {
          await withoutTimings(hooks, () => measure(TIMINGS_OFF, plain));
          hookNs.push(hookCost(Timings));
        },
      },
      {
        name: WATCHED,
        async measure() {
          watchedMs += await timed(() => measure(WATCHED, watched));
        },
      },
    ];
    // One round first, not counted: the threads start and every path warms up.
    await goRound(context, 'dashboard: warm-up', 1, visits);
    for (const perRound of Object.values(samples)) perRound.clear();
    hookNs.length = 0;
    watchedMs = 0;
    await goRound(context, 'dashboard', rounds, visits);
    const { readyAt } = clients;
    const frames = await clients.stop();
    const observedMs = performance.now() - readyAt;
    clients = undefined;

    for (const [metric, perRound] of Object.entries(samples)) {
      for (const [subject, values] of perRound.entries()) {
        figures.add(metric, subject, 'tasks/s', 'higher', summarizePerRound(values), subject === PLAIN ? null : PLAIN);
      }
    }
    figures.add(HOOKS_METRIC, PLAIN, 'ns', 'lower', summarizePerRound(hookNs), null);
    const hookShare = (metric: string): number | undefined => {
      const perTask = figures.find(HOOKS_METRIC, PLAIN)?.p50;
      const rate = figures.find(metric, PLAIN)?.p50;
      return perTask === undefined || rate === undefined ? undefined : (perTask * rate) / 1e9;
    };
    const checks: Check[] = frames.map((received, index) => {
      // The first frame comes at once when a stream opens; the cap holds from then on.
      const perSecond = (received - 1) / (observedMs / 1000);
      return {
        check: `SSE client ${index + 1} receives at most ${FRAME_CAP} frames a second`,
        passed: perSecond <= FRAME_CAP,
        detail:
          `${received} frames in ${(observedMs / 1000).toFixed(1)} s: ${perSecond.toFixed(2)} a second after the first ` +
          `(the manager it watched was busy ${(watchedMs / 1000).toFixed(1)} s of that)`,
      };
    });
    return {
      figures: figures.figures(),
      targets: [
        ...[WORKERS, MAIN_THREAD].map((metric) =>
          checkTarget(
            'no-op throughput with the dashboard open and two SSE clients at least 0.9x without it',
            `${WATCHED} p50 ÷ ${PLAIN} p50, ${metric}`,
            figures.compare(metric, WATCHED, PLAIN),
            0.9,
            '×',
            'higher',
          ),
        ),
        ...[WORKERS, MAIN_THREAD].map((metric) =>
          checkTarget(
            'the timing figures cost under 3% of throughput',
            `${PLAIN} p50 ÷ ${TIMINGS_OFF} p50, ${metric}`,
            figures.compare(metric, PLAIN, TIMINGS_OFF),
            0.97,
            '×',
            'higher',
          ),
        ),
        ...[WORKERS, MAIN_THREAD].map((metric) =>
          checkTarget(
            'the timing figures cost under 3% of throughput',
            `${HOOKS_METRIC} p50 × ${PLAIN}'s rate p50: the share of a task's time, ${metric}`,
            hookShare(metric),
            0.03,
            '',
            'lower',
          ),
        ),
      ],
      checks,
      notes: [
        `${count.toLocaleString('en-US')} tasks per subject and metric in each of ${rounds} rounds (after one round not counted), ` +
          `pool size ${context.poolSize}; p50 is the median of the rounds, spread their lowest to highest`,
        `${WATCHED}: a manager with serveDashboard() running and ${CLIENTS} clients following GET /api/events (the page's default view) ` +
          'from a child process all along; it gets a frame whenever a task changed, coalesced to 10 a second',
        `${TIMINGS_OFF}: the same manager as ${PLAIN}, with the timing hooks the task table calls (TaskTimings.prototype: ${HOOKS.join(', ')}) ` +
          'replaced by empty functions for its turn: the fair baseline, with every other line of the hot path left as it is',
        `${HOOKS_METRIC}: the hooks alone on 10,000 records shaped like the table's, measured after each ${TIMINGS_OFF} turn; ` +
          "times a subject's rate, the share of each task's time they take, which a busy machine moves far less than the comparison above",
      ],
    };
  } finally {
    await clients?.stop();
    await Promise.all([plain.stop(), watched.stop()]);
  }
}

export const scenario: Scenario = { name: 'dashboard', title: 'Dashboard and timing figures: what watching costs', run };
