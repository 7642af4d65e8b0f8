/**
 * Job files as `taskloom run` reads them: the per-task `timeoutMs` and `retry` fields, and
 * where a JSON syntax error is reported. Each job file is written to a temp folder; the
 * modules are the built ones, as the CLI runs them.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JobFileError } from '../dist/cli/errors.js';
import { loadJobFile } from '../dist/cli/jobs.js';

const HANDLERS = fileURLToPath(new URL('./fixtures/cli/handlers.mjs', import.meta.url));
const HANDLER = { module: HANDLERS, export: 'echo' };

let temp: string;

beforeEach(async () => {
  temp = await mkdtemp(join(tmpdir(), 'taskloom-jobs-'));
});

afterEach(async () => {
  await rm(temp, { recursive: true, force: true });
});

async function jobFile(name: string, content: unknown): Promise<string> {
  const path = join(temp, name);
  await writeFile(path, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  return path;
}

/** The problems loadJobFile reports for a file, or [] when it loads. */
async function problemsOf(path: string): Promise<readonly string[]> {
  try {
    await loadJobFile(path);
    return [];
  } catch (error) {
    if (error instanceof JobFileError) return error.problems;
    throw error;
  }
}

describe('timeoutMs and retry in a job file', () => {
  it('are passed on as createTask takes them', async () => {
    const retry = { attempts: 3, backoff: 'exponential', delayMs: 10, maxDelayMs: 100, jitter: 0.5, retryOnTimeout: true };
    const path = await jobFile('jobs.json', [
      { name: 'limited', handler: HANDLER, timeoutMs: 1500, retry },
      { name: 'partly', handler: HANDLER, retry: { attempts: 2 } },
      { name: 'plain', handler: HANDLER },
    ]);

    const jobs = await loadJobFile(path);

    expect(jobs.map((job) => [job.name, job.timeoutMs, job.retry])).toEqual([
      ['limited', 1500, retry],
      ['partly', undefined, { attempts: 2 }],
      ['plain', undefined, undefined],
    ]);
  });

  it.each([
    ['a string', { timeoutMs: '5s' }, 'field "timeoutMs": expected a number of milliseconds > 0, got `"5s"` (string)'],
    ['zero', { timeoutMs: 0 }, 'field "timeoutMs": expected a number of milliseconds > 0, got `0` (number)'],
    ['a negative number', { timeoutMs: -1 }, 'field "timeoutMs": expected a number of milliseconds > 0, got `-1` (number)'],
    ['null', { timeoutMs: null }, 'field "timeoutMs": expected a number of milliseconds > 0, got `null` (null)'],
    [
      'longer than a timer holds',
      { timeoutMs: 3e9 },
      'field "timeoutMs": expected at most 2147483647 ms (about 24.8 days), got `3000000000` (number)',
    ],
    [
      'a retry delay longer than a timer holds',
      { retry: { attempts: 2, delayMs: 3e9 } },
      'field "retry": Expected `retry.delayMs` to be at most 2147483647 ms (about 24.8 days), got `3000000000` (number)',
    ],
    ['retry as a number', { retry: 3 }, 'field "retry": expected an object such as { "attempts": 3 }, got `3` (number)'],
    ['retry as an array', { retry: [3] }, 'field "retry": expected an object such as { "attempts": 3 }, got `[array of 1]` (array)'],
    ['no attempt at all', { retry: { attempts: 0 } }, 'field "retry.attempts": expected a positive integer, got `0` (number)'],
    ['half an attempt', { retry: { attempts: 1.5 } }, 'field "retry.attempts": expected a positive integer, got `1.5` (number)'],
    [
      'an unknown backoff',
      { retry: { backoff: 'linear' } },
      'field "retry.backoff": expected "fixed" or "exponential", got `"linear"` (string)',
    ],
    ['a negative delay', { retry: { delayMs: -5 } }, 'field "retry.delayMs": expected a finite number >= 0, got `-5` (number)'],
    [
      'a mistyped maximum delay',
      { retry: { maxDelayMs: '1s' } },
      'field "retry.maxDelayMs": expected a finite number >= 0, got `"1s"` (string)',
    ],
    ['too much jitter', { retry: { jitter: 2 } }, 'field "retry.jitter": expected a number from 0 to 1, got `2` (number)'],
    ['a mistyped flag', { retry: { retryOnTimeout: 'yes' } }, 'field "retry.retryOnTimeout": expected true or false, got `"yes"` (string)'],
    [
      'an unknown retry field',
      { retry: { tries: 3 } },
      'field "retry.tries": unknown field; expected one of "attempts", "backoff", "delayMs", "maxDelayMs", "jitter", "retryOnTimeout"',
    ],
  ])('reports %s, naming the file, the job and the field', async (_kind, fields, problem) => {
    const path = await jobFile('jobs.json', [
      { name: 'fine', handler: HANDLER },
      { name: 'bad', handler: HANDLER, ...fields },
    ]);

    expect(await problemsOf(path)).toEqual([`${path}: job at index 1, ${problem}`]);
  });

  it('reports every problem of an NDJSON line at once, by line', async () => {
    const lines = [
      JSON.stringify({ name: 'fine', handler: HANDLER, timeoutMs: 10 }),
      JSON.stringify({ name: 'bad', handler: HANDLER, timeoutMs: 'soon', retry: { attempts: -1, jitter: -0.5 } }),
    ];
    const path = await jobFile('jobs.ndjson', `${lines.join('\n')}\n`);

    expect(await problemsOf(path)).toEqual([
      `${path}: line 2, field "timeoutMs": expected a number of milliseconds > 0, got \`"soon"\` (string)`,
      `${path}: line 2, field "retry.attempts": expected a positive integer, got \`-1\` (number)`,
      `${path}: line 2, field "retry.jitter": expected a number from 0 to 1, got \`-0.5\` (number)`,
    ]);
  });
});

describe('JSON syntax errors in a job file', () => {
  it('reports trailing garbage by line and column, not by position', async () => {
    const path = await jobFile('jobs.json', `[\n  { "name": "one", "handler": { "module": "./h.mjs" } }\n]\n  oops\n`);

    const problems = await problemsOf(path);

    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(
      new RegExp(`^${escape(path)}: invalid JSON at line 4, column 3: Unexpected non-whitespace character after (the )?JSON`),
    );
    expect(problems[0]).not.toMatch(/position/);
  });

  it('reports trailing garbage on an NDJSON line by column, not by position', async () => {
    const path = await jobFile('jobs.ndjson', `${JSON.stringify({ name: 'one', handler: HANDLER })}\n{"name": "two"} x\n`);

    const problems = await problemsOf(path);

    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(
      new RegExp(`^${escape(path)}: line 2: invalid JSON at column 17: Unexpected non-whitespace character after (the )?JSON`),
    );
    expect(problems[0]).not.toMatch(/position/);
  });

  it('reports a broken array by line and column, not by position', async () => {
    const path = await jobFile('jobs.json', `[\n  { "name": "one" }\n  { "name": "two" }\n]\n`);

    const problems = await problemsOf(path);

    expect(problems[0]).toMatch(/invalid JSON at line 3, column 3: /);
    expect(problems[0]).not.toMatch(/position/);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
