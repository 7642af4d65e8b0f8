/**
 * `taskloom run --journal`: a run is recorded, and the same command with the same journal runs
 * only the jobs that did not complete (`--retry-failed`: the failed ones too), then reports on
 * every job, the earlier ones included. A job is matched by its index and a hash of its name,
 * handler and args. Each test runs the built CLI in a child process, as a user would.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ResultsDocument } from '../dist/cli/results.js';
import { Child, CLI, countRuns, JOURNAL_TASKS, readJournal, startChild, type Exit } from './fixtures/journal-process.js';

let folder: string;
let journal: string;
let runs: string;
let out: string;
let jobFile: string;

beforeEach(() => {
  folder = mkdtempSync(join(tmpdir(), 'taskloom-journal-cli-'));
  journal = join(folder, 'run.db');
  runs = join(folder, 'runs.txt');
  out = join(folder, 'results.json');
  jobFile = join(folder, 'jobs.json');
});

afterEach(() => {
  rmSync(folder, { recursive: true, force: true });
});

interface JobSpec {
  readonly name: string;
  readonly export: 'record' | 'fail';
  readonly args?: Record<string, unknown>;
}

/** Writes a job file of `record` and `fail` jobs, each appending its name to the runs file when it runs. */
function writeJobs(specs: readonly JobSpec[], file = jobFile): void {
  const jobs = specs.map((spec) => ({
    name: spec.name,
    handler: { module: JOURNAL_TASKS, export: spec.export },
    args: { file: runs, key: spec.name, message: `${spec.name} failed`, ...spec.args },
  }));
  writeFileSync(file, JSON.stringify(jobs));
}

function taskloom(...args: string[]): Promise<Exit> {
  return new Child([CLI, 'run', ...args, '--concurrency', '2']).exited;
}

function results(): ResultsDocument {
  return JSON.parse(readFileSync(out, 'utf8')) as ResultsDocument;
}

const FOUR_AND_A_FAILURE: readonly JobSpec[] = [
  { name: 'a', export: 'record' },
  { name: 'b', export: 'record' },
  { name: 'flaky', export: 'fail' },
  { name: 'c', export: 'record' },
  { name: 'd', export: 'record' },
];

