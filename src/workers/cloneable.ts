/**
 * Finds what in a value cannot be structured-cloned, so that a handler that returns such a
 * value fails with a message naming it, rather than crashing its worker. The walk allocates
 * nothing but its visited set and stops after a bounded number of nodes.
 */

const MAX_NODES = 10_000;

/** Returns a description such as "result.user.save is a function", or undefined if none was found. */
export function findUncloneable(value: unknown, path = 'result'): string | undefined {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function' && typeof value !== 'symbol')) return undefined;
  const seen = new Set<object>();
  let budget = MAX_NODES;
  const visit = (node: unknown, at: string): string | undefined => {
    if (typeof node === 'function') return `${at} is a function`;
    if (typeof node === 'symbol') return `${at} is a symbol`;
    if (node === null || typeof node !== 'object') return undefined;
    if (seen.has(node) || --budget < 0) return undefined;
    seen.add(node);
    if (node instanceof Promise) return `${at} is a Promise (await it before returning)`;
    if (node instanceof WeakMap || node instanceof WeakSet) return `${at} is a ${node.constructor.name}`;
    if (ArrayBuffer.isView(node) || node instanceof ArrayBuffer || node instanceof Date || node instanceof RegExp) return undefined;
    if (node instanceof Map) {
      for (const [key, entry] of node) {
        const found = visit(key, `${at} key`) ?? visit(entry, `${at}.get(${String(key)})`);
        if (found !== undefined) return found;
      }
      return undefined;
    }
    if (node instanceof Set) {
      for (const entry of node) {
        const found = visit(entry, `${at} entry`);
        if (found !== undefined) return found;
      }
      return undefined;
    }
    for (const key of Object.keys(node)) {
      const found = visit((node as Record<string, unknown>)[key], Array.isArray(node) ? `${at}[${key}]` : `${at}.${key}`);
      if (found !== undefined) return found;
    }
    return undefined;
  };
  return visit(value, path);
}
