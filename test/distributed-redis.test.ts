/**
 * DistributedTaskManager when Redis misbehaves: unreachable at start (a clear error within
 * seconds, never a hang), and restarted in the middle of a run (reconnect; nothing lost; each
 * task ends once). Each test starts its own redis-server.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { workerTask } from 'taskloom';
import { DistributedTaskManager, RedisUnavailableError } from 'taskloom/distributed';
import { WorkerProcess } from './fixtures/distributed/processes.js';
import { freePort, RedisServer } from './fixtures/distributed/redis-server.js';

const TASKS = new URL('./fixtures/distributed/tasks.mjs', import.meta.url);
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/**
 * The timers left in a fresh process `waitMs` after a DistributedTaskManager's `ready()` failed
 * against `redis`: what would keep a command line that gave up alive.
 */
async function timersLeftAfterFailure(redis: string, waitMs: number): Promise<string[]> {
  const script = [
    "import { setTimeout as sleep } from 'node:timers/promises';",
    "import { DistributedTaskManager } from 'taskloom/distributed';",
    `const manager = new DistributedTaskManager({ redis: ${JSON.stringify(redis)}, queue: 'q', logger: false, connectTimeoutMs: 1000 });`,
    'const failed = await manager.ready().then(() => false, () => true);',
    `await sleep(${waitMs});`,
    'console.log(JSON.stringify({ failed, resources: process.getActiveResourcesInfo() }));',
    'process.exit(0);',
  ].join('\n');
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT });
  const { failed, resources } = JSON.parse(stdout) as { failed: boolean; resources: string[] };
  expect(failed, 'ready() failed').toBe(true);
  return resources.filter((type) => type === 'Timeout');
}

describe('Redis unreachable at start', () => {
  it('rejects every method with a RedisUnavailableError within the connect timeout when nothing listens', async () => {
    const port = await freePort();
    const started = performance.now();
    const manager = new DistributedTaskManager({ redis: `redis://127.0.0.1:${port}`, queue: 'q', logger: false, connectTimeoutMs: 2000 });
    cleanups.push(() => manager.stop());
    const error: unknown = await manager.ready().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RedisUnavailableError);
    expect(error).toMatchObject({ code: 'TASKLOOM_REDIS_UNAVAILABLE', redis: `redis://127.0.0.1:${port}` });
    expect((error as Error).message).toContain(`Could not reach Redis at redis://127.0.0.1:${port}`);
    expect(performance.now() - started).toBeLessThan(5000);
    await expect(manager.createTask('t', workerTask(TASKS, 'echo'))).rejects.toBeInstanceOf(RedisUnavailableError);
    await expect(manager.getStats()).rejects.toBeInstanceOf(RedisUnavailableError);
    // Nothing of the refused connection is left to keep a process alive: ioredis's close timer kept one 2 s.
    expect(await timersLeftAfterFailure(`redis://127.0.0.1:${port}`, 0)).toEqual([]);
  });

  it('gives up on a server that accepts but never answers', async () => {
    const sockets: Socket[] = [];
    const silent = createServer((socket) => sockets.push(socket)).listen(0, '127.0.0.1');
    await once(silent, 'listening');
    cleanups.push(async () => {
      for (const socket of sockets) socket.destroy();
      silent.close();
      await once(silent, 'close');
    });
    const { port } = silent.address() as { port: number };
    const manager = new DistributedTaskManager({ redis: { host: '127.0.0.1', port }, queue: 'q', logger: false, connectTimeoutMs: 1000 });
    cleanups.push(() => manager.stop());
    const started = performance.now();
    await expect(manager.ready()).rejects.toThrow(
      /Could not reach Redis at redis:\/\/127\.0\.0\.1:\d+: .*(no answer within 1000 ms|timeout)/i,
    );
    expect(performance.now() - started).toBeLessThan(4000);
    // The connection the server holds open is destroyed soon after it is closed, not 2 s later.
    expect(await timersLeftAfterFailure(`redis://127.0.0.1:${port}`, 600)).toEqual([]);
  });
});

describe('Redis restarted mid-run', () => {
  it('reconnects: no task is lost, and each ends once', { timeout: 90_000 }, async () => {
    const server = await RedisServer.start();
    cleanups.push(() => server.destroy());
    const queue = `restart-${randomUUID()}`;
    const submitter = new DistributedTaskManager({ redis: server.url, queue, logger: false, work: false });
    cleanups.push(() => submitter.stop());
    const worker = await WorkerProcess.start({ redis: server.url, queue, maxConcurrentTasks: 2 });
    cleanups.push(() => worker.stop());
    const finals = new Map<string, number>();
    for (const event of ['completed', 'failed', 'cancelled'] as const) {
      submitter.on(event, (task) => finals.set(task.id, (finals.get(task.id) ?? 0) + 1));
    }
    let completed = 0;
    const tenDone = new Promise<void>((resolve) => {
      submitter.on('completed', () => {
        if (++completed === 10) resolve();
      });
    });
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) ids.push(await submitter.createTask(`sleep ${i}`, workerTask(TASKS, 'nap'), { args: { ms: 60 } }));
    await tenDone;
    await server.stop();
    await server.restart();
    const ended = await Promise.all(ids.map((id) => submitter.waitFor(id)));
    await submitter.onIdle();
    expect(ended.map((task) => task.state)).toEqual(ids.map(() => 'completed'));
    for (const id of ids) expect(finals.get(id), id).toBe(1);
    expect(await submitter.getStats()).toEqual({ total: 40, pending: 0, running: 0, completed: 40, failed: 0, cancelled: 0 });
    expect(await worker.stats()).toEqual(await submitter.getStats());
  });
});
