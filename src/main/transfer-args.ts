/**
 * createTask's `transfer` option: the ArrayBuffers and MessagePorts it lists move to the worker
 * with the task's arguments when the task starts, rather than being copied, as Piscina moves a
 * `transferList`: the caller's are detached from then on.
 */
import { isWorkerTask, type Handler } from '../shared/handler.js';
import { resolveTransferList, type Movable } from '../shared/transfer.js';
import type { RetryPolicy } from './retry.js';

/**
 * Checks `options.transfer` against the rest of the task, without moving anything yet: a list
 * only a worker can receive, whose memory can be sent once only, so not with a retry policy.
 */
export function checkTransfer(handler: Handler, list: unknown, retry: RetryPolicy): Movable[] {
  if (!isWorkerTask(handler)) {
    throw new TypeError(
      'Expected `options.transfer` only with a workerTask(...) handler: a function handler runs on the main thread, where nothing moves',
    );
  }
  const movables = resolveTransferList('options.transfer', list);
  if (retry.attempts > 1) {
    throw new TypeError(
      `Expected \`options.retry.attempts\` to be 1 for a task with \`options.transfer\` (what it lists moves to the worker with the first attempt, ` +
        `so a retry would have nothing to send), got \`${retry.attempts}\` (set \`retry: { attempts: 1 }\` on the task to override the manager's)`,
    );
  }
  return movables;
}
