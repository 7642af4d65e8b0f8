/**
 * The finished tasks a manager keeps, oldest first, with a bound: when one too many is added,
 * the oldest still kept is dropped. They are kept in an array in the order they were added,
 * oldest from `#head` on, each item knowing its own place: adding, dropping the oldest and
 * removing one by hand are O(1), and an item removed by hand leaves nothing behind (its place
 * empties, and the array is compacted as it goes). A Set did the same at several times the
 * cost: finding its oldest walked over the holes its deletions had left.
 */

/** What Retention keeps: an item that knows its place in it. */
export interface Retained {
  /** Its index in the Retention that keeps it, or -1. */
  retainedAt: number;
}

export class Retention<T extends Retained> {
  readonly #limit: number;
  readonly #onDrop: (item: T) => void;
  /** The items kept, oldest first from `#head`; removed ones leave an empty place until compacted. */
  #items: (T | undefined)[] = [];
  #head = 0;
  #size = 0;

  /** @param onDrop called for each item dropped because the limit was passed */
  constructor(limit: number, onDrop: (item: T) => void) {
    this.#limit = limit;
    this.#onDrop = onDrop;
  }

  add(item: T): void {
    item.retainedAt = this.#items.length;
    this.#items.push(item);
    if (++this.#size > this.#limit) this.#dropOldest();
  }

  /** Forgets one item. */
  delete(item: T): boolean {
    const at = item.retainedAt;
    if (at < 0 || this.#items[at] !== item) return false;
    this.#items[at] = undefined;
    item.retainedAt = -1;
    this.#size--;
    this.#compactIfSparse();
    return true;
  }

  /** Forgets everything; returns what was kept, oldest first. */
  clear(): T[] {
    const items = this.#live();
    for (const item of items) item.retainedAt = -1;
    this.#items = [];
    this.#head = 0;
    this.#size = 0;
    return items;
  }

  #dropOldest(): void {
    const items = this.#items;
    let oldest: T | undefined;
    while (oldest === undefined) {
      oldest = items[this.#head];
      items[this.#head++] = undefined;
    }
    oldest.retainedAt = -1;
    this.#size--;
    this.#compactIfSparse();
    this.#onDrop(oldest);
  }

  /** Compacts the array once it is mostly empty places: amortized, each place is moved O(1) times. */
  #compactIfSparse(): void {
    const length = this.#items.length;
    if (length < 1024 || length < 2 * this.#size) return;
    const live = this.#live();
    for (const [index, item] of live.entries()) item.retainedAt = index;
    this.#items = live;
    this.#head = 0;
  }

  #live(): T[] {
    const live: T[] = [];
    for (let i = this.#head; i < this.#items.length; i++) {
      const item = this.#items[i];
      if (item !== undefined) live.push(item);
    }
    return live;
  }
}
