/**
 * Runs one chunk of a `manager.map(...)` batch: the user's handler over each item in turn, on
 * this worker, in a single Piscina run. It never throws for an item: a failure is reported with
 * the item's index, so that the batch can say which item failed. An item whose result cannot be
 * cloned fails as that item, with the path of what cannot be cloned. What items return with
 * `transfer()` moves to the main thread with the chunk's result.
 */
import type { TaskContext } from '../shared/context.js';
import { NotCloneableError } from '../shared/errors.js';
import { findUncloneable } from './cloneable.js';
import { loadHandler } from './handlers.js';
import { describeError, serializeError, type ChunkArgs, type ChunkResult, type SettledItem } from '../shared/messages.js';
import { isTransferMarker, resolveTransferList, transfer, type Movable } from '../shared/transfer.js';

export async function runChunk(task: TaskContext, args: ChunkArgs): Promise<ChunkResult> {
  const handler = await loadHandler(args.module, args.exportName);
  const results: unknown[] = [];
  // What the items' results move rather than copy (transfer() in the item handler), once each.
  const moved = new Set<Movable>();
  const done = (result: ChunkResult): ChunkResult => (moved.size === 0 ? result : transfer(result, [...moved]));
  for (let i = 0; i < args.items.length; i++) {
    task.signal.throwIfAborted();
    try {
      let value = await handler(task, args.items[i]);
      let list: Movable[] | undefined;
      if (isTransferMarker(value)) {
        list = resolveTransferList('transfer() list', value.list);
        value = value.value;
      }
      const uncloneable = findUncloneable(value, list);
      if (uncloneable !== undefined) throw new NotCloneableError(uncloneable.path, uncloneable.description);
      for (const movable of list ?? []) moved.add(movable);
      results.push(args.settle ? { ok: true, value } : value);
    } catch (error) {
      const serialized = serializeError(error);
      if (!args.settle) return done({ results, failure: { index: args.offset + i, error: serialized } });
      results.push({ ok: false, error: describeError(serialized) } satisfies SettledItem);
    }
  }
  return done({ results });
}
