/**
 * The command line of a distributed queue: `taskloom worker` runs the queue's tasks until Ctrl-C,
 * and `taskloom run jobs.json --redis URL --queue NAME --no-work` submits a job file and reports
 * on it, with the host of each task.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { renderView } from '../dist/cli/live-view.js';
import { freePort, sharedRedis } from './fixtures/distributed/redis-server.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const JOBS = fileURLToPath(new URL('./fixtures/distributed/jobs.json', import.meta.url));

let redis: { url: string; close: () => Promise<void> };
const children: ChildProcess[] = [];

afterEach(async () => {
  await Promise.all(
    children.splice(0).map(async (child) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    }),
  );
});

function taskloom(args: string[]): { child: ChildProcess; output: () => string; errors: () => string } {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return { child, output: () => stdout, errors: () => stderr };
}

/** Resolves once the process has written `text` on stdout. */
function printed(child: ChildProcess, output: () => string, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = (): void => {
      if (!output().includes(text)) return;
      child.stdout?.off('data', check);
      resolve();
    };
    child.stdout?.on('data', check);
    child.once('exit', (code) => reject(new Error(`exited with ${code} before printing ${text}: ${output()}`)));
    check();
  });
}

describe('taskloom worker and taskloom run --redis', () => {
  beforeAll(async () => {
    redis = await sharedRedis();
  });

  afterAll(async () => {
    await redis.close();
  });

  it('runs a job file on a worker process, then the worker stops on Ctrl-C', { timeout: 60_000 }, async () => {
    const queue = `cli-${randomUUID()}`;
    const worker = taskloom(['worker', '--redis', redis.url, '--queue', queue, '--concurrency', '2']);
    await printed(worker.child, worker.output, 'worker started');

    const run = taskloom(['run', JOBS, '--redis', redis.url, '--queue', queue, '--no-work', '--json']);
    const [code] = (await once(run.child, 'exit')) as [number];
    expect(code, run.errors()).toBe(1);
    const document = JSON.parse(run.output()) as {
      stats: Record<string, number>;
      tasks: { name: string; state: string; result: unknown }[];
    };
    expect(document.stats).toEqual({ total: 4, pending: 0, running: 0, completed: 3, failed: 1, cancelled: 0 });
    expect(document.tasks.map((task) => [task.name, task.state])).toEqual([
      ['Echo', 'completed'],
      ['Nap', 'completed'],
      ['Hash', 'completed'],
      ['Flaky', 'failed'],
    ]);
    expect(document.tasks[0]?.result).toEqual({ hello: 'world' });
    expect(worker.output()).toContain('task completed');

    const exited = once(worker.child, 'exit');
    worker.child.kill('SIGINT');
    const [workerCode] = (await exited) as [number];
    expect(workerCode).toBe(0);
    expect(worker.output()).toContain('worker stopped');
  });

  it('stops a worker whose log nobody reads any more, handing its tasks to another, with exit code 141', { timeout: 60_000 }, async () => {
    const queue = `cli-${randomUUID()}`;
    const unread = taskloom(['worker', '--redis', redis.url, '--queue', queue, '--concurrency', '2']);
    await printed(unread.child, unread.output, 'worker started');
    unread.child.stdout?.destroy();
    const unreadExit = once(unread.child, 'exit');

    // Its next line, when it starts a task of this run, finds nobody reading: it stops gracefully.
    const run = taskloom(['run', JOBS, '--redis', redis.url, '--queue', queue, '--no-work', '--json']);
    const [unreadCode] = (await unreadExit) as [number];
    expect(unreadCode, unread.errors()).toBe(141);
    expect(unread.errors()).toBe('');

    // What it handed back runs on another worker: the run ends whole.
    const other = taskloom(['worker', '--redis', redis.url, '--queue', queue, '--concurrency', '2']);
    const [code] = (await once(run.child, 'exit')) as [number];
    expect(code, run.errors()).toBe(1);
    const document = JSON.parse(run.output()) as { stats: Record<string, number> };
    expect(document.stats).toEqual({ total: 4, pending: 0, running: 0, completed: 3, failed: 1, cancelled: 0 });
    other.child.kill('SIGINT');
    expect(((await once(other.child, 'exit')) as [number])[0]).toBe(0);
  });

  it('refuses --redis without --queue, and a Redis that does not answer, before running anything', { timeout: 30_000 }, async () => {
    const missing = taskloom(['run', JOBS, '--redis', redis.url]);
    expect((await once(missing.child, 'exit'))[0]).toBe(2);
    expect(missing.errors()).toContain('options --redis and --queue go together');

    const unreachable = taskloom(['worker', '--redis', 'redis://127.0.0.1:1', '--queue', 'q']);
    expect((await once(unreachable.child, 'exit'))[0]).toBe(2);
    expect(unreachable.errors()).toContain('Could not reach Redis at redis://127.0.0.1:1');
  });

  it('shows the host of each running task in the live view', () => {
    const counts = { total: 2, pending: 0, running: 2, completed: 0, failed: 0, cancelled: 0 };
    const running = [
      { name: 'Resize', progress: 50, elapsedMs: 1000, host: 'alpha:101' },
      { name: 'Hash', progress: 10, elapsedMs: 2000, host: 'beta:202' },
    ];
    const lines = renderView({ title: 'jobs.json', elapsedMs: 3000, counts, running, isInterrupted: false }, 80).split('\n');
    expect(lines[2]).toMatch(/^ {2}Resize \[█+░+\] {2}50% {2}0:01 {2}alpha:101$/);
    expect(lines[3]).toMatch(/beta:202$/);
    expect(lines[2]!.length).toBeLessThanOrEqual(80);
  });
});

