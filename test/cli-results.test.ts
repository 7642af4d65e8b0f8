/**
 * The results file that `taskloom run --out` writes: whole or not at all, and never through a
 * file planted next to it. Real files in a temp folder; the modules are the built ones.
 */
import { lstat, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeResults, writeResultsSync, type ResultsDocument } from '../dist/cli/results.js';

const DOCUMENT: ResultsDocument = {
  source: 'jobs.json',
  startedAt: '2026-01-02T03:04:05.000Z',
  finishedAt: '2026-01-02T03:04:06.000Z',
  durationMs: 1000,
  interrupted: false,
  stats: { total: 0, pending: 0, running: 0, completed: 0, failed: 0, cancelled: 0 },
  tasks: [],
};
const PRECIOUS = 'a file the run must not touch\n';

let temp: string;

beforeEach(async () => {
  temp = await mkdtemp(join(tmpdir(), 'taskloom-results-'));
});

afterEach(async () => {
  await rm(temp, { recursive: true, force: true });
});

/**
 * Plants a symlink at the temp-file name the results writer once used, `<out>.<pid>.tmp`,
 * pointing at a file of its own.
 */
async function plantSymlink(out: string): Promise<string> {
  const target = join(temp, 'precious.txt');
  await writeFile(target, PRECIOUS);
  await symlink(target, `${out}.${process.pid}.tmp`);
  return target;
}

describe.each([
  ['writeResults', (path: string, document: ResultsDocument): Promise<void> => writeResults(path, document)],
  [
    'writeResultsSync',
    (path: string, document: ResultsDocument): Promise<void> => {
      writeResultsSync(path, document);
      return Promise.resolve();
    },
  ],
])('%s', (_name, write) => {
  it('writes the document through a temp file that no planted symlink can redirect', async () => {
    const out = join(temp, 'results.json');
    const target = await plantSymlink(out);

    await write(out, DOCUMENT);

    expect(await readFile(target, 'utf8')).toBe(PRECIOUS);
    expect(JSON.parse(await readFile(out, 'utf8'))).toEqual(DOCUMENT);
    expect((await lstat(out)).isFile()).toBe(true);
    // Only the planted link, the target and the results remain: no temp file is left behind.
    expect((await readdir(temp)).sort()).toEqual(['precious.txt', 'results.json', `results.json.${process.pid}.tmp`]);
  });

  it('replaces an existing results file', async () => {
    const out = join(temp, 'results.json');
    await writeFile(out, 'old');

    await write(out, DOCUMENT);

    expect(JSON.parse(await readFile(out, 'utf8'))).toEqual(DOCUMENT);
    expect(await readdir(temp)).toEqual(['results.json']);
  });
});
