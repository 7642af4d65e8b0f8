/**
 * A journal that cannot be used is refused at construction, with an error that names the file
 * and says why, and is never replaced or changed: a corrupt, truncated or empty file, a file that
 * is not a journal, a journal of another format, a path in a folder that does not exist or
 * cannot be written, and a journal another process has open (a lock, not corruption). And
 * better-sqlite3 is loaded only for a journal: missing, it is named in the error.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JournalCorruptError, JournalLockedError, JournalMismatchError, TaskManager, workerTask, type TaskManagerOptions } from 'taskloom';
import { Child, JOURNAL_TASKS, startChild } from './fixtures/journal-process.js';
import { createManager } from './helpers.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const echo = workerTask(pathToFileURL(JOURNAL_TASKS), 'echo');

let folder: string;
let journal: string;
const children: Child[] = [];

beforeEach(() => {
  folder = mkdtempSync(join(tmpdir(), 'taskloom-journal-faults-'));
  journal = join(folder, 'run.db');
});

afterEach(() => {
  for (const child of children.splice(0)) child.process.kill('SIGKILL');
  rmSync(folder, { recursive: true, force: true });
});

function open(options: TaskManagerOptions = {}): TaskManager {
  return createManager({ journal, ...options });
}

/** The error constructing a manager on the journal throws. */
function refusal(options: TaskManagerOptions = {}): Error {
  try {
    open(options);
  } catch (error) {
    return error as Error;
  }
  throw new Error('the manager was constructed');
}

/** A journal holding `count` pending tasks, closed. */
async function makeJournal(count: number): Promise<void> {
  const manager = open();
  for (let i = 0; i < count; i++) manager.createTask(`t${i}`, echo, { args: `${'x'.repeat(400)}${i}` });
  await manager.stop();
}

/** Expects the file to be as it was, and no file beside it (no -wal, no -shm). */
function expectUntouched(bytes: Buffer): void {
  expect(readFileSync(journal).equals(bytes)).toBe(true);
  expect(readdirSync(folder)).toEqual(['run.db']);
}

describe('a file that is not a sound journal', () => {
  it('refuses a corrupt file, naming it, and leaves it as it is', () => {
    const bytes = Buffer.from('SQLite format 3\0'.padEnd(4096, '#'));
    writeFileSync(journal, bytes);
    const error = refusal();
    expect(error).toBeInstanceOf(JournalCorruptError);
    expect(error.message).toContain(journal);
    expect(error.message).toMatch(/corrupt or truncated.*left as it is/);
    expectUntouched(bytes);
  });

  it('refuses a truncated journal, and leaves it as it is', async () => {
    await makeJournal(300);
    const whole = readFileSync(journal);
    truncateSync(journal, Math.floor(whole.length / 2 / 4096) * 4096);
    const bytes = readFileSync(journal);
    const error = refusal();
    expect(error).toBeInstanceOf(JournalCorruptError);
    expect(error).toMatchObject({ path: journal, code: 'TASKLOOM_JOURNAL_CORRUPT' });
    expectUntouched(bytes);
  });

  it('refuses an empty file rather than making a journal over it', () => {
    writeFileSync(journal, '');
    expect(refusal().message).toMatch(/run\.db cannot be used: the file is empty/);
    expectUntouched(Buffer.alloc(0));
  });

  it('refuses a SQLite database that is not a journal', () => {
    const db = new Database(journal);
    db.exec('CREATE TABLE notes (text TEXT)');
    db.close();
    const bytes = readFileSync(journal);
    const error = refusal();
    expect(error).toBeInstanceOf(JournalCorruptError);
    expect(error.message).toContain('it is not a taskloom journal');
    expectUntouched(bytes);
  });

  it('refuses a journal of another format', async () => {
    await makeJournal(1);
    const db = new Database(journal);
    db.pragma('user_version = 99');
    db.close();
    const error = refusal();
    expect(error).toBeInstanceOf(JournalMismatchError);
    expect(error.message).toContain('has format 99');
  });
});

describe('a path that cannot hold a journal', () => {
  it('refuses a path in a folder that does not exist, and makes nothing', () => {
    journal = join(folder, 'missing', 'run.db');
    const error = refusal();
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toBe(
      `Expected \`options.journal\` to be a file in a folder that exists, but ${join(folder, 'missing')} does not exist`,
    );
    expect(readdirSync(folder)).toEqual([]);
  });

  it('refuses a folder as the journal', () => {
    journal = folder;
    expect(refusal().message).toMatch(/`options\.journal` to be a journal file, but .* is not a file/);
  });

  it('refuses a bad journal option', () => {
    expect(() => new TaskManager({ journal: 42 as unknown as string })).toThrow(/`options\.journal` to be a path or a file: URL, got `42`/);
    expect(() => new TaskManager({ journal: new URL('http://example.com/run.db') })).toThrow(/got a http: URL/);
    expect(() => new TaskManager({ onInterrupted: 'ignore' as 'retry' })).toThrow(/`options\.onInterrupted` to be 'retry' or 'fail'/);
    expect(() => new TaskManager({ maxJournalAge: -1 })).toThrow(/`options\.maxJournalAge`/);
  });

  it('refuses a folder or a journal this process cannot write', async () => {
    const readOnly = join(folder, 'read-only');
    mkdirSync(readOnly);
    const existing = join(folder, 'existing.db');
    await new TaskManager({ journal: existing, logger: false }).stop();
    const restore = [makeReadOnly(readOnly), makeReadOnly(existing)];
    try {
      // An immutable file or folder is refused with EPERM, a read-only one with EACCES.
      const code = process.getuid?.() === 0 ? 'EPERM' : 'EACCES';
      const refused = (what: string): string =>
        `Expected \`options.journal\` to be a journal this process can write, but ${what} cannot be written (${code})`;
      expect(() => new TaskManager({ journal: join(readOnly, 'run.db') })).toThrow(refused(`its folder ${readOnly}`));
      expect(() => new TaskManager({ journal: existing })).toThrow(refused(`the file ${existing}`));
      expect(readdirSync(readOnly)).toEqual([]);
    } finally {
      for (const undo of restore) undo();
    }
  });
});

