/**
 * The journal's guarantees when its process dies: a child process runs 500 jobs with a journal
 * and is ended at a random point (chosen by a seeded generator: the same points on every run),
 * then the same work is resumed on the same journal. Each job appends a line to a file every
 * time it runs, so the lines count the runs. After each resume:
 * - every job has completed exactly once in the final results;
 * - a job the journal held as completed at the kill never ran again;
 * - a job that was running at the kill ran at most once more (no job ran more than twice).
 * The library is killed with SIGKILL; `taskloom run --journal` gets Ctrl-C twice.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ResultsDocument } from '../dist/cli/results.js';
import { Child, CLI, countRuns, doneTasks, JOURNAL_TASKS, readJournal, seededRandom, startChild } from './fixtures/journal-process.js';

const JOBS = 500;
const BUSY_MS = 2;
const TRIALS = 10;

let folder: string;
const children: Child[] = [];

beforeEach(() => {
  folder = mkdtempSync(join(tmpdir(), 'taskloom-journal-crash-'));
});

afterEach(() => {
  for (const child of children.splice(0)) child.process.kill('SIGKILL');
  rmSync(folder, { recursive: true, force: true });
});

/** The journal's view at the kill: which jobs it held as completed, and which as running. */
function atKill(journal: string): { completed: Set<string>; running: Set<string> } {
  const tasks = readJournal(journal);
  const named = (state: string): Set<string> => new Set([...tasks].filter(([, task]) => task.state === state).map(([name]) => name));
  return { completed: named('completed'), running: named('running') };
}

/** Checks the run counts against the journal's view at the kill; `key` maps a job name to its key in the runs file. */
function checkRuns(runs: string, before: { completed: Set<string>; running: Set<string> }, key: (name: string) => string): void {
  const counts = countRuns(runs);
  for (let i = 0; i < JOBS; i++) {
    const name = `job-${i}`;
    const count = counts.get(key(name)) ?? 0;
    expect(count, `${name} ran ${count} times`).toBeGreaterThanOrEqual(1);
    expect(count, `${name} ran ${count} times`).toBeLessThanOrEqual(2);
    if (before.completed.has(name)) expect(count, `${name}, completed before the kill, ran again`).toBe(1);
  }
}

describe('a process killed with SIGKILL', () => {
  it(`resumes ${TRIALS} times from a random point, each job completed exactly once`, { timeout: 120_000 }, async () => {
    const random = seededRandom(20_261_130);
    const killedAfter: number[] = [];
    const completedAtKill: number[] = [];
    for (let trial = 0; trial < TRIALS; trial++) {
      const journal = join(folder, `trial-${trial}.db`);
      const runs = join(folder, `trial-${trial}.runs`);
      const plan = { journal, runs, jobs: JOBS, busyMs: BUSY_MS, concurrency: 2 };
      const point = Math.floor(random() * JOBS * 0.9);
      const first = startChild(plan);
      children.push(first);
      await (point === 0 ? first.untilCount('created', 1) : first.untilCount('completed', point));
      expect((await first.kill('SIGKILL')).signal).toBe('SIGKILL');
      const before = atKill(journal);
      killedAfter.push(point);
      completedAtKill.push(before.completed.size);

      const second = startChild(plan);
      children.push(second);
      const exit = await second.exited;
      expect(exit.code, exit.stderr).toBe(0);
      const tasks = doneTasks(second);
      const names = tasks.map((task) => task.name).sort();
      expect(names, 'one task per job').toEqual(Array.from({ length: JOBS }, (_, i) => `job-${i}`).sort());
      expect(tasks.every((task) => task.state === 'completed')).toBe(true);
      checkRuns(runs, before, (name) => name.slice('job-'.length));
    }
    // The kills landed at different points: some early, some late.
    expect(new Set(killedAfter).size).toBeGreaterThan(TRIALS / 2);
    expect(Math.max(...completedAtKill)).toBeGreaterThan(JOBS / 4);
  });
});

describe('taskloom run --journal, Ctrl-C twice', () => {
  it('resumes from random points, each job completed exactly once and written to --out', { timeout: 60_000 }, async () => {
    const random = seededRandom(7);
    for (let trial = 0; trial < 3; trial++) {
      const journal = join(folder, `cli-${trial}.db`);
      const runs = join(folder, `cli-${trial}.runs`);
      const release = join(folder, `cli-${trial}.release`);
      const jobFile = join(folder, `cli-${trial}.json`);
      const out = join(folder, `cli-${trial}.out.json`);
      // The first job holds its thread, deaf to Ctrl-C, until `release` exists: the second Ctrl-C
      // always comes while the first is still waiting for it.
      const jobs = [
        { name: 'holder', handler: { module: JOURNAL_TASKS, export: 'hold' }, args: { file: runs, key: 'holder', release }, priority: 10 },
        ...Array.from({ length: JOBS }, (_, i) => ({
          name: `job-${i}`,
          handler: { module: JOURNAL_TASKS, export: 'record' },
          args: { file: runs, key: String(i), busyMs: BUSY_MS },
        })),
      ];
      writeFileSync(jobFile, JSON.stringify(jobs));
      const args = [CLI, 'run', jobFile, '--journal', journal, '--out', out, '--concurrency', '2'];

      const first = new Child(args);
      children.push(first);
      await first.untilCount('task completed', 1 + Math.floor(random() * JOBS * 0.9));
      first.process.kill('SIGINT');
      await first.untilCount('interrupted: taking no new jobs and cancelling running tasks; press Ctrl-C again to exit at once', 1);
      first.process.kill('SIGINT');
      const interrupted = await first.exited;
      expect(interrupted.code).toBe(130);
      expect(interrupted.stderr).toContain('SIGINT again: exiting now');
      const before = atKill(journal);
      expect(before.running.has('holder')).toBe(true);

      writeFileSync(release, '');
      const second = new Child(args);
      children.push(second);
      const exit = await second.exited;
      expect(exit.code, exit.stderr).toBe(0);
      const skipped = before.completed.size;
      if (skipped > 0) expect(exit.stdout).toContain(`Skipped ${skipped} ${skipped === 1 ? 'job' : 'jobs'} done in an earlier run`);
      const results = JSON.parse(await readFile(out, 'utf8')) as ResultsDocument;
      expect(results.tasks).toHaveLength(JOBS + 1);
      expect(results.tasks.every((task) => task.state === 'completed')).toBe(true);
      expect(results.tasks.map((task) => task.result)).toEqual(['holder', ...Array.from({ length: JOBS }, (_, i) => String(i))]);
      expect(results.resumed).toEqual({ journal, skipped });
      checkRuns(runs, before, (name) => name.slice('job-'.length));
      expect(countRuns(runs).get('holder')).toBe(2);
    }
  });
});
