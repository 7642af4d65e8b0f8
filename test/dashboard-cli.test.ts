/**
 * `--dashboard [port]` on the command line: the built CLI runs in a child process, prints the
 * dashboard's URL once at start, serves it while the run lasts, and closes it when the run ends.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { readFrames } from './dashboard-helpers.js';
import { sharedRedis } from './fixtures/distributed/redis-server.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(ROOT, 'dist', 'cli', 'main.js');

/** Runs `taskloom` with `args`; `onStderr` sees stderr as it grows. */
function runCli(args: readonly string[], onStderr: (stderr: string) => void = () => undefined) {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
    onStderr(stderr);
  });
  const exited = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
  return { child, exited };
}

describe('taskloom --dashboard', () => {
  it('prints the URL once, serves the run while it lasts, and closes with it', async () => {
    let onUrl!: (url: string) => void;
    const printed = new Promise<string>((resolve) => (onUrl = resolve));
    const cli = runCli(
      ['run', join('test', 'fixtures', 'cli', 'dashboard.json'), '--json', '--concurrency', '1', '--dashboard'],
      (stderr) => {
        const match = /^Dashboard: (http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]+)$/m.exec(stderr);
        if (match !== null) onUrl(match[1]!);
      },
    );
    const url = await Promise.race([printed, cli.exited.then((exit) => Promise.reject(new Error(`exited first: ${exit.stderr}`)))]);
    const { origin, searchParams } = new URL(url);
    const token = searchParams.get('token')!;
    const headers = { Authorization: `Bearer ${token}` };
    expect((await fetch(`${origin}/api/stats`)).status).toBe(401);
    // The waiter runs until it is cancelled: once the page would show it running, cancel it from the dashboard.
    let waiter: { id: string; state: string } | undefined;
    await readFrames({ url, token }, '/api/events?q=waiter', (frame) => (waiter = frame.rows[0])?.state === 'running');
    const stats = (await (await fetch(`${origin}/api/stats`, { headers })).json()) as { total: number; completed: number };
    expect(stats).toMatchObject({ total: 2, completed: 1 });
    expect((await fetch(`${origin}/api/tasks/${waiter!.id}/cancel`, { method: 'POST', headers })).status).toBe(200);
    const exit = await cli.exited;
    // One task cancelled: the run did not complete every task.
    expect(exit.code).toBe(1);
    expect(exit.stderr.match(/Dashboard: /g)).toHaveLength(1);
    const document = JSON.parse(exit.stdout) as { tasks: { name: string; state: string }[] };
    expect(document.tasks.map((task) => [task.name, task.state])).toEqual([
      ['quick', 'completed'],
      ['waiter', 'cancelled'],
    ]);
    await expect(fetch(`${origin}/api/stats`, { headers })).rejects.toThrow();
  });

  it("serves a distributed worker's own tasks and metrics until it stops", { timeout: 60_000 }, async () => {
    const redis = await sharedRedis();
    try {
      let onUrl!: (url: string) => void;
      const printed = new Promise<string>((resolve) => (onUrl = resolve));
      const worker = runCli(['worker', '--redis', redis.url, '--queue', `dashboard-${randomUUID()}`, '--dashboard'], (stderr) => {
        const match = /^Dashboard: (\S+)$/m.exec(stderr);
        if (match !== null) onUrl(match[1]!);
      });
      const url = await Promise.race([printed, worker.exited.then((exit) => Promise.reject(new Error(`exited first: ${exit.stderr}`)))]);
      const { origin, searchParams } = new URL(url);
      const headers = { Authorization: `Bearer ${searchParams.get('token')!}` };
      const metrics = await fetch(`${origin}/metrics`, { headers });
      expect(metrics.status).toBe(200);
      expect(await metrics.text()).toContain('taskloom_tasks_finished_total{state="completed"} 0');
      expect((await fetch(`${origin}/metrics`)).status).toBe(401);
      worker.child.kill('SIGINT');
      expect((await worker.exited).code).toBe(0);
      await expect(fetch(`${origin}/metrics`, { headers })).rejects.toThrow();
    } finally {
      await redis.close();
    }
  });

  it('exits 2, running nothing, when the port is taken or not a port', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as { port: number };
    try {
      const taken = await runCli(['run', join('test', 'fixtures', 'cli', 'ok.json'), '--json', '--dashboard', String(port)]).exited;
      expect(taken.code).toBe(2);
      expect(taken.stderr).toContain(`option --dashboard: could not serve the dashboard on 127.0.0.1 port ${port}`);
      expect(taken.stdout).toBe('');
      const demo = await runCli(['demo', '--json', '--dashboard', String(port)]).exited;
      expect(demo.code).toBe(2);
      expect(demo.stderr).toContain('taskloom demo: option --dashboard');
    } finally {
      blocker.close();
    }
    const bad = await runCli(['run', join('test', 'fixtures', 'cli', 'ok.json'), '--dashboard', 'http']).exited;
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('expected a port from 0 to 65535, got "http"');
    const distributed = await runCli([
      'run',
      join('test', 'fixtures', 'cli', 'ok.json'),
      '--redis',
      'redis://127.0.0.1:1',
      '--queue',
      'q',
      '--dashboard',
    ]).exited;
    expect(distributed.code).toBe(2);
    expect(distributed.stderr).toContain('with --redis, serve each worker');
  });
});