/**
 * Makes a file or folder read-only for this process, and returns what undoes it. Root writes
 * through permissions, so for root it is made immutable (`chattr +i`), which binds root too.
 */
function makeReadOnly(path: string): () => void {
  if (process.getuid?.() === 0) {
    execFileSync('chattr', ['+i', path]);
    return () => execFileSync('chattr', ['-i', path]);
  }
  const { mode } = statSync(path);
  chmodSync(path, mode & 0o555);
  return () => chmodSync(path, mode);
}

describe('a journal another process has open', () => {
  it('is refused while that process runs, then recovered once it is killed', async () => {
    const holder = startChild({ journal, tasks: [{ name: 'long', export: 'block' }], compactOnStart: true });
    children.push(holder);
    await holder.untilCount('started', 1);
    const error = refusal();
    expect(error).toBeInstanceOf(JournalLockedError);
    expect(error.message).toBe(
      `The journal ${journal} is in use by another process (or by another TaskManager in this one); it is locked until that one stops.`,
    );
    await holder.kill('SIGKILL');
    // The lock died with its process: nothing stale is left to block recovery.
    const manager = open();
    expect(manager.listTasks()).toMatchObject([{ name: 'long', state: 'pending', attempts: 1 }]);
  });

  it('refuses a second manager in the same process, and the first keeps its lock', async () => {
    const first = open();
    first.createTask('kept', echo, { args: 1 });
    expect(refusal()).toBeInstanceOf(JournalLockedError);
    const other = spawnSync(process.execPath, [join(ROOT, 'test', 'fixtures', 'journal-child.mjs'), JSON.stringify({ journal })], {
      encoding: 'utf8',
    });
    expect(other.status).not.toBe(0);
    expect(other.stderr).toContain('is in use by another process');
    await first.stop();
    expect(open().listTasks()).toMatchObject([{ name: 'kept', state: 'pending' }]);
  });
});

describe('better-sqlite3', () => {
  /** Runs `script` (an ES module) in a fresh process; what it prints. */
  function runFresh(script: string, options: { cwd?: string; execArgv?: string[] } = {}): string {
    return execFileSync(process.execPath, [...(options.execArgv ?? []), '--input-type=module', '-e', script], {
      encoding: 'utf8',
      cwd: options.cwd ?? ROOT,
    });
  }

  const loadsSqlite = `
    const { createRequire } = await import('node:module');
    const cache = Object.keys(createRequire(import.meta.url).cache);
    const addon = process.report.getReport().sharedObjects.some((file) => file.includes('better_sqlite3'));
    console.log(JSON.stringify({ module: cache.some((file) => file.includes('better-sqlite3')), addon }));`;

  it('is not loaded by a manager without a journal, and is by one with a journal', () => {
    const index = JSON.stringify(pathToFileURL(join(ROOT, 'dist', 'index.js')).href);
    const module = JSON.stringify(pathToFileURL(JOURNAL_TASKS).href);
    const run = (options: string): string =>
      runFresh(`
        const { TaskManager, workerTask } = await import(${index});
        const manager = new TaskManager({ logger: false, maxConcurrentTasks: 1, ${options} });
        const id = manager.createTask('echo', workerTask(${module}, 'echo'), { args: 1 });
        manager.runTasks();
        await manager.waitFor(id);
        await manager.stop();
        ${loadsSqlite}`);
    expect(JSON.parse(run(''))).toEqual({ module: false, addon: false });
    expect(JSON.parse(run(`journal: ${JSON.stringify(journal)}`))).toEqual({ module: true, addon: true });
  });

  it('when it is not installed, the error says what to install', () => {
    // A copy of the package whose node_modules lacks better-sqlite3 (symlinks to the rest).
    const copy = join(folder, 'package');
    mkdirSync(join(copy, 'node_modules'), { recursive: true });
    cpSync(join(ROOT, 'package.json'), join(copy, 'package.json'));
    symlinkSync(join(ROOT, 'dist'), join(copy, 'dist'));
    for (const entry of readdirSync(join(ROOT, 'node_modules'))) {
      if (entry !== 'better-sqlite3') symlinkSync(join(ROOT, 'node_modules', entry), join(copy, 'node_modules', entry));
    }
    const index = JSON.stringify(pathToFileURL(join(copy, 'dist', 'index.js')).href);
    const output = runFresh(
      `
      const { TaskManager } = await import(${index});
      new TaskManager({ logger: false }).stop();
      try { new TaskManager({ journal: ${JSON.stringify(journal)}, logger: false }); console.log('opened'); }
      catch (error) { console.log(JSON.stringify({ name: error.name, code: error.code, message: error.message })); }`,
      { cwd: copy, execArgv: ['--preserve-symlinks', '--preserve-symlinks-main'] },
    );
    expect(JSON.parse(output)).toEqual({
      name: 'MissingDependencyError',
      code: 'TASKLOOM_MISSING_DEPENDENCY',
      message: 'The journal needs the package better-sqlite3, which is not installed: run `npm install better-sqlite3@12`',
    });
    expect(existsSync(journal)).toBe(false);
  });
});
