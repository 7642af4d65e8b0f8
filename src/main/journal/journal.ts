/**
 * The journal: a durable record of every task of a manager, on the main thread, in SQLite.
 *
 * The task table tells the journal of each change of state as it is made (it is the table's
 * observer). A task is checked and its arguments serialized inside `createTask`, so that one
 * that cannot be recorded is refused there; the rows themselves are written in groups, one
 * transaction for everything that changed in one turn of the event loop, and, under load, at
 * most one every `GROUP_MS`. A record changed several times in one group is written once, as it
 * stands. What is waiting is written at once when the process exits (`process.exit()`, a second
 * Ctrl-C in the CLI) and when the manager stops; a SIGKILL loses at most the last group.
 *
 * `stop()` freezes the journal: the tasks it cancels stay in the journal as they were, pending
 * or running, so that a manager opened on it later takes them up.
 */
import type { Logger } from 'pino';
import { received } from '../../shared/validate.js';
import type { Handler } from '../../shared/handler.js';
import type { Task } from '../../shared/task.js';
import type { TaskRecord } from '../task-record.js';
import { isLive, type TaskObserver } from '../task-table.js';
import { JournalFile } from './journal-file.js';
import { recover, type Recovered, type RecoveryTarget, type InterruptedPolicy } from './recovery.js';
import { encodeArgs, readRows, RecordReader, SELECT_TASKS } from './serialize.js';
import type { Statement } from './sqlite.js';
import { TaskWrites } from './writes.js';

/** Under load, the least time between two commits: changes in between are written together. */
const GROUP_MS = 4;
/** How often, at most, finished tasks past `maxJournalAge` are looked for while the manager runs. */
const PRUNE_INTERVAL_MS = 60_000;

export interface JournalOptions {
  /** The journal file, absolute. */
  readonly path: string;
  readonly onInterrupted: InterruptedPolicy;
  /** Finished tasks older than this many milliseconds are removed; Infinity keeps them. */
  readonly maxJournalAge: number;
  readonly maxFinishedTasks: number;
  readonly logger: Logger;
  /** The manager the journal records: `journalOf(owner)` finds the journal. */
  readonly owner: object;
}

/** The journal of each journaled manager: the command line labels the tasks it creates through it. */
const journals = new WeakMap<object, Journal>();

/** The journal of a manager constructed with one. */
export function journalOf(owner: object): Journal | undefined {
  return journals.get(owner);
}

/** The journals open in this process: each writes what is waiting when the process exits. */
const openJournals = new Set<Journal>();

function closeAll(): void {
  for (const journal of openJournals) journal.close();
}

export class Journal implements TaskObserver {
  readonly file: JournalFile;
  readonly #logger: Logger;
  readonly #maxAge: number;
  readonly #writes: TaskWrites;
  readonly #setLabel: Statement;
  readonly #select: Statement<[string]>;
  readonly #write: () => void;
  readonly #reader = new RecordReader();
  /**
   * A task's row is `#base + record.seq` (`seq` is the manager's creation order): a write needs
   * no index. Tasks recovered from the journal keep their rows, here until they are final.
   */
  readonly #base: number;
  readonly #recoveredRows = new Map<TaskRecord, number>();
  /** The group being gathered: tasks created (with their serialized args), tasks changed, and labels. */
  #created: TaskRecord[] = [];
  #createdArgs: (Buffer | null)[] = [];
  readonly #changed = new Set<TaskRecord>();
  readonly #labels = new Map<string, string>();
  /** The arguments `prepare` serialized, for the record that `added` hears of next. */
  #prepared: Buffer | null = null;
  #timer: NodeJS.Immediate | NodeJS.Timeout | undefined = undefined;
  #lastWrite = -Infinity;
  #nextPrune: number;
  #isBroken = false;

  /** `file` is open and locked; `maxAge` is in milliseconds, Infinity for no limit. */
  constructor(file: JournalFile, logger: Logger, maxAge: number) {
    this.file = file;
    this.#logger = logger;
    this.#maxAge = maxAge;
    const { db } = file;
    // Commits stay small; the write-ahead log is folded into the file every 16 MiB or so.
    db.pragma('wal_autocheckpoint = 4000');
    this.#writes = new TaskWrites(db);
    this.#base = db.prepare('SELECT coalesce(max(seq), 0) + 1 FROM tasks').pluck().get() as number;
    this.#setLabel = db.prepare('UPDATE tasks SET label = ? WHERE id = ?');
    this.#select = db.prepare(`${SELECT_TASKS} WHERE t.id = ?`);
    this.#write = db.transaction(() => this.#writeGroup());
    this.#nextPrune = maxAge === Infinity ? Infinity : 0;
    openJournals.add(this);
    if (openJournals.size === 1) process.on('exit', closeAll);
  }

  /**
   * Opens (or makes) the journal and recovers every task it holds into `target`, before it
   * returns. The caller then makes the journal its task table's observer.
   * @throws {TypeError} for a path in a folder that does not exist or cannot be written.
   * @throws {JournalCorruptError}, {JournalLockedError}, {JournalMismatchError}, {MissingDependencyError}
   */
  static open(options: JournalOptions, target: RecoveryTarget): { journal: Journal; recovered: Recovered } {
    const file = JournalFile.open(options.path, 'options.journal');
    let journal: Journal | undefined;
    try {
      journal = new Journal(file, options.logger, options.maxJournalAge);
      journal.prune();
      const rows = journal.#recoveredRows;
      const recovered = recover(file, target, options, (record, row) => rows.set(record, row));
      journals.set(options.owner, journal);
      return { journal, recovered };
    } catch (error) {
      if (journal === undefined) file.close();
      else journal.close();
      throw error;
    }
  }

