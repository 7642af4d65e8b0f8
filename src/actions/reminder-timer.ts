/**
 * reminderTimer: counts down, with steady progress, then logs its message.
 */
import { checkNonNegativeNumber, checkNonEmptyString, withDefaults } from '../shared/validate.js';
import type { TaskContext } from '../shared/context.js';
import { sleepUntil } from './abortable.js';

export interface ReminderTimerOptions {
  /**
   * How long to count down, in seconds. Fractions are allowed; 0 fires at once.
   * @example 60
   */
  durationSeconds: number;
  /**
   * What to say when the time is up: logged at info level and returned.
   * @example 'One minute is up!'
   */
  message: string;
}

export interface ReminderTimerResult {
  /** The reminder's message. */
  message: string;
  /** When the timer fired, as an ISO 8601 string. */
  firedAt: string;
}

const KNOWN_OPTIONS = ['durationSeconds', 'message'] as const;
/** Progress moves at least this often... */
const MAX_STEP_MS = 1000;
/** ...and in at least this many steps, so that a short timer still rises smoothly. */
const MIN_STEPS = 20;

/**
 * Counts down `durationSeconds`, raising `task.progress` in even steps (at least once a
 * second, and at least 20 times), then logs `message` at info level and returns it with the
 * time it fired. Cancelling the task stops the countdown at once.
 *
 * @example
 * // In a handler of your own:
 * const { firedAt } = await reminderTimer(task, { durationSeconds: 60, message: 'One minute is up!' });
 * @example
 * // As a ready worker handler:
 * manager.createTask('Reminder', actions.reminderTimer, { args: { durationSeconds: 60, message: 'One minute is up!' } });
 */
export async function reminderTimer(task: TaskContext, options: ReminderTimerOptions): Promise<ReminderTimerResult> {
  const { durationSeconds, message } = withDefaults('options', options, KNOWN_OPTIONS, {});
  checkNonNegativeNumber('options.durationSeconds', durationSeconds);
  checkNonEmptyString('options.message', message);
  task.signal.throwIfAborted();

  const durationMs = durationSeconds * 1000;
  const steps = durationMs === 0 ? 0 : Math.max(MIN_STEPS, Math.ceil(durationMs / MAX_STEP_MS));
  // Each step aims at its own deadline from the start, so that timer lateness never accumulates.
  const start = performance.now();
  for (let step = 1; step <= steps; step++) {
    await sleepUntil(start + (durationMs * step) / steps, task.signal);
    task.progress = (step / steps) * 100;
  }
  if (steps === 0) task.progress = 100;
  const firedAt = new Date().toISOString();
  task.log.info({ firedAt, durationSeconds }, message);
  return { message, firedAt };
}