describe('taskloom run --journal', () => {
  it('reruns nothing that completed or failed, and writes every job to --out, the earlier results included', async () => {
    writeJobs(FOUR_AND_A_FAILURE);
    const first = await taskloom(jobFile, '--journal', journal, '--out', out);
    expect(first.code).toBe(1);
    const before = results();
    expect(before.stats).toMatchObject({ total: 5, completed: 4, failed: 1 });
    expect(before.resumed).toEqual({ journal, skipped: 0 });

    const second = await taskloom(jobFile, '--journal', journal, '--out', out);
    expect(second.code).toBe(1);
    expect(second.stdout).toContain('Skipped 5 jobs done in an earlier run');
    expect(Object.fromEntries(countRuns(runs))).toEqual({ a: 1, b: 1, flaky: 1, c: 1, d: 1 });
    const after = results();
    expect(after.resumed).toEqual({ journal, skipped: 5 });
    expect(after.tasks.map((task) => [task.name, task.state, task.result, task.error])).toEqual([
      ['a', 'completed', 'a', null],
      ['b', 'completed', 'b', null],
      ['flaky', 'failed', null, 'flaky failed'],
      ['c', 'completed', 'c', null],
      ['d', 'completed', 'd', null],
    ]);
    expect(after.tasks.map((task) => [task.id, task.startedAt, task.completedAt])).toEqual(
      before.tasks.map((task) => [task.id, task.startedAt, task.completedAt]),
    );
  });

  it('--retry-failed runs the failed jobs again, and nothing else', async () => {
    writeJobs(FOUR_AND_A_FAILURE);
    await taskloom(jobFile, '--journal', journal);
    const retried = await taskloom(jobFile, '--journal', journal, '--retry-failed', '--out', out);
    expect(retried.stdout).toContain('Skipped 4 jobs done in an earlier run');
    expect(Object.fromEntries(countRuns(runs))).toEqual({ a: 1, b: 1, flaky: 2, c: 1, d: 1 });
    expect(results().stats).toMatchObject({ total: 5, completed: 4, failed: 1 });
    // The rerun is the job's task from now on: a third run skips it.
    const third = await taskloom(jobFile, '--journal', journal);
    expect(third.stdout).toContain('Skipped 5 jobs done in an earlier run');
    expect(countRuns(runs).get('flaky')).toBe(2);
  });

  it('runs a job again when it changed since the journal was written', async () => {
    writeJobs(FOUR_AND_A_FAILURE.filter((job) => job.export === 'record'));
    await taskloom(jobFile, '--journal', journal);
    writeJobs([
      { name: 'a', export: 'record' },
      { name: 'b', export: 'record', args: { busyMs: 1 } },
      { name: 'c renamed', export: 'record', args: { key: 'c' } },
      { name: 'd', export: 'record' },
      { name: 'e', export: 'record' },
    ]);
    const second = await taskloom(jobFile, '--journal', journal, '--out', out);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('Skipped 2 jobs done in an earlier run');
    expect(Object.fromEntries(countRuns(runs))).toEqual({ a: 1, b: 2, c: 2, d: 1, e: 1 });
    expect(results().tasks.map((task) => task.name)).toEqual(['a', 'b', 'c renamed', 'd', 'e']);
  });

  it('refuses a journal written for another job file with exit 2, and changes nothing in it', async () => {
    writeJobs(FOUR_AND_A_FAILURE);
    await taskloom(jobFile, '--journal', journal);
    const other = join(folder, 'other.json');
    writeJobs(FOUR_AND_A_FAILURE, other);
    const bytes = readFileSync(journal);
    const { mtimeMs } = statSync(journal);
    const refused = await taskloom(other, '--journal', journal);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toBe(
      `taskloom run: The journal ${journal} was written for another job file, ${jobFile}, not ${other}: give another --journal file, or move this one away to start afresh\n`,
    );
    expect(readFileSync(journal).equals(bytes)).toBe(true);
    expect(statSync(journal).mtimeMs).toBe(mtimeMs);
    expect(countRuns(runs).get('a')).toBe(1);
  });

  it('refuses a corrupt journal with exit 2, naming it, and leaves it as it is', async () => {
    writeJobs(FOUR_AND_A_FAILURE);
    writeFileSync(journal, 'not a journal at all, but long enough to look like a file of some sort'.repeat(100));
    const bytes = readFileSync(journal);
    const refused = await taskloom(jobFile, '--journal', journal);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`taskloom run: The journal ${journal} cannot be used: it is corrupt or truncated`);
    expect(readFileSync(journal).equals(bytes)).toBe(true);
    expect(countRuns(runs).size).toBe(0);
  });

  it('refuses a journal in a folder that does not exist, and --retry-failed without --journal, with exit 2', async () => {
    writeJobs(FOUR_AND_A_FAILURE);
    const missing = await taskloom(jobFile, '--journal', join(folder, 'no', 'run.db'));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(
      `taskloom run: option --journal: Expected \`--journal\` to be a file in a folder that exists, but ${join(folder, 'no')} does not exist`,
    );
    const alone = await taskloom(jobFile, '--retry-failed');
    expect(alone.code).toBe(2);
    expect(alone.stderr).toContain('option --retry-failed reruns the failed jobs of a journal: give the journal with --journal');
    expect(countRuns(runs).size).toBe(0);
  });

  it('refuses a journal another process has open with exit 2: in use, not corrupt', async () => {
    writeJobs(FOUR_AND_A_FAILURE);
    const holder = startChild({ journal, tasks: [{ name: 'long', export: 'block' }], compactOnStart: true });
    try {
      await holder.untilCount('started', 1);
      const refused = await taskloom(jobFile, '--journal', journal);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toBe(
        `taskloom run: The journal ${journal} is in use by another process (or by another TaskManager in this one); it is locked until that one stops.\n`,
      );
    } finally {
      await holder.kill('SIGKILL');
    }
    expect(countRuns(runs).size).toBe(0);
  });

  it('labels each task with its job: index and hash', async () => {
    writeJobs(FOUR_AND_A_FAILURE.slice(0, 2));
    await taskloom(jobFile, '--journal', journal);
    const labels = [...readJournal(journal).values()].map((task) => task.label);
    expect(labels).toEqual([expect.stringMatching(/^0:[0-9a-f]{32}$/), expect.stringMatching(/^1:[0-9a-f]{32}$/)]);
  });
});
