/**
 * Runs one chunk of a `manager.map(...)` batch: the user's handler over each item in turn, on
 * this worker, in a single Piscina run. It never throws for an item: a failure is reported with
 * the item's index, so that the batch can say which item failed. An item whose result cannot be
 * cloned fails as that item, with the path of what cannot be cloned.
 */
import type { TaskContext } from '../shared/context.js';
import { NotCloneableError } from '../shared/errors.js';
import { findUncloneable } from './cloneable.js';
import { loadHandler } from './handlers.js';
import { describeError, serializeError, type ChunkArgs, type ChunkResult, type SettledItem } from '../shared/messages.js';

export async function runChunk(task: TaskContext, args: ChunkArgs): Promise<ChunkResult> {
  const handler = await loadHandler(args.module, args.exportName);
  const results: unknown[] = [];
  for (let i = 0; i < args.items.length; i++) {
    task.signal.throwIfAborted();
    try {
      const value = await handler(task, args.items[i]);
      const uncloneable = findUncloneable(value);
      if (uncloneable !== undefined) throw new NotCloneableError(uncloneable.path, uncloneable.description);
      results.push(args.settle ? { ok: true, value } : value);
    } catch (error) {
      const serialized = serializeError(error);
      if (!args.settle) return { results, failure: { index: args.offset + i, error: serialized } };
      results.push({ ok: false, error: describeError(serialized) } satisfies SettledItem);
    }
  }
  return { results };
}
