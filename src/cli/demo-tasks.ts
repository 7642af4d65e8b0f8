/**
 * The worker handlers of `taskloom demo`: CPU-heavy work with progress that stops promptly
 * when cancelled, and a task that fails on purpose. They need no network and no files (the
 * demo's reminders are the built-in `reminderTimer` action). Each yields to the event loop between steps, so that a cancellation (and
 * its progress reports) can reach it.
 */
import { createHash } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { TaskContext } from '../shared/context.js';

/** How many progress steps each CPU-heavy task takes. */
const STEPS = 100;

/**
 * A SHA-256 hash chain: each link is the hash of the one before.
 * @returns The last link, in hex, and the pace.
 */
export async function hashChain(
  task: TaskContext,
  args: { links: number; seed?: string },
): Promise<{ digest: string; linksPerSecond: number }> {
  const started = performance.now();
  let digest = createHash('sha256')
    .update(args.seed ?? task.name)
    .digest();
  const perStep = Math.ceil(args.links / STEPS);
  for (let done = 0; done < args.links;) {
    task.signal.throwIfAborted();
    const end = Math.min(args.links, done + perStep);
    for (; done < end; done++) digest = createHash('sha256').update(digest).digest();
    task.progress = (done / args.links) * 100;
    await nextTurn();
  }
  const seconds = (performance.now() - started) / 1000;
  return { digest: digest.toString('hex').slice(0, 16), linksPerSecond: Math.round(args.links / seconds) };
}

/**
 * Counts the primes below `limit` with a segmented sieve of Eratosthenes.
 * @returns How many primes there are, and the largest.
 */
export async function primeSieve(task: TaskContext, args: { limit: number }): Promise<{ limit: number; primes: number; largest: number }> {
  const { limit } = args;
  const root = Math.floor(Math.sqrt(limit));
  const base = smallPrimes(root);
  const segmentSize = Math.max(1 << 16, Math.ceil(limit / STEPS));
  const segment = new Uint8Array(segmentSize);
  let primes = 0;
  let largest = 0;
  for (let low = 0; low < limit; low += segmentSize) {
    task.signal.throwIfAborted();
    const high = Math.min(low + segmentSize, limit);
    segment.fill(0);
    for (const p of base) {
      for (let multiple = Math.max(p * p, Math.ceil(low / p) * p); multiple < high; multiple += p) segment[multiple - low] = 1;
    }
    for (let n = Math.max(2, low); n < high; n++) {
      if (segment[n - low] === 0) {
        primes++;
        largest = n;
      }
    }
    task.progress = (high / limit) * 100;
    await nextTurn();
  }
  return { limit, primes, largest };
}

function smallPrimes(max: number): number[] {
  const isComposite = new Uint8Array(max + 1);
  const found: number[] = [];
  for (let i = 2; i <= max; i++) {
    if (isComposite[i] === 1) continue;
    found.push(i);
    for (let j = i * i; j <= max; j += i) isComposite[j] = 1;
  }
  return found;
}

/**
 * Checks made-up records and fails on purpose at `failAt` of `records`: it shows how a
 * failure is reported, with the progress it had reached.
 */
export async function verifyChecksums(task: TaskContext, args: { records: number; failAt: number }): Promise<never> {
  const perStep = Math.ceil(args.records / STEPS);
  let digest = Buffer.alloc(32);
  for (let record = 0; record < args.records; record++) {
    if (record === args.failAt) {
      throw new Error(`checksum mismatch in record ${record} of ${args.records} (this task fails on purpose)`);
    }
    for (let round = 0; round < 40; round++) digest = createHash('sha256').update(digest).digest();
    if ((record + 1) % perStep === 0) {
      task.signal.throwIfAborted();
      task.progress = ((record + 1) / args.records) * 100;
      await nextTurn();
    }
  }
  throw new Error(`record ${args.failAt} was never reached: the demo's checksum task is misconfigured`);
}
