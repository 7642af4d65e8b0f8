/**
 * Waiting and watchdogs for the built-in actions. Every wait ends at once when its signal
 * aborts, rejecting with the signal's reason, and leaves no timer or listener behind.
 */
import { MAX_TIMER_MS } from '../shared/validate.js';

/** Resolves after `ms` milliseconds, or rejects with `signal.reason` as soon as it aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Resolves once `performance.now()` has reached `deadline`. A timer may fire a fraction of
 * a millisecond early by the monotonic clock, so this waits again until the deadline is past;
 * a deadline further away than a timer can reach is waited for in steps.
 */
export async function sleepUntil(deadline: number, signal: AbortSignal): Promise<void> {
  signal.throwIfAborted();
  for (let left = deadline - performance.now(); left > 0; left = deadline - performance.now()) {
    await sleep(Math.min(Math.ceil(left), MAX_TIMER_MS), signal);
  }
}

/**
 * An abort signal that follows a parent signal and can also abort on its own, by a watchdog
 * when `touch()` has not been called for a while. Call `dispose()` in a `finally` block: it
 * stops the watchdog and detaches from the parent.
 */
export class LinkedAbort {
  readonly #controller = new AbortController();
  readonly #parent: AbortSignal;
  readonly #onParentAbort = (): void => this.#controller.abort(this.#parent.reason);
  #watchdog: NodeJS.Timeout | undefined;

  constructor(parent: AbortSignal) {
    this.#parent = parent;
    if (parent.aborted) this.#controller.abort(parent.reason);
    else parent.addEventListener('abort', this.#onParentAbort, { once: true });
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** Whether the parent aborted, rather than this signal on its own. */
  get isParentAborted(): boolean {
    return this.#parent.aborted;
  }

  /** Aborts with `reason()` unless `touch()` is called at least every `ms` milliseconds from now on. */
  watch(ms: number, reason: () => unknown): void {
    clearTimeout(this.#watchdog);
    this.#watchdog = setTimeout(() => this.#controller.abort(reason()), ms);
  }

  /** Stops the watchdog, if there is one; `watch` starts it again. */
  unwatch(): void {
    clearTimeout(this.#watchdog);
    this.#watchdog = undefined;
  }

  /** Restarts the watchdog's countdown, if there is one. */
  touch(): void {
    this.#watchdog?.refresh();
  }

  dispose(): void {
    this.unwatch();
    this.#parent.removeEventListener('abort', this.#onParentAbort);
  }
}
