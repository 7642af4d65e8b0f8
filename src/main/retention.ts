/**
 * The finished tasks a manager keeps, oldest first, with a bound: when one too many is added,
 * the oldest still kept is dropped. A Set keeps them in the order they were added, so the
 * oldest is its first, and an item removed by hand leaves nothing behind.
 */

export class Retention<T> {
  readonly #limit: number;
  readonly #onDrop: (item: T) => void;
  readonly #kept = new Set<T>();

  /** @param onDrop called for each item dropped because the limit was passed */
  constructor(limit: number, onDrop: (item: T) => void) {
    this.#limit = limit;
    this.#onDrop = onDrop;
  }

  add(item: T): void {
    this.#kept.add(item);
    if (this.#kept.size <= this.#limit) return;
    const oldest = this.#kept.values().next().value as T;
    this.#kept.delete(oldest);
    this.#onDrop(oldest);
  }

  /** Forgets one item. */
  delete(item: T): boolean {
    return this.#kept.delete(item);
  }

  /** Forgets everything; returns what was kept. */
  clear(): T[] {
    const items = [...this.#kept];
    this.#kept.clear();
    return items;
  }
}
