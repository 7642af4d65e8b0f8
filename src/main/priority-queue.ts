/**
 * An indexed binary heap: highest `priority` first, lowest `seq` (oldest) first among equals.
 * Each entry keeps its own position in `heapIndex`, so that insert, remove and reprioritize
 * are all O(log n) and need no search.
 */

export interface QueueEntry {
  priority: number;
  /** Unique and increasing in creation order: the FIFO tie-break. */
  readonly seq: number;
  /** The entry's position in the heap, or -1 when it is not queued. */
  heapIndex: number;
}

export class PriorityQueue<T extends QueueEntry> {
  readonly #heap: T[] = [];

  get size(): number {
    return this.#heap.length;
  }

  push(entry: T): void {
    entry.heapIndex = this.#heap.length;
    this.#heap.push(entry);
    this.#siftUp(entry.heapIndex);
  }

  /** The entry `pop` would return, left in place. */
  peek(): T | undefined {
    return this.#heap[0];
  }

  pop(): T | undefined {
    const top = this.#heap[0];
    if (top !== undefined) this.remove(top);
    return top;
  }

  /** Removes `entry` if it is queued; returns whether it was. */
  remove(entry: T): boolean {
    const index = entry.heapIndex;
    if (index < 0 || this.#heap[index] !== entry) return false;
    const last = this.#heap.pop() as T;
    entry.heapIndex = -1;
    if (last !== entry) {
      this.#heap[index] = last;
      last.heapIndex = index;
      this.#siftDown(index);
      this.#siftUp(last.heapIndex);
    }
    return true;
  }

  /** Changes a queued entry's priority and restores the heap order. */
  reprioritize(entry: T, priority: number): void {
    const raised = priority > entry.priority;
    entry.priority = priority;
    if (entry.heapIndex < 0) return;
    if (raised) this.#siftUp(entry.heapIndex);
    else this.#siftDown(entry.heapIndex);
  }

  /** Empties the queue and returns the entries it held, in no particular order. */
  drain(): T[] {
    const entries = this.#heap.splice(0);
    for (const entry of entries) entry.heapIndex = -1;
    return entries;
  }

  #isBefore(a: T, b: T): boolean {
    return a.priority > b.priority || (a.priority === b.priority && a.seq < b.seq);
  }

  #siftUp(start: number): void {
    const heap = this.#heap;
    const entry = heap[start] as T;
    let index = start;
    while (index > 0) {
      const parentIndex = (index - 1) >> 1;
      const parent = heap[parentIndex] as T;
      if (!this.#isBefore(entry, parent)) break;
      heap[index] = parent;
      parent.heapIndex = index;
      index = parentIndex;
    }
    heap[index] = entry;
    entry.heapIndex = index;
  }

  #siftDown(start: number): void {
    const heap = this.#heap;
    const length = heap.length;
    const entry = heap[start] as T;
    let index = start;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= length) break;
      const right = left + 1;
      let child = left;
      if (right < length && this.#isBefore(heap[right] as T, heap[left] as T)) child = right;
      const childEntry = heap[child] as T;
      if (!this.#isBefore(childEntry, entry)) break;
      heap[index] = childEntry;
      childEntry.heapIndex = index;
      index = child;
    }
    heap[index] = entry;
    entry.heapIndex = index;
  }
}
