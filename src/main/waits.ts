/**
 * Waiting, two ways: promises that resolve together when a condition is met (idle, room in the
 * queue), and the count of running tasks whose handlers wait for other tasks, which tells when a
 * further wait would deadlock.
 */
import { DeadlockError } from '../shared/errors.js';

/** Resolvers released together. */
export class Waiters {
  #resolvers: (() => void)[] = [];

  get isEmpty(): boolean {
    return this.#resolvers.length === 0;
  }

  wait(): Promise<void> {
    return new Promise((resolve) => this.#resolvers.push(resolve));
  }

  releaseAll(): void {
    const resolvers = this.#resolvers;
    this.#resolvers = [];
    for (const resolve of resolvers) resolve();
  }
}

/**
 * Running tasks that wait for other tasks, with how many waits each has open. A task that waits
 * still holds its slot, so once every slot is held by a waiting task no pending task can start:
 * the wait that would bring that about is refused instead.
 */
export class WaitTracker<Caller> {
  readonly #open = new Map<Caller, number>();
  readonly #slots: number;

  constructor(slots: number) {
    this.#slots = slots;
  }

  /** Records a wait of `caller` for task `id`; throws a DeadlockError if it could never end. */
  enter(caller: Caller, id: string): void {
    const open = this.#open.get(caller) ?? 0;
    if (open === 0 && this.#open.size + 1 >= this.#slots) {
      throw new DeadlockError(
        `waitFor(${JSON.stringify(id)}) would deadlock: all ${this.#slots} slots would be held by tasks waiting for ` +
          'other tasks, so the task waited for could never start. Raise maxConcurrentTasks, or wait for child tasks ' +
          'outside the handler.',
      );
    }
    this.#open.set(caller, open + 1);
  }

  leave(caller: Caller): void {
    const left = (this.#open.get(caller) ?? 0) - 1;
    if (left > 0) this.#open.set(caller, left);
    else this.#open.delete(caller);
  }

  /** The caller no longer holds a slot (it ended): its waits no longer count. */
  forget(caller: Caller): void {
    if (this.#open.size !== 0) this.#open.delete(caller);
  }
}
