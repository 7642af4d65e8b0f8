/**
 * A small typed event emitter whose listeners cannot hurt the emitter: a listener that throws
 * or returns a rejected promise is reported to `onListenerError` and the others still run.
 */

/** Event names to the argument tuples of their listeners. */
export type EventMap<T> = { [K in keyof T]: readonly unknown[] };

type Listener<Args extends readonly unknown[]> = (...args: Args) => unknown;

export class SafeEmitter<Events extends EventMap<Events>> {
  readonly #listeners = new Map<keyof Events, Listener<Events[keyof Events]>[]>();
  readonly #onListenerError: (error: unknown, event: keyof Events) => void;

  constructor(onListenerError: (error: unknown, event: keyof Events) => void) {
    this.#onListenerError = onListenerError;
  }

  on<E extends keyof Events>(event: E, listener: Listener<Events[E]>): void {
    const list = this.#listeners.get(event);
    // Copy on write, so that emit can iterate without copying.
    this.#listeners.set(
      event,
      list === undefined ? [listener as Listener<Events[keyof Events]>] : [...list, listener as Listener<Events[keyof Events]>],
    );
  }

  off<E extends keyof Events>(event: E, listener: Listener<Events[E]>): void {
    const list = this.#listeners.get(event);
    if (list === undefined) return;
    const index = list.indexOf(listener as Listener<Events[keyof Events]>);
    if (index === -1) return;
    const next = list.slice();
    next.splice(index, 1);
    if (next.length === 0) this.#listeners.delete(event);
    else this.#listeners.set(event, next);
  }

  hasListeners(event: keyof Events): boolean {
    return this.#listeners.has(event);
  }

  emit<E extends keyof Events>(event: E, ...args: Events[E]): void {
    const list = this.#listeners.get(event);
    if (list === undefined) return;
    for (const listener of list) {
      try {
        const returned = listener(...args);
        if (isThenable(returned)) returned.then(undefined, (error: unknown) => this.#onListenerError(error, event));
      } catch (error) {
        this.#onListenerError(error, event);
      }
    }
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as PromiseLike<unknown>).then === 'function';
}
