/**
 * Distributed throughput: no-op tasks and 5 ms CPU tasks through one Redis on loopback, run by 1,
 * 2 and 4 worker processes (one task at a time each), for taskloom's DistributedTaskManager and for
 * BullMQ with a plain processor (the anchor: what taskloom adds on top of BullMQ), beside the
 * single-process TaskManager with as many threads. Then the per-task overhead in Redis: the
 * commands each task costs (INFO commandstats before and after, Lua scripts' own commands
 * included), the round trips (commands sent by clients, counted with MONITOR on a small run), and
 * Redis's own time per task, from which the notes estimate where Redis saturates.
 *
 * Redis: TASKLOOM_TEST_REDIS_URL, or a redis-server started here on a free port.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { TaskManager, workerTask } from 'taskloom';
import { DistributedTaskManager } from 'taskloom/distributed';
import { FigureSet, type Check, type ScenarioResult } from './lib/figures.js';
import type { Scenario, ScenarioContext } from './lib/scenario.js';
import { summarizePerRound } from './lib/stats.js';

const TASKS = new URL('./fixtures/distributed-tasks.mjs', import.meta.url);
const WORKER = new URL('./fixtures/distributed-worker.mjs', import.meta.url);
const PROCESSES = [1, 2, 4] as const;
const WORKLOADS = [
  { name: 'no-op', handler: 'noop', ms: 0 },
  { name: '5 ms CPU', handler: 'cpu5', ms: 5 },
] as const;
type Workload = (typeof WORKLOADS)[number];
const TASKLOOM = 'taskloom distributed';
const BULLMQ = 'BullMQ, plain processor';
const LOCAL = 'TaskManager, one process';
/** Tasks submitted at once, at most: createTask is awaited, so this keeps several in flight. */
const IN_FLIGHT = 64;
/** Tasks run before the clock starts, so that every process and thread is up. */
const WARM_UP = 16;

interface RedisHandle {
  readonly url: string;
  close(): Promise<void>;
}

async function run(context: ScenarioContext): Promise<ScenarioResult> {
  const redis = await openRedis();
  const admin = new Redis(redis.url, { maxRetriesPerRequest: null });
  const figures = new FigureSet('distributed');
  const checks: Check[] = [];
  const rounds = context.quick ? 1 : 3;
  const counts = { 'no-op': context.quick ? 300 : 3000, '5 ms CPU': context.quick ? 150 : 1000 };
  const rates = new Map<string, number[]>();
  try {
    for (const workload of WORKLOADS) {
      const count = counts[workload.name];
      for (const processes of PROCESSES) {
        const metric = `${workload.name} tasks/s, ${processes} process${processes === 1 ? '' : 'es'}`;
        const subjects: [string, () => Promise<number>][] = [
          [TASKLOOM, () => distributedRun('taskloom', redis.url, processes, workload, count)],
          [BULLMQ, () => distributedRun('bullmq', redis.url, processes, workload, count)],
          [LOCAL, () => localRun(processes, workload, count)],
        ];
        for (let round = 0; round < rounds; round++) {
          // Each round starts from another subject, so that none always runs first.
          for (const [subject, measure] of [...subjects.slice(round % subjects.length), ...subjects.slice(0, round % subjects.length)]) {
            const visitStarted = performance.now();
            const rate = await measure();
            context.log(`${metric}, ${subject}: ${Math.round(rate)}/s (${((performance.now() - visitStarted) / 1000).toFixed(1)} s)`);
            const key = `${metric}|${subject}`;
            rates.set(key, [...(rates.get(key) ?? []), rate]);
          }
        }
        for (const [subject] of subjects) {
          figures.add(metric, subject, 'tasks/s', 'higher', summarizePerRound(rates.get(`${metric}|${subject}`) ?? []), BULLMQ);
        }
      }
    }
    const overhead = {
      taskloom: await redisCost(admin, 'taskloom', redis.url, counts['no-op']),
      bullmq: await redisCost(admin, 'bullmq', redis.url, counts['no-op']),
    };
    const trips = { taskloom: await roundTrips('taskloom', redis.url), bullmq: await roundTrips('bullmq', redis.url) };
    for (const [subject, kind] of [
      [TASKLOOM, 'taskloom'],
      [BULLMQ, 'bullmq'],
    ] as const) {
      figures.add(
        'Redis commands per task (Lua included)',
        subject,
        'commands',
        'lower',
        summarizePerRound([overhead[kind].commands]),
        BULLMQ,
      );
      figures.add('Redis round trips per task', subject, 'round trips', 'lower', summarizePerRound([trips[kind]]), BULLMQ);
      figures.add("Redis's own time per task", subject, 'µs', 'lower', summarizePerRound([overhead[kind].usec]), BULLMQ);
    }
    checks.push({
      check: 'every task of every run completed',
      passed: true,
      detail: 'each run waits for all its tasks to complete, or throws',
    });
    return { figures: figures.figures(), targets: [], checks, notes: notes(context, rates, overhead, trips, counts, rounds) };
  } finally {
    admin.disconnect();
    await redis.close();
  }
}

