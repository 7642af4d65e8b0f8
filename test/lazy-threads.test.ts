import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { workerTask } from 'taskloom';
import { createGate, openGate, waitGate } from './fixtures/gate.js';
import { createManager } from './helpers.js';

/** Plain JavaScript handlers: without the TypeScript loader (which runs a thread of its own), a worker is one thread. */
const PLAIN = new URL('./fixtures/plain.mjs', import.meta.url);
const options = { autoStart: true, workerPreload: [] };

/**
 * Thread ids are handed out in order, one per Worker created in this process: the gap between
 * two probes is the number of threads started in between, the probe itself included.
 */
async function probeThreadId(): Promise<number> {
  const probe = new Worker('', { eval: true });
  const id = probe.threadId;
  await probe.terminate();
  return id;
}

describe('worker threads start as work arrives', () => {
  it('starts one thread for one task, however many tasks could run at once', async () => {
    const before = await probeThreadId();
    const manager = createManager({ ...options, maxConcurrentTasks: 16 });
    for (let i = 0; i < 3; i++) {
      expect((await manager.waitFor(manager.createTask(`one at a time ${i}`, workerTask(PLAIN, 'echo'), { args: i }))).result).toBe(i);
    }
    const after = await probeThreadId();
    expect(after - before - 1).toBe(1);
  });

  it('grows up to maxConcurrentTasks threads when that many tasks run at once', async () => {
    const before = await probeThreadId();
    const manager = createManager({ ...options, maxConcurrentTasks: 3 });
    const release = createGate();
    const started = [createGate(), createGate(), createGate()];
    const ids = started.map((gate, i) =>
      manager.createTask(`held ${i}`, workerTask(PLAIN, 'holdUntil'), { args: { started: gate, release } }),
    );
    // All three run at once: each holds its own thread until released.
    await Promise.all(started.map((gate) => waitGate(gate)));
    openGate(release);
    for (const id of ids) expect((await manager.waitFor(id)).state).toBe('completed');
    const after = await probeThreadId();
    expect(after - before - 1).toBe(3);
  });
});
