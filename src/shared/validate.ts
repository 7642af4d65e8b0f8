/**
 * Argument checks shared by every public entry point. Messages name the argument,
 * say what was expected and show what was received, e.g.
 * "Expected `priority` to be a finite number, got `NaN` (number)".
 * This file has no imports so that worker code can use it too.
 */

/** Renders a received value for an error message: `value` (type). */
export function received(value: unknown): string {
  let shown: string;
  if (typeof value === 'string') shown = JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  else if (typeof value === 'function') shown = `[function ${value.name || 'anonymous'}]`;
  else if (typeof value === 'symbol' || typeof value === 'bigint') shown = value.toString();
  else if (value === null || typeof value !== 'object') shown = String(value);
  else if (Array.isArray(value)) shown = `[array of ${value.length}]`;
  else shown = Object.prototype.toString.call(value);
  const type = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
  return `got \`${shown}\` (${type})`;
}

export function checkFiniteNumber(name: string, value: unknown): asserts value is number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new TypeError(`Expected \`${name}\` to be a finite number, ${received(value)}`);
  }
}

export function checkProgress(name: string, value: unknown): asserts value is number {
  checkFiniteNumber(name, value);
  if (value < 0 || value > 100) {
    throw new RangeError(`Expected \`${name}\` to be between 0 and 100, ${received(value)}`);
  }
}

export function checkPositiveInteger(name: string, value: unknown): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new TypeError(`Expected \`${name}\` to be a positive integer, ${received(value)}`);
  }
  if (value < 1) throw new RangeError(`Expected \`${name}\` to be a positive integer, ${received(value)}`);
}

export function checkNonNegativeNumber(name: string, value: unknown): asserts value is number {
  checkFiniteNumber(name, value);
  if (value < 0) throw new RangeError(`Expected \`${name}\` to be a finite number >= 0, ${received(value)}`);
}

export function checkPositiveNumber(name: string, value: unknown): asserts value is number {
  checkFiniteNumber(name, value);
  if (value <= 0) throw new RangeError(`Expected \`${name}\` to be a finite number > 0, ${received(value)}`);
}

export function checkNonEmptyString(name: string, value: unknown): asserts value is string {
  if (typeof value !== 'string') throw new TypeError(`Expected \`${name}\` to be a non-empty string, ${received(value)}`);
  if (value.length === 0) throw new RangeError(`Expected \`${name}\` to be a non-empty string, ${received(value)}`);
}

export function checkBoolean(name: string, value: unknown): asserts value is boolean {
  if (typeof value !== 'boolean') throw new TypeError(`Expected \`${name}\` to be a boolean, ${received(value)}`);
}

export function checkFunction(name: string, value: unknown): asserts value is (...args: never[]) => unknown {
  if (typeof value !== 'function') throw new TypeError(`Expected \`${name}\` to be a function, ${received(value)}`);
}

/** Checks that `value` is an object: not null, not an array, not a function. */
export function checkObject(name: string, value: unknown): asserts value is object {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new TypeError(`Expected \`${name}\` to be an object, ${received(value)}`);
  }
}

/** Checks that `value` is one of the strings in `allowed`. */
export function checkOneOf<T extends string>(name: string, value: unknown, allowed: readonly T[]): asserts value is T {
  if (!(allowed as readonly unknown[]).includes(value)) {
    const expected = allowed.map((choice) => `'${choice}'`).join(' or ');
    throw new TypeError(`Expected \`${name}\` to be ${expected}, ${received(value)}`);
  }
}

/** Whether `value` can be read with `for await`: an iterable or an async iterable. */
export function isIterable(value: unknown): value is Iterable<unknown> | AsyncIterable<unknown> {
  return typeof value === 'object' && value !== null && (Symbol.iterator in value || Symbol.asyncIterator in value);
}

/**
 * Checks that `options` is undefined or a plain object whose keys are all known.
 * Returns the object (or an empty one) for destructuring.
 */
export function checkOptions<T extends object>(name: string, options: T | undefined, known: readonly string[]): Partial<T> {
  if (options === undefined) return {};
  checkObject(name, options);
  // for...in reads the object's cached keys without making an array of them, on every createTask.
  for (const key in options) {
    if (Object.hasOwn(options, key) && !known.includes(key)) {
      throw new TypeError(`Unknown option \`${name}.${key}\`: expected one of ${known.map((k) => `\`${k}\``).join(', ')}`);
    }
  }
  return options;
}

/**
 * Checks that `options` is a plain object with no unknown keys (named `name` in errors), and
 * spreads it over `defaults`. An option given as `undefined` takes its default.
 */
export function withDefaults<T extends object, D extends Partial<T>>(
  name: string,
  options: T | undefined,
  known: readonly (keyof T & string)[],
  defaults: D,
): Partial<T> & D {
  const given = checkOptions(name, options, known);
  const defined = Object.fromEntries(Object.entries(given).filter(([, value]) => value !== undefined)) as Partial<T>;
  return { ...defaults, ...defined };
}

/** The longest delay a Node timer holds: longer ones fire after 1 ms. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** A delay in milliseconds that a timer can hold: a number from `min` (0, or just above it when `min` is 'positive') to MAX_TIMER_MS. */
export function checkTimerMs(name: string, value: unknown, min: 'zero' | 'positive' = 'zero'): asserts value is number {
  if (min === 'positive') checkPositiveNumber(name, value);
  else checkNonNegativeNumber(name, value);
  if (value > MAX_TIMER_MS) {
    throw new RangeError(`Expected \`${name}\` to be at most ${MAX_TIMER_MS} ms (about 24.8 days), ${received(value)}`);
  }
}
