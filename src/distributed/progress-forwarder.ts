/**
 * Forwards one running task's progress to its BullMQ job, coalesced: the first value at once,
 * then at most one update per interval carrying the latest value. `flush` sends the final value
 * and resolves once it is stored, so that it reaches watchers before the task's final event.
 */

/** At most 10 updates a second per task. */
export const PROGRESS_INTERVAL_MS = 100;

export class ProgressForwarder {
  readonly #send: (progress: number) => Promise<void>;
  readonly #onError: (error: unknown) => void;
  #sent = 0;
  #latest = 0;
  #sentAt = -Infinity;
  #timer: NodeJS.Timeout | undefined;
  #inFlight: Promise<void> = Promise.resolve();

  /** `send` stores a value (job.updateProgress); `onError` hears a failed update, which is never fatal. */
  constructor(send: (progress: number) => Promise<void>, onError: (error: unknown) => void) {
    this.#send = send;
    this.#onError = onError;
  }

  /** The handler set `task.progress = value`. */
  set(value: number): void {
    this.#latest = value;
    if (this.#timer !== undefined) return;
    const wait = Math.max(0, this.#sentAt + PROGRESS_INTERVAL_MS - performance.now());
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#forward();
    }, wait);
  }

  /** Sends `final` unless it was the last value sent, and waits until every update is stored. */
  async flush(final: number): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#latest = final;
    this.#forward();
    await this.#inFlight;
  }

  /** Stops without sending anything more. */
  discard(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #forward(): void {
    if (this.#latest === this.#sent) return;
    const value = this.#latest;
    this.#sent = value;
    this.#sentAt = performance.now();
    // Updates go one after another, so that an older value never lands after a newer one.
    this.#inFlight = this.#inFlight.then(() => this.#send(value)).catch(this.#onError);
  }
}
