/**
 * Runs one chunk of a `manager.map(...)` batch: the user's handler over each item in turn, on
 * this worker, in a single Piscina run. It never throws for an item: a failure is reported with
 * the item's index, so that the batch can say which item failed.
 */
import type { TaskContext } from './context.js';
import { loadHandler } from './handlers.js';
import { describeError, serializeError, type SerializedError } from './messages.js';

export interface ChunkArgs {
  readonly module: string;
  readonly exportName: string;
  readonly items: readonly unknown[];
  /** The index of the first item in the whole input. */
  readonly offset: number;
  readonly settle: boolean;
}

export type SettledItem = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: string };

export interface ChunkResult {
  /** Each item's result in order, or with `settle`, each item's outcome. */
  readonly results: unknown[];
  /** Without `settle`, the first item that failed; the chunk stops there. */
  readonly failure?: { readonly index: number; readonly error: SerializedError };
}

export async function runChunk(task: TaskContext, args: ChunkArgs): Promise<ChunkResult> {
  const handler = await loadHandler(args.module, args.exportName);
  const results: unknown[] = [];
  for (let i = 0; i < args.items.length; i++) {
    task.signal.throwIfAborted();
    try {
      const value = await handler(task, args.items[i]);
      results.push(args.settle ? { ok: true, value } : value);
    } catch (error) {
      const serialized = serializeError(error);
      if (!args.settle) return { results, failure: { index: args.offset + i, error: serialized } };
      results.push({ ok: false, error: describeError(serialized) } satisfies SettledItem);
    }
  }
  return { results };
}