  /**
   * Checks that a task can be recorded, and serializes its arguments for `added`: the last
   * check of `createTask`, right before the task is made.
   * @returns Whether the task is to be recorded: false for one created with `durable: false`.
   * @throws {TypeError} for a function handler, or arguments that cannot be stored (naming their path).
   */
  prepare(handler: Handler, args: unknown, durable: boolean): boolean {
    if (!durable) return false;
    if (typeof handler === 'function') {
      throw new TypeError(
        `Expected \`handler\` to be a workerTask(...) reference: a manager with a journal records every task, and a function cannot be recorded, ${received(handler)}; ` +
          'create the task with `durable: false` to run it unrecorded',
      );
    }
    this.#prepared = encodeArgs(args);
    return true;
  }

  added(record: TaskRecord): void {
    if (!record.durable) return;
    this.#created.push(record);
    this.#createdArgs.push(this.#prepared);
    this.#prepared = null;
    this.#schedule();
  }

  started(record: TaskRecord): void {
    this.changed(record);
  }

  requeued(record: TaskRecord): void {
    this.changed(record);
  }

  finalized(record: TaskRecord): void {
    this.changed(record);
  }

  /** A change the table does not hear of (a new priority), or one of the above. */
  changed(record: TaskRecord): void {
    if (!record.durable) return;
    this.#changed.add(record);
    this.#schedule();
  }

  /** Records a label of the caller's with a task: the command line's job key. */
  label(id: string, label: string): void {
    this.#labels.set(id, label);
    this.#schedule();
  }

  /** A task the journal holds, as a snapshot (for one retention dropped from memory); undefined if it holds none. */
  read(id: string): Task | undefined {
    if (!this.file.db.open) return undefined;
    this.flush();
    const [row] = this.file.read(() => [...readRows(this.#select, id)]);
    return row === undefined ? undefined : this.#reader.read(row, -1, false).snapshot();
  }

  /**
   * Removes every finished task from the journal, and gives the space back.
   * @returns How many were removed.
   */
  compact(): number {
    if (!this.file.db.open) return 0;
    this.flush();
    const { db } = this.file;
    const changes = db.transaction(() => {
      db.prepare('DELETE FROM tasks WHERE seq IN (SELECT seq FROM ends)').run();
      return db.prepare('DELETE FROM ends').run().changes;
    })();
    db.pragma('incremental_vacuum');
    db.pragma('wal_checkpoint(TRUNCATE)');
    return changes;
  }

  /** Writes what is waiting, now. */
  flush(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer as NodeJS.Timeout);
      clearImmediate(this.#timer as NodeJS.Immediate);
      this.#timer = undefined;
    }
    if (this.#isBroken || !this.file.db.open) return;
    if (this.#created.length > 0 || this.#changed.size > 0 || this.#labels.size > 0) {
      try {
        this.#write();
      } catch (error) {
        this.#isBroken = true;
        this.#logger.error(
          { err: error, journal: this.file.path },
          'the journal could not be written: tasks go on, but are no longer recorded',
        );
      }
      this.#created = [];
      this.#createdArgs = [];
      this.#changed.clear();
      this.#labels.clear();
      this.#lastWrite = performance.now();
    }
    if (Date.now() >= this.#nextPrune) this.prune();
  }

  /** Removes finished tasks older than `maxJournalAge`. */
  prune(): void {
    if (this.#maxAge === Infinity || !this.file.db.open) return;
    const now = Date.now();
    this.#nextPrune = now + Math.min(this.#maxAge, PRUNE_INTERVAL_MS);
    const { db } = this.file;
    const before = now - this.#maxAge;
    db.transaction(() => {
      db.prepare('DELETE FROM tasks WHERE seq IN (SELECT seq FROM ends WHERE completed_at < ?)').run(before);
      db.prepare('DELETE FROM ends WHERE completed_at < ?').run(before);
    })();
  }

  /** Writes what is waiting and closes the file, releasing its lock. Later changes are not recorded. */
  close(): void {
    openJournals.delete(this);
    if (openJournals.size === 0) process.off('exit', closeAll);
    this.flush();
    this.file.close();
  }

  #schedule(): void {
    if (this.#timer !== undefined) return;
    const wait = this.#lastWrite + GROUP_MS - performance.now();
    const timer = wait > 0 ? setTimeout(this.#flushScheduled, wait) : setImmediate(this.#flushScheduled);
    timer.unref();
    this.#timer = timer;
  }

  readonly #flushScheduled = (): void => {
    this.#timer = undefined;
    this.flush();
  };

  #writeGroup(): void {
    const created = this.#created;
    const labels = this.#labels;
    for (let i = 0; i < created.length; i++) {
      const record = created[i] as TaskRecord;
      const label = labels.size === 0 ? undefined : labels.get(record.id);
      if (label !== undefined) labels.delete(record.id);
      const args = this.#createdArgs[i] ?? null;
      const row = this.#rowOf(record);
      this.#writes.insert(row, record, args, label ?? null);
      // Created and finished in one group: its end too.
      if (!isLive(record)) this.#writes.end(row, record);
      this.#changed.delete(record);
    }
    for (const record of this.#changed) {
      const row = this.#rowOf(record);
      if (isLive(record)) {
        this.#writes.update(row, record);
        continue;
      }
      this.#writes.end(row, record);
      if (this.#recoveredRows.size > 0) this.#recoveredRows.delete(record);
    }
    for (const [id, label] of labels) this.#setLabel.run(label, id);
  }

  #rowOf(record: TaskRecord): number {
    return (this.#recoveredRows.size === 0 ? undefined : this.#recoveredRows.get(record)) ?? this.#base + record.seq;
  }
}
