/**
 * The benchmark runner's command line: each mistake exits at once with code 2, printing a message
 * that names the argument, what was expected and what was received, then the usage, before any
 * scenario starts. The runner runs from its sources (`node --import tsx bench/run.ts`), in a child
 * process; no benchmark runs. (`taskloom bench -- --help` is tested in cli.test.ts.)
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, it, type ExpectStatic } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const OPTIONS = '--quick, --only, --out, --baseline, --help';

interface Exit {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs the runner with `args` from the repository's root. A runner that took its arguments and
 * started measuring would be stopped by the timeout, and fail on its exit code.
 */
function runBench(args: readonly string[], environment: Record<string, string> = {}): Promise<Exit> {
  const env: NodeJS.ProcessEnv = { ...process.env, ...environment };
  if (!('TASKLOOM_BASELINE' in environment)) delete env['TASKLOOM_BASELINE'];
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', join('bench', 'run.ts'), ...args],
      { cwd: ROOT, env, timeout: 15_000 },
      (error, stdout, stderr) => {
        resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : null, stdout, stderr });
      },
    );
  });
}

/** The scenario names, from the usage line printed after the message. */
function scenarioNames(expect: ExpectStatic, stderr: string): string[] {
  const names = /^usage: taskloom bench \[--quick\] \[--only ([^\]]+)\]/m.exec(stderr)?.[1];
  expect(names, 'the usage is printed').toBeDefined();
  return names?.split(',') ?? [];
}

/** Asserts that the runner refused its arguments with exit code 2, `message` and the usage, and ran nothing. */
function expectRefused(expect: ExpectStatic, exit: Exit, message: string): void {
  expect(exit.code, exit.stderr).toBe(2);
  expect(exit.stderr.split('\n')[0]).toBe(message);
  expect(exit.stdout).toBe('');
  const names = scenarioNames(expect, exit.stderr);
  expect(names).toContain('latency');
  expect(exit.stderr).not.toMatch(/^taskloom bench \(/m);
  for (const name of names) expect(exit.stderr).not.toMatch(new RegExp(`^${name}: `, 'm'));
}

describe.concurrent('bench/run.ts arguments', () => {
  let dir = '';

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'taskloom-bench-args-'));
    await mkdir(join(dir, 'other'));
    await writeFile(join(dir, 'other', 'package.json'), JSON.stringify({ name: 'not-taskloom', version: '1.0.0' }));
    await mkdir(join(dir, 'unbuilt'));
    await writeFile(join(dir, 'unbuilt', 'package.json'), JSON.stringify({ name: 'taskloom', version: '0.0.1' }));
    await writeFile(join(dir, 'a-file'), '');
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  describe('--only', () => {
    it('quotes an empty name', async ({ expect }) => {
      const exit = await runBench(['--only', '']);
      const names = scenarioNames(expect, exit.stderr);
      expectRefused(expect, exit, `Expected \`--only\` to name scenarios among ${names.join(', ')}, got ""`);
    });

    it('quotes the empty name after a trailing comma', async ({ expect }) => {
      const exit = await runBench(['--only', 'latency,']);
      const names = scenarioNames(expect, exit.stderr);
      expectRefused(expect, exit, `Expected \`--only\` to name scenarios among ${names.join(', ')}, got ""`);
    });

    it('quotes each unknown name', async ({ expect }) => {
      const exit = await runBench(['--only', 'nope,latency,']);
      const names = scenarioNames(expect, exit.stderr);
      expectRefused(expect, exit, `Expected \`--only\` to name scenarios among ${names.join(', ')}, got "nope", ""`);
    });

    it('needs a value', async ({ expect }) => {
      expectRefused(expect, await runBench(['--only']), 'Expected a value after `--only`, got none');
    });

    it('does not take the next option as its value', async ({ expect }) => {
      expectRefused(
        expect,
        await runBench(['--only', '--quick']),
        'Expected a value after `--only`, got the option --quick (for a value that starts with -, write --only=<value>)',
      );
    });
  });

  describe('--out', () => {
    it('refuses an empty path', async ({ expect }) => {
      expectRefused(expect, await runBench(['--out', '']), 'Expected `--out` to be the path of a .json file, got ""');
    });

    it('refuses a directory', async ({ expect }) => {
      expectRefused(
        expect,
        await runBench(['--out', dir]),
        `Expected \`--out\` to be the path of a .json file, got ${JSON.stringify(dir)}, which is a directory`,
      );
    });

    it('refuses a name that does not end in .json', async ({ expect }) => {
      expectRefused(expect, await runBench(['--out', 'report.txt']), 'Expected `--out` to be the path of a .json file, got "report.txt"');
    });

    it('refuses a path below a file', async ({ expect }) => {
      const out = join(dir, 'a-file', 'results', 'report.json');
      expectRefused(
        expect,
        await runBench(['--out', out]),
        `Expected \`--out\` to be the path of a .json file, got ${JSON.stringify(out)}, but ${join(dir, 'a-file')} is a file, not a directory`,
      );
    });
  });

  describe('--baseline', () => {
    it('refuses an empty path', async ({ expect }) => {
      expectRefused(
        expect,
        await runBench(['--baseline', '']),
        'Expected `--baseline` to be the root of a built taskloom checkout, got ""',
      );
    });

    it('names the package of a directory that is not taskloom, before asking for a build', async ({ expect }) => {
      const other = join(dir, 'other');
      const exit = await runBench(['--baseline', other]);
      expectRefused(
        expect,
        exit,
        `Expected \`--baseline\` to be the root of a built taskloom checkout, got ${JSON.stringify(other)}, whose package is "not-taskloom"`,
      );
      expect(exit.stderr).not.toContain('build it first');
    });

    it('asks for a build of a taskloom checkout without dist', async ({ expect }) => {
      const unbuilt = join(dir, 'unbuilt');
      expectRefused(
        expect,
        await runBench(['--baseline', unbuilt]),
        `Expected \`--baseline\` to be the root of a built taskloom checkout, got ${JSON.stringify(unbuilt)}, which has no dist/index.js: build it first`,
      );
    });

    it('names TASKLOOM_BASELINE when the directory came from it', async ({ expect }) => {
      const other = join(dir, 'other');
      expectRefused(
        expect,
        await runBench([], { TASKLOOM_BASELINE: other }),
        `Expected TASKLOOM_BASELINE to be the root of a built taskloom checkout, got ${JSON.stringify(other)}, whose package is "not-taskloom"`,
      );
    });
  });

  describe("parseArgs' own errors", () => {
    it('lists the options for an unknown one', async ({ expect }) => {
      expectRefused(expect, await runBench(['--rounds', '3']), `Expected an option among ${OPTIONS}, got --rounds`);
    });

    it('refuses a value for a flag', async ({ expect }) => {
      expectRefused(expect, await runBench(['--quick=yes']), 'Expected `--quick` to take no value, got "yes"');
    });

    it('refuses an argument that is not an option', async ({ expect }) => {
      expectRefused(expect, await runBench(['latency']), `Expected only options among ${OPTIONS}, got the argument "latency"`);
    });

    it('refuses an option given twice, which parseArgs would settle by keeping the last', async ({ expect }) => {
      expectRefused(
        expect,
        await runBench(['--only', 'latency', '--quick', '--only=throughput']),
        'Expected `--only` once, got it twice: "latency" and "throughput" (for several scenarios, give one list: --only latency,throughput)',
      );
      expectRefused(
        expect,
        await runBench(['--out', 'a.json', '--out', 'b.json']),
        'Expected `--out` once, got it twice: "a.json" and "b.json"',
      );
    });
  });
});