/** Tasks per second through `processes` worker processes of one kind, the submitter being this process. */
async function distributedRun(
  kind: 'taskloom' | 'bullmq',
  url: string,
  processes: number,
  workload: Workload,
  count: number,
): Promise<number> {
  const queue = `bench-${kind}-${Date.now()}-${Math.random().toString(36).slice(2)}`;
  const children = await Promise.all(Array.from({ length: processes }, () => startWorker(kind, url, queue)));
  try {
    return kind === 'taskloom' ? await submitTaskloom(url, queue, workload, count) : await submitBullmq(url, queue, workload, count);
  } finally {
    await Promise.all(children.map(stopWorker));
  }
}

async function submitTaskloom(url: string, queue: string, workload: Workload, count: number): Promise<number> {
  const submitter = new DistributedTaskManager({ redis: url, queue, work: false, logger: false });
  try {
    await submitter.ready();
    const handler = workerTask(TASKS, workload.handler);
    // Warm up: every process starts its worker thread before the clock starts.
    await inBatches(WARM_UP, () => submitter.createTask('warm up', handler));
    await submitter.onIdle();
    const started = performance.now();
    await inBatches(count, () => submitter.createTask('bench', handler));
    await submitter.onIdle();
    const elapsed = performance.now() - started;
    const stats = await submitter.getStats();
    if (stats.completed !== count + WARM_UP)
      throw new Error(`taskloom distributed: ${stats.completed - WARM_UP} of ${count} tasks completed`);
    return (count / elapsed) * 1000;
  } finally {
    await submitter.stop();
  }
}

async function submitBullmq(url: string, queue: string, workload: Workload, count: number): Promise<number> {
  const connection = { ...redisOptions(url), maxRetriesPerRequest: null };
  const jobs = new Queue(queue, { connection });
  // The queue is new: read its events from the start, so that none is missed before the first read.
  const events = new QueueEvents(queue, { connection, lastEventId: '0' });
  try {
    await Promise.all([jobs.waitUntilReady(), events.waitUntilReady()]);
    let completed = 0;
    let warm: () => void = () => undefined;
    const warmedUp = new Promise<void>((resolve) => (warm = resolve));
    const done = new Promise<void>((resolve) => {
      events.on('completed', () => {
        if (++completed === WARM_UP) warm();
        if (completed === WARM_UP + count) resolve();
      });
    });
    await inBatches(WARM_UP, () => jobs.add('warm up', { ms: workload.ms }, { removeOnComplete: 10_000 }));
    await warmedUp;
    const started = performance.now();
    await inBatches(count, () => jobs.add('bench', { ms: workload.ms }, { removeOnComplete: 10_000 }));
    await done;
    return (count / (performance.now() - started)) * 1000;
  } finally {
    await events.close();
    await jobs.close();
  }
}

async function localRun(threads: number, workload: Workload, count: number): Promise<number> {
  const manager = new TaskManager({ maxConcurrentTasks: threads, autoStart: true, logger: false });
  const handler = workerTask(TASKS, workload.handler);
  try {
    for (let i = 0; i < WARM_UP; i++) manager.createTask('warm up', handler);
    await manager.onIdle();
    const started = performance.now();
    for (let i = 0; i < count; i++) manager.createTask('bench', handler);
    await manager.onIdle();
    return (count / (performance.now() - started)) * 1000;
  } finally {
    await manager.stop();
  }
}

/** Redis commands (scripts' own included) and Redis time per task, from INFO commandstats around one run. */
async function redisCost(
  admin: Redis,
  kind: 'taskloom' | 'bullmq',
  url: string,
  count: number,
): Promise<{ commands: number; usec: number; top: string }> {
  const before = commandStats(await admin.info('commandstats'));
  await distributedRun(kind, url, 1, WORKLOADS[0], count);
  const after = commandStats(await admin.info('commandstats'));
  const deltas = [...after].map(([name, { calls, usec }]) => {
    const earlier = before.get(name) ?? { calls: 0, usec: 0 };
    return { name, calls: calls - earlier.calls, usec: usec - earlier.usec };
  });
  const top = deltas
    .filter((delta) => delta.calls > 0)
    .sort((a, b) => b.calls - a.calls)
    .slice(0, 6)
    .map((delta) => `${delta.name} ${(delta.calls / count).toFixed(1)}`)
    .join(', ');
  const sum = (key: 'calls' | 'usec'): number => deltas.reduce((total, delta) => total + delta[key], 0) / count;
  return { commands: sum('calls'), usec: sum('usec'), top };
}

function commandStats(info: string): Map<string, { calls: number; usec: number }> {
  const stats = new Map<string, { calls: number; usec: number }>();
  for (const [, name = '', calls, usec] of info.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) {
    stats.set(name, { calls: Number(calls), usec: Number(usec) });
  }
  return stats;
}

