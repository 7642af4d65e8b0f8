/**
 * Finds what in a handler's result cannot be structured-cloned, so that the task fails with a
 * message naming it (`result.user.save is a function`) rather than crashing its worker: Piscina
 * cannot send such a result back, and a worker that fails to send one dies.
 *
 * The walk counts every value it looks at, primitives included, and stops after `MAX_VISITS`.
 * It builds no path while it walks: the path of a problem is put together on the way back up.
 * A result too large to walk within the bound is handed to `structuredClone` instead, which is
 * the same work Piscina will do; only when that fails is the problem described without a path.
 */
import { types } from 'node:util';
import { MessagePort } from 'node:worker_threads';
import { errorMessage } from '../shared/errors.js';
import { hasMovedAway, type Movable } from '../shared/transfer.js';

/** How many values (objects and primitives alike) the walk looks at, at most. */
export const MAX_VISITS = 10_000;

/** What cannot be cloned, and where: `path` is `result.user.save`, `description` says what it is. */
export interface Uncloneable {
  readonly path: string;
  readonly description: string;
}

/** How a walk went: what it found, how many values it looked at, and whether it saw the whole value. */
export interface Walk {
  readonly found: Uncloneable | undefined;
  readonly visited: number;
  readonly isComplete: boolean;
}

/** A problem on its way up: what it is, and the path segments below the current node, innermost first. */
interface Found {
  readonly what: string;
  readonly segments: string[];
}

/**
 * Returns what in `value` cannot be cloned, or undefined when it all can. `moving` is what moves
 * with it (the handler's `transfer()` list): a MessagePort can only move, so one found elsewhere
 * in the value cannot be sent. Looks at no more than `limit` values; past that, asks
 * `structuredClone`, unless a port moves with the value (a clone would have to take it).
 */
export function findUncloneable(value: unknown, moving: readonly Movable[] = NOTHING, limit = MAX_VISITS): Uncloneable | undefined {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function' && typeof value !== 'symbol')) return undefined;
  // A buffer or a view of one, as handlers that move their result return: nothing inside to walk.
  if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) {
    return hasMovedAway(value) ? { path: 'result', description: `result ${MOVED_AWAY}` } : undefined;
  }
  const walk = walkValue(value, limit, moving);
  if (walk.found !== undefined || walk.isComplete) return walk.found;
  if (moving.some((movable) => movable instanceof MessagePort)) return undefined;
  try {
    structuredClone(value);
    return undefined;
  } catch (error) {
    return {
      path: 'result',
      description: `result holds a value that cannot be cloned, past the first ${limit} values (${errorMessage(error)})`,
    };
  }
}

const NOTHING: readonly Movable[] = [];
const MOVED_AWAY = 'is a detached ArrayBuffer: it has moved away already';

/**
 * Walks `value` (a handler's result) looking for what cannot be cloned, visiting at most `limit`
 * values; `moving` is what moves with it.
 */
export function walkValue(value: unknown, limit = MAX_VISITS, moving: readonly Movable[] = NOTHING): Walk {
  let visited = 0;
  let isComplete = true;
  const seen = new Set<object>();
  // A clone to try a class would copy what moves with the value, and fail on a port it moves.
  const mayTryClasses = moving.length === 0;

  const visit = (node: unknown): Found | undefined => {
    if (visited === limit) {
      isComplete = false;
      return undefined;
    }
    visited++;
    if (typeof node === 'function') return { what: 'is a function', segments: [] };
    if (typeof node === 'symbol') return { what: 'is a symbol', segments: [] };
    if (node === null || typeof node !== 'object' || seen.has(node)) return undefined;
    seen.add(node);
    if (types.isProxy(node)) return { what: 'is a Proxy, which cannot be cloned', segments: [] };
    if (node instanceof Promise) return { what: 'is a Promise (await it before returning)', segments: [] };
    if (node instanceof WeakMap || node instanceof WeakSet || node instanceof WeakRef || node instanceof FinalizationRegistry) {
      return { what: `is a ${node.constructor.name}`, segments: [] };
    }
    if (node instanceof MessagePort) {
      return moving.includes(node) ? undefined : { what: 'is a MessagePort, which can only move: list it in transfer()', segments: [] };
    }
    if (ArrayBuffer.isView(node) || node instanceof ArrayBuffer) return hasMovedAway(node) ? { what: MOVED_AWAY, segments: [] } : undefined;
    if (node instanceof Date || node instanceof RegExp) return undefined;
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length && isComplete; i++) {
        const found = within(visit(node[i]), `[${i}]`);
        if (found !== undefined) return found;
      }
      return undefined;
    }
    if (node instanceof Map) {
      for (const [key, entry] of node) {
        const found = within(visit(key), ' key') ?? within(visit(entry), `.get(${String(key)})`);
        if (found !== undefined || !isComplete) return found;
      }
      return undefined;
    }
    if (node instanceof Set) {
      for (const entry of node) {
        const found = within(visit(entry), ' entry');
        if (found !== undefined || !isComplete) return found;
      }
      return undefined;
    }
    for (const key of Object.keys(node)) {
      const found = within(visit((node as Record<string, unknown>)[key]), `.${key}`);
      if (found !== undefined || !isComplete) return found;
    }
    const what = mayTryClasses ? classProblem(node) : undefined;
    return what === undefined ? undefined : { what, segments: [] };
  };

  const found = visit(value);
  if (found === undefined) return { found: undefined, visited, isComplete };
  const path = `result${found.segments.reverse().join('')}`;
  return { found: { path, description: `${path} ${found.what}` }, visited, isComplete };
}

/**
 * The prototypes of objects that structuredClone took. What an object of a class holds besides
 * its own properties (a host object's internal state: an Intl formatter's, a stream's) is the
 * same for every object of that class, so one clone per class tells for all.
 */
const cloneablePrototypes = new WeakSet<object>();

/**
 * Why an object that is not a plain object cannot be cloned, when its own properties can be (the
 * walk looked at them first): an instance of a host class structuredClone refuses. Undefined when
 * it can be cloned.
 */
function classProblem(node: object): string | undefined {
  const prototype = Object.getPrototypeOf(node) as object | null;
  if (prototype === Object.prototype || prototype === null || cloneablePrototypes.has(prototype)) return undefined;
  try {
    structuredClone(node);
  } catch (error) {
    const name = (prototype as { constructor?: { name?: unknown } }).constructor?.name;
    return `is ${typeof name === 'string' && name !== '' ? `a ${name}` : 'an object'}, which cannot be cloned (${errorMessage(error)})`;
  }
  cloneablePrototypes.add(prototype);
  return undefined;
}

/** Adds the segment that leads from a node to the child in which a problem was found. */
function within(found: Found | undefined, segment: string): Found | undefined {
  found?.segments.push(segment);
  return found;
}
