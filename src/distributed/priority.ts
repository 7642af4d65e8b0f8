/**
 * taskloom's priorities on BullMQ's. taskloom runs higher priorities first and takes any finite
 * number; BullMQ runs lower numbers first and takes integers from 1 to 2^21. A priority is mapped
 * in steps of 0.01 around the middle of BullMQ's range, so that order is kept exactly for every
 * priority that can be mapped, negatives and fractions included, and equal priorities stay
 * first-in first-out (BullMQ orders equal priorities by arrival). What cannot be mapped without
 * losing order is refused with a RangeError.
 */
import { checkFiniteNumber, received } from '../shared/validate.js';

/** Priorities are kept to this many steps per unit: two decimal places. */
const STEPS_PER_UNIT = 100;
/** BullMQ's priority for taskloom's priority 0: the middle of its range 1..2^21. */
const MIDDLE = 2 ** 20;
/** The highest and lowest priority a distributed task may have. */
export const MAX_PRIORITY = 10_000;
export const MIN_PRIORITY = -10_000;

/**
 * Checks a taskloom priority for a distributed queue: a multiple of 0.01 from -10000 to 10000.
 * @returns BullMQ's priority for it.
 */
export function toBullPriority(name: string, priority: unknown): number {
  checkFiniteNumber(name, priority);
  const steps = Math.round(priority * STEPS_PER_UNIT);
  if (priority < MIN_PRIORITY || priority > MAX_PRIORITY || Math.abs(priority * STEPS_PER_UNIT - steps) > 1e-6) {
    throw new RangeError(
      `Expected \`${name}\` to be a multiple of 0.01 from ${MIN_PRIORITY} to ${MAX_PRIORITY} (a distributed queue keeps priorities in BullMQ's integer range), ${received(priority)}`,
    );
  }
  return MIDDLE - steps;
}

/** taskloom's priority for BullMQ's. */
export function fromBullPriority(priority: number): number {
  return (MIDDLE - priority) / STEPS_PER_UNIT;
}
