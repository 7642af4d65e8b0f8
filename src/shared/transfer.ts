/**
 * Moving memory between threads instead of copying it: `createTask`'s `transfer` option on the
 * way in, and `transfer(value, list)` in a handler on the way out. Both sides check a list the
 * same way, here: what may be moved, once each.
 */
import type { MessagePort as Port } from 'node:worker_threads';
import { received } from './validate.js';

/** What a transfer list may hold. A typed array or a DataView stands for its whole ArrayBuffer. */
export type Transferable = ArrayBufferLike | ArrayBufferView | Port;

/** What actually moves: each typed array or DataView of a list, as its ArrayBuffer. */
export type Movable = ArrayBuffer | Port;

/** A brand that two copies of the package both recognise, as errors have. */
const TRANSFER = Symbol.for('taskloom.transfer');

/** What `transfer(value, list)` returns: the value, and what moves with it. */
export interface TransferMarker {
  readonly [TRANSFER]: true;
  readonly value: unknown;
  readonly list: unknown;
}

/**
 * Marks a handler's result to be moved to the main thread rather than copied: the ArrayBuffers
 * (typed arrays and DataViews stand for theirs) and MessagePorts in `list` move with `value`,
 * and are detached on the worker once the task has returned. It works for `map` items too.
 * On the main thread (a function handler) nothing needs to move: `value` is the result as it is.
 *
 * The result keeps `value`'s type, so that a typed reference still knows the handler's result.
 *
 * @param value The handler's result.
 * @param list What moves with it instead of being copied.
 * @example
 * export function render(task: TaskContext, size: number): Uint8Array {
 *   const pixels = new Uint8Array(size);
 *   // ... fill it ...
 *   return transfer(pixels, [pixels.buffer]);
 * }
 */
export function transfer<T>(value: T, list: readonly Transferable[]): T {
  const marker: TransferMarker = { [TRANSFER]: true, value, list };
  return marker as T;
}

export function isTransferMarker(value: unknown): value is TransferMarker {
  return typeof value === 'object' && value !== null && (value as Partial<TransferMarker>)[TRANSFER] === true;
}

/**
 * Checks a transfer list and returns what moves: each entry itself, or a view's ArrayBuffer. `name`
 * names the list in errors, and each entry as `name[i]`. Throws a TypeError for a list that is not
 * an array, an entry that cannot move (a SharedArrayBuffer is shared, never moved; a detached
 * ArrayBuffer has moved already), or an ArrayBuffer listed twice, itself or through two views.
 */
export function resolveTransferList(name: string, list: unknown): Movable[] {
  if (!Array.isArray(list)) {
    throw new TypeError(`Expected \`${name}\` to be an array of ArrayBuffers, typed arrays, DataViews or MessagePorts, ${received(list)}`);
  }
  const movables: Movable[] = [];
  for (let i = 0; i < list.length; i++) {
    const movable = movableOf(name, i, list[i] as unknown);
    // Lists are short: a search costs less than a Map.
    const first = movables.indexOf(movable);
    if (first !== -1) {
      const what = movable instanceof ArrayBuffer ? 'ArrayBuffer' : 'MessagePort';
      throw new TypeError(
        `Expected \`${name}[${i}]\` to move something not listed before, but it moves the same ${what} as \`${name}[${first}]\``,
      );
    }
    movables.push(movable);
  }
  return movables;
}

/** What entry `index` of the list `list` moves; the entry's name is only made for an error. */
function movableOf(list: string, index: number, entry: unknown): Movable {
  if (entry instanceof globalThis.MessagePort) return entry;
  const buffer: unknown = ArrayBuffer.isView(entry) ? entry.buffer : entry;
  if (typeof SharedArrayBuffer === 'function' && buffer instanceof SharedArrayBuffer) {
    const what = buffer === entry ? 'a SharedArrayBuffer' : 'a view of a SharedArrayBuffer';
    throw new TypeError(
      `Expected \`${list}[${index}]\` to be something that can move, but it is ${what}, which threads share rather than move: pass it without listing it`,
    );
  }
  if (!(buffer instanceof ArrayBuffer)) {
    throw new TypeError(
      `Expected \`${list}[${index}]\` to be an ArrayBuffer, a typed array, a DataView or a MessagePort, ${received(entry)}`,
    );
  }
  if (isDetached(buffer)) {
    throw new TypeError(`Expected \`${list}[${index}]\` to be an ArrayBuffer that can move, but it is detached: it has been moved already`);
  }
  return buffer;
}

/**
 * Whether a buffer, or a view's buffer, has been moved away. A view's own length is read first:
 * only an empty one can sit on a moved buffer, and reading a small view's `buffer` may allocate it.
 */
export function hasMovedAway(value: unknown): boolean {
  if (value instanceof ArrayBuffer) return isDetached(value);
  return ArrayBuffer.isView(value) && value.byteLength === 0 && value.buffer instanceof ArrayBuffer && isDetached(value.buffer);
}

/** Whether `buffer` has been moved away (transferred). Node 20 has no `ArrayBuffer.prototype.detached`. */
export function isDetached(buffer: ArrayBuffer): boolean {
  // Only an empty buffer may be a detached one: a non-empty one is settled with no allocation.
  if (buffer.byteLength !== 0) return false;
  const detached = (buffer as { readonly detached?: unknown }).detached;
  if (typeof detached === 'boolean') return detached;
  try {
    new Uint8Array(buffer, 0, 0);
    return false;
  } catch {
    return true;
  }
}
