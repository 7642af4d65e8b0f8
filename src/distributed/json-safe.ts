/**
 * What survives JSON: a distributed task's args and result travel through Redis as JSON text,
 * so anything that JSON would drop or change (undefined in an object, NaN, a Date, a Map, a
 * class instance, a cycle) is refused with a TypeError that names its path.
 */

/** Checks that `value` comes back from JSON.parse(JSON.stringify(value)) as it went in. */
export function checkJsonSafe(name: string, value: unknown): void {
  const problem = findProblem(value, name, new Set());
  if (problem !== undefined) {
    throw new TypeError(
      `Expected \`${name}\` to survive JSON (a distributed task's args and result travel through Redis as JSON), but ${problem}`,
    );
  }
}

/** The first problem in `value`, as "path is ...", or undefined when there is none. */
export function findProblem(value: unknown, path: string, ancestors: Set<object>): string | undefined {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return undefined;
    case 'number':
      return Number.isFinite(value) ? undefined : `${path} is ${String(value)}, which JSON turns into null`;
    case 'undefined':
      return `${path} is undefined, which JSON drops`;
    case 'function':
      return `${path} is a function`;
    case 'symbol':
      return `${path} is a symbol`;
    case 'bigint':
      return `${path} is a bigint, which JSON cannot hold`;
    default:
      break;
  }
  if (value === null) return undefined;
  const object = value as object;
  if (ancestors.has(object)) return `${path} refers back to one of its parents (a cycle)`;
  if (Array.isArray(object)) {
    ancestors.add(object);
    for (let index = 0; index < object.length; index++) {
      const problem = findProblem(object[index], `${path}[${index}]`, ancestors);
      if (problem !== undefined) return problem;
    }
    ancestors.delete(object);
    return undefined;
  }
  const prototype = Object.getPrototypeOf(object) as object | null;
  if (prototype !== Object.prototype && prototype !== null) {
    const kind = (object.constructor as { name?: string } | undefined)?.name ?? 'object';
    return `${path} is a ${kind}, which JSON does not keep (only plain objects, arrays, strings, finite numbers, booleans and null)`;
  }
  ancestors.add(object);
  for (const [key, item] of Object.entries(object)) {
    const problem = findProblem(item, /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`, ancestors);
    if (problem !== undefined) return problem;
  }
  ancestors.delete(object);
  return undefined;
}
