/**
 * The finished tasks a manager keeps, oldest first, with a bound: when one too many is added,
 * the oldest still kept is dropped. Tasks removed by hand are skipped when their turn comes.
 */

export interface Retainable {
  readonly id: string;
}

export class Retention<T extends Retainable> {
  readonly #limit: number;
  readonly #onDrop: (item: T) => void;
  readonly #kept = new Set<string>();
  #queue: (T | undefined)[] = [];
  #head = 0;

  /** @param onDrop called for each item dropped because the limit was passed */
  constructor(limit: number, onDrop: (item: T) => void) {
    this.#limit = limit;
    this.#onDrop = onDrop;
  }

  get size(): number {
    return this.#kept.size;
  }

  add(item: T): void {
    this.#queue.push(item);
    this.#kept.add(item.id);
    while (this.#kept.size > this.#limit) {
      const oldest = this.#queue[this.#head];
      this.#queue[this.#head++] = undefined;
      if (oldest !== undefined && this.#kept.delete(oldest.id)) this.#onDrop(oldest);
    }
    // Compact now and then, so that the queue does not grow without bound.
    if (this.#head >= 1024 && this.#head * 2 >= this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
  }

  /** Forgets one item; its place in the queue is skipped later. */
  delete(id: string): boolean {
    return this.#kept.delete(id);
  }

  /** Forgets everything; returns the ids that were kept. */
  clear(): string[] {
    const ids = [...this.#kept];
    this.#kept.clear();
    this.#queue = [];
    this.#head = 0;
    return ids;
  }
}
