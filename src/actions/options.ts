/** How every built-in action reads its options: known keys only, defaults underneath. */
import { checkOptions } from '../shared/validate.js';

/**
 * Checks that `options` is a plain object with no unknown keys, and spreads it over
 * `defaults`. An option given as `undefined` takes its default.
 */
export function withDefaults<T extends object, D extends Partial<T>>(options: T, known: readonly (keyof T & string)[], defaults: D): Partial<T> & D {
  const given = checkOptions('options', options, known);
  const defined = Object.fromEntries(Object.entries(given).filter(([, value]) => value !== undefined)) as Partial<T>;
  return { ...defaults, ...defined };
}