/** Commands sent by clients per task (what a Lua script does inside counts as its one call), counted with MONITOR on a small run. */
async function roundTrips(kind: 'taskloom' | 'bullmq', url: string): Promise<number> {
  const count = 100;
  const client = new Redis(url);
  const monitor = await client.monitor();
  let sent = 0;
  monitor.on('monitor', (_time: string, _args: string[], source: string) => {
    if (source !== 'lua') sent++;
  });
  try {
    await distributedRun(kind, url, 1, WORKLOADS[0], count);
  } finally {
    monitor.disconnect();
    client.disconnect();
  }
  return sent / count;
}

async function inBatches(count: number, submit: () => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(IN_FLIGHT, count) }, async () => {
      while (next < count) {
        next++;
        await submit();
      }
    }),
  );
}

async function startWorker(kind: string, url: string, queue: string): Promise<ChildProcess> {
  const child = fork(WORKER, [kind, url, queue], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [] });
  const [message] = (await Promise.race([once(child, 'message'), once(child, 'exit').then(() => ['exited'])])) as [unknown];
  if (message !== 'ready') throw new Error(`a ${kind} worker process did not start`);
  return child;
}

async function stopWorker(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = once(child, 'exit');
  child.send('stop');
  await exited;
}

function redisOptions(url: string): { host: string; port: number } {
  const { hostname, port } = new URL(url);
  return { host: hostname, port: Number(port) };
}

/** The Redis of CI (TASKLOOM_TEST_REDIS_URL), or a redis-server of our own on a free port. */
async function openRedis(): Promise<RedisHandle> {
  const given = process.env['TASKLOOM_TEST_REDIS_URL'];
  if (given !== undefined && given !== '') return { url: given, close: () => Promise.resolve() };
  const probe = createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as { port: number };
  probe.close();
  const dir = mkdtempSync(join(tmpdir(), 'taskloom-bench-redis-'));
  const server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    server.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
      if (output.includes('Ready to accept connections')) resolve();
    });
    server.once('exit', (code) => reject(new Error(`redis-server exited with code ${code}`)));
  });
  return {
    url: `redis://127.0.0.1:${port}`,
    close: async () => {
      const exited = once(server, 'exit');
      server.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function notes(
  context: ScenarioContext,
  rates: Map<string, number[]>,
  overhead: Record<'taskloom' | 'bullmq', { commands: number; usec: number; top: string }>,
  trips: Record<'taskloom' | 'bullmq', number>,
  counts: Record<Workload['name'], number>,
  rounds: number,
): string[] {
  const median = (key: string): number => {
    const values = [...(rates.get(key) ?? [])].sort((a, b) => a - b);
    return values[Math.floor(values.length / 2)] ?? 0;
  };
  const perHost = Math.max(
    ...PROCESSES.map((processes) => median(`no-op tasks/s, ${processes} process${processes === 1 ? '' : 'es'}|${TASKLOOM}`)),
  );
  const cpuPerHost = median(`5 ms CPU tasks/s, 2 processes|${TASKLOOM}`);
  const redisLimit = 1e6 / overhead.taskloom.usec;
  const hostsToSaturate = Math.ceil(redisLimit / Math.max(1, perHost));
  return [
    `${counts['no-op']} no-op and ${counts['5 ms CPU']} CPU tasks per run, ${rounds} round(s) going round the three subjects from a different start; ` +
      'each worker process runs one task at a time (taskloom on one worker thread, BullMQ in its processor); the TaskManager has as many threads as there are processes; ' +
      `the submitter is this process, ${IN_FLIGHT} createTask calls in flight; Redis on loopback`,
    `on ${context.poolSize} cores the throughput flattens past 2 processes: beyond that the processes, the submitter and Redis share the same 2 cores`,
    `per task in Redis, taskloom: ${overhead.taskloom.commands.toFixed(1)} commands (Lua's own included; top: ${overhead.taskloom.top}), ` +
      `${trips.taskloom.toFixed(1)} round trips, ${overhead.taskloom.usec.toFixed(0)} µs of Redis time; ` +
      `BullMQ alone: ${overhead.bullmq.commands.toFixed(1)} commands (top: ${overhead.bullmq.top}), ${trips.bullmq.toFixed(1)} round trips, ${overhead.bullmq.usec.toFixed(0)} µs`,
    `estimate: Redis runs commands on one core, so it saturates near 1 s ÷ ${overhead.taskloom.usec.toFixed(0)} µs ≈ ${Math.round(redisLimit)} taskloom tasks/s; ` +
      `a 2-core host like this one pushes about ${Math.round(perHost)} no-op tasks/s (${Math.round(cpuPerHost)} 5 ms CPU tasks/s), ` +
      `so no-op throughput grows about linearly with hosts up to about ${hostsToSaturate} host(s), then stays near Redis's limit; ` +
      `5 ms CPU tasks need about ${Math.ceil(redisLimit / Math.max(1, cpuPerHost))} such hosts to get there`,
  ];
}

export const scenario: Scenario = { name: 'distributed', title: 'Distributed throughput on BullMQ and Redis, 1 to 4 processes', run };
