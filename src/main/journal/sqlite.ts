/**
 * better-sqlite3, loaded on first use: only a manager given a `journal` loads it, so a program
 * that never journals never loads the native addon, and runs without it installed. It is an
 * optional dependency of taskloom; when it is missing, the error says what to install.
 */
import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';
import { JournalUnavailableError, MissingDependencyError } from '../../shared/errors.js';

export type Database = BetterSqlite3.Database;
export type Statement<Params extends unknown[] = unknown[]> = BetterSqlite3.Statement<Params>;

type DatabaseClass = typeof BetterSqlite3;

let loaded: DatabaseClass | undefined;

/** The better-sqlite3 constructor. */
function sqlite(): DatabaseClass {
  if (loaded !== undefined) return loaded;
  const require = createRequire(import.meta.url);
  try {
    loaded = require('better-sqlite3') as DatabaseClass;
  } catch (error) {
    if ((error as NodeJS.ErrnoException | null)?.code === 'MODULE_NOT_FOUND') {
      throw new MissingDependencyError('better-sqlite3', 'The journal', 'npm install better-sqlite3@12', { cause: error });
    }
    throw new JournalUnavailableError(errorText(error), { cause: error });
  }
  return loaded;
}

/**
 * Opens a SQLite database file. A lock held by another connection is reported at once, never
 * waited for (`timeout: 0`). The addon itself loads with the first database: an addon built for
 * another version of Node.js fails here, with JournalUnavailableError.
 */
export function openDatabase(path: string, options: { readonly fileMustExist: boolean }): Database {
  const Database = sqlite();
  try {
    return new Database(path, { fileMustExist: options.fileMustExist, timeout: 0 });
  } catch (error) {
    if (isSqliteError(error)) throw error;
    throw new JournalUnavailableError(errorText(error), { cause: error });
  }
}

/** A SqliteError from better-sqlite3: its `code` is SQLite's (`SQLITE_BUSY`, `SQLITE_CORRUPT`...). */
export function isSqliteError(error: unknown): error is Error & { readonly code: string } {
  return error instanceof Error && error.name === 'SqliteError' && typeof (error as { code?: unknown }).code === 'string';
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
