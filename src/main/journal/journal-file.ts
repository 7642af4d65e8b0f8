/**
 * The journal file: a SQLite database in WAL mode that one process at a time has open.
 *
 * - A new journal is made whole under a temporary name, then linked into place, so that a crash
 *   never leaves a half-made journal where one is expected. An empty file is therefore never a
 *   journal: it is refused, like any file that is not one, and never replaced.
 * - The lock is SQLite's own: the connection runs in `locking_mode = EXCLUSIVE` and takes the
 *   write lock as it opens, and holds it until it closes. The kernel releases it when the
 *   process ends, however it ends, so a journal whose owner was killed opens at once.
 * - Commits go to the write-ahead log without an fsync (`synchronous = NORMAL`): a commit
 *   survives the process being killed, though not the machine losing power.
 */
import { randomBytes } from 'node:crypto';
import { accessSync, constants, linkSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { JournalCorruptError, JournalLockedError, JournalMismatchError } from '../../shared/errors.js';
import { isSqliteError, openDatabase, type Database } from './sqlite.js';

/** 'TLOM': marks a SQLite file as a taskloom journal, in its header. */
const APPLICATION_ID = 0x544c4f4d;
/** The layout of the tables below; a journal of another format is refused, never converted. */
const FORMAT = 1;

/**
 * `tasks` holds each task as it was created, and its last live state (pending or running);
 * `ends` holds the final state of each finished task, by its row in `tasks`. A task ends with
 * one insert into `ends`, which appends, rather than with an update of its row.
 */
const SCHEMA = `
  CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
  CREATE TABLE tasks (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    module TEXT NOT NULL,
    export TEXT NOT NULL,
    args BLOB,
    priority REAL NOT NULL,
    timeout_ms REAL,
    retry TEXT,
    parent_id TEXT,
    label TEXT,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    errors TEXT,
    created_at INTEGER NOT NULL,
    started_at INTEGER
  ) STRICT;
  CREATE TABLE ends (
    seq INTEGER PRIMARY KEY,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    progress REAL NOT NULL,
    errors TEXT,
    result BLOB,
    error TEXT,
    failure TEXT,
    started_at INTEGER,
    completed_at INTEGER NOT NULL
  ) STRICT;
`;

/** SQLite's answers that mean the file is not a sound database. */
const CORRUPT_CODES = new Set([
  'SQLITE_CORRUPT',
  'SQLITE_NOTADB',
  'SQLITE_IOERR_SHORT_READ',
  'SQLITE_CORRUPT_INDEX',
  'SQLITE_CORRUPT_SEQUENCE',
]);

/** An open journal file, locked for this process. */
export class JournalFile {
  readonly path: string;
  readonly db: Database;

  private constructor(path: string, db: Database) {
    this.path = path;
    this.db = db;
  }

  /**
   * Opens the journal at `path` (absolute), making it if it does not exist.
   * @param option How the caller names the path in errors, e.g. "options.journal".
   * @throws {TypeError} for a path in a folder that does not exist or cannot be written.
   * @throws {JournalCorruptError} for a file that is not a sound journal; it is left untouched.
   * @throws {JournalLockedError} when another process has the journal open.
   * @throws {JournalMismatchError} for a journal of another format.
   */
  static open(path: string, option: string): JournalFile {
    const stats = statSync(path, { throwIfNoEntry: false });
    if (stats === undefined) create(path, option);
    else checkExisting(path, option, stats.isFile(), stats.size);
    const db = guard(path, () => openDatabase(path, { fileMustExist: true }));
    try {
      guard(path, () => lock(db, path));
      return new JournalFile(path, db);
    } catch (error) {
      db.close();
      throw error;
    }
  }

  getMeta(key: string): string | undefined {
    const row = this.db.prepare('SELECT value FROM meta WHERE key = ?').pluck().get(key) as string | undefined;
    return row;
  }

  setMeta(key: string, value: string): void {
    this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(key, value);
  }

  /** Runs `read` on the database, turning SQLite's corruption errors into JournalCorruptError. */
  read<T>(read: (db: Database) => T): T {
    return guard(this.path, () => read(this.db));
  }

  /** Closes the database, which releases the lock. */
  close(): void {
    if (this.db.open) this.db.close();
  }
}

/** Makes a new, empty journal at `path`: whole under a temporary name, then linked into place. */
function create(path: string, option: string): void {
  const folder = dirname(path);
  const stats = statSync(folder, { throwIfNoEntry: false });
  if (stats?.isDirectory() !== true) {
    throw new TypeError(
      `Expected \`${option}\` to be a file in a folder that exists, but ${folder} ${stats === undefined ? 'does not exist' : 'is not a folder'}`,
    );
  }
  checkWritable(folder, option, 'its folder');
  const temporary = join(folder, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const db = openFresh(temporary, option, folder);
    try {
      db.pragma(`application_id = ${APPLICATION_ID}`);
      db.pragma(`user_version = ${FORMAT}`);
      db.pragma('auto_vacuum = INCREMENTAL');
      db.exec(`BEGIN; ${SCHEMA}; COMMIT;`);
      db.prepare("INSERT INTO meta (key, value) VALUES ('created_at', ?)").run(new Date().toISOString());
    } finally {
      db.close();
    }
    placeNew(temporary, path);
  } finally {
    rmSync(temporary, { force: true });
  }
}

/**
 * Moves the new journal into place without replacing anything there: a hard link fails if
 * another process made the journal meanwhile, and theirs is then used. A file system without
 * hard links gets a rename.
 */
function placeNew(temporary: string, path: string): void {
  try {
    linkSync(temporary, path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS') throw error;
    renameSync(temporary, path);
  }
}

function openFresh(path: string, option: string, folder: string): Database {
  try {
    return openDatabase(path, { fileMustExist: false });
  } catch (error) {
    if (isSqliteError(error) && error.code.startsWith('SQLITE_CANTOPEN')) {
      throw new TypeError(`Expected \`${option}\` to be in a folder that can be written, but ${folder} cannot be written (${error.code})`, {
        cause: error,
      });
    }
    throw error;
  }
}

function checkExisting(path: string, option: string, isFile: boolean, size: number): void {
  if (!isFile) throw new TypeError(`Expected \`${option}\` to be a journal file, but ${path} is not a file`);
  if (size === 0) throw new JournalCorruptError(path, 'the file is empty: it is not a journal, or it was truncated');
  checkWritable(path, option, 'the file');
  checkWritable(dirname(path), option, 'its folder');
}

function checkWritable(path: string, option: string, what: string): void {
  try {
    accessSync(path, constants.R_OK | constants.W_OK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
    throw new TypeError(`Expected \`${option}\` to be a journal this process can write, but ${what} ${path} cannot be written (${code})`, {
      cause: error,
    });
  }
}

/**
 * Takes the lock, then checks that this is a journal of our format: the lock first, so that a
 * journal another process is writing is reported as in use, not as corrupt.
 */
function lock(db: Database, path: string): void {
  db.pragma('locking_mode = EXCLUSIVE');
  const applicationId = db.pragma('application_id', { simple: true }) as number;
  if (applicationId !== APPLICATION_ID) throw new JournalCorruptError(path, 'it is not a taskloom journal');
  const format = db.pragma('user_version', { simple: true }) as number;
  if (format !== FORMAT) {
    throw new JournalMismatchError(path, `has format ${format}, and this version of taskloom reads format ${FORMAT} only`);
  }
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  // The first write takes the exclusive lock, which the connection keeps until it closes.
  db.exec('BEGIN IMMEDIATE; COMMIT');
  const problems = db.pragma('quick_check(3)', { simple: false }) as { quick_check: string }[];
  const first = problems[0]?.quick_check;
  if (first !== 'ok') throw new JournalCorruptError(path, `SQLite finds it damaged: ${problems.map((row) => row.quick_check).join('; ')}`);
}

/** Runs `action`, turning SQLite's errors about the file into taskloom's errors naming it. */
function guard<T>(path: string, action: () => T): T {
  try {
    return action();
  } catch (error) {
    if (!isSqliteError(error)) throw error;
    if (error.code === 'SQLITE_BUSY' || error.code.startsWith('SQLITE_BUSY_')) throw new JournalLockedError(path, { cause: error });
    if (CORRUPT_CODES.has(error.code) || error.code.startsWith('SQLITE_CORRUPT')) {
      throw new JournalCorruptError(path, `it is corrupt or truncated (${error.message})`, { cause: error });
    }
    throw error;
  }
}