/** The exit code of a process that has been started, once it exits. */
async function exitCode(child: ChildProcess): Promise<number | null> {
  if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
  return child.exitCode;
}

// Refused before any connection is made, or with nothing listening: no Redis needed.
describe('taskloom run --redis, without a Redis', () => {
  it.each([
    ['a --redis that is not a URL', ['--redis', 'notaurl', '--queue', 'q'], 'Expected `options.redis` to be a redis:// URL'],
    ['a --redis that is not a redis:// URL', ['--redis', 'http://127.0.0.1:6379', '--queue', 'q'], 'redis:// or rediss:// URL'],
    ['a --queue with a colon', ['--redis', 'redis://127.0.0.1:1', '--queue', 'a:b'], "Expected `options.queue` to be a name without ':'"],
  ])('refuses %s as bad usage: one line, exit code 2', async (_kind, options, message) => {
    const run = taskloom(['run', JOBS, ...options]);

    expect(await exitCode(run.child)).toBe(2);
    expect(run.errors()).toMatch(/^taskloom run: .+\n$/);
    expect(run.errors()).toContain(message);
    expect(run.output()).toBe('');
  });

  it('says once why a Redis that does not answer could not be reached', { timeout: 30_000 }, async () => {
    const url = `redis://127.0.0.1:${await freePort()}`;
    const run = taskloom(['run', JOBS, '--redis', url, '--queue', 'q']);

    expect(await exitCode(run.child)).toBe(2);
    const prefix = `taskloom run: nothing was run: Could not reach Redis at ${url}: `;
    expect(run.errors()).toMatch(/^[^\n]+\n$/);
    expect(run.errors().startsWith(prefix), run.errors()).toBe(true);
    const reason = run.errors().slice(prefix.length, -1);
    expect(reason).not.toBe('');
    expect(run.errors().split(reason)).toHaveLength(2);
    // The log line of the failed start gives the same message: the reason is not repeated.
    const logged = run
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => (JSON.parse(line) as { err?: { message?: string } }).err?.message)
      .filter((message) => message !== undefined);
    expect(logged).toEqual([`Could not reach Redis at ${url}: ${reason}`]);
  });
});
