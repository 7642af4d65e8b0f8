/**
 * The benchmark's reports: figures compared with the previous full run and marked noisy, the
 * headline table of latest.md, and `npm run bench:readme`, which copies that headline into the
 * README between two markers. Real files in a temporary folder; no benchmark runs.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import type { Figure } from '../bench/lib/figures.js';
import { blockMarkers, HEADLINE_END, HEADLINE_START, headlineRounds, headlineTable, scenarioTable } from '../bench/lib/headline.js';
import { loadPrevious, markChanges, type History } from '../bench/lib/history.js';
import type { Machine } from '../bench/lib/machine.js';
import { markdownReport, type RunReport } from '../bench/lib/results.js';
import { summarize, summarizePerRound } from '../bench/lib/stats.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const dirs: string[] = [];

afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'taskloom-bench-results-'));
  dirs.push(dir);
  return dir;
}

const machine: Machine = {
  date: '2026-12-01T10:00:00.000Z',
  cpuModel: 'Test CPU',
  cpus: 2,
  availableParallelism: 2,
  totalMemoryMiB: 4096,
  loadAverageAtStart: [0, 0, 0],
  platform: 'linux',
  arch: 'x64',
  node: 'v20.20.2',
  v8: '11.3',
  taskloom: '0123456789abcdef0123456789abcdef01234567',
  taskloomVersion: '0.1.0',
  peers: { piscina: '5.3.2' },
};

/** A throughput figure measured in rounds, with its ratio to Piscina's when `piscina` is given. */
function figure(subject: string, rounds: number[], piscina?: number): Figure {
  const summary = summarizePerRound(rounds);
  return {
    scenario: 'throughput',
    metric: 'no-op tasks, all at once',
    subject,
    unit: 'tasks/s',
    better: 'higher',
    summary,
    baseline: piscina === undefined ? undefined : 'piscina',
    ratio: piscina === undefined ? undefined : summary.p50 / piscina,
  };
}

function report(figures: readonly Figure[], previous: RunReport['previous'], mode: 'full' | 'quick' = 'full'): RunReport {
  return {
    machine,
    mode,
    poolSize: 2,
    wallTimeSeconds: 600,
    ratioDefinition: 'ratio = …',
    scenarios: { throughput: { title: 'No-op throughput', notes: [] } },
    skipped: [],
    previous,
    figures,
    targets: [],
    checks: [],
  };
}

async function writePrevious(dir: string, figures: readonly Figure[], overrides: Partial<RunReport> = {}): Promise<string> {
  const path = join(dir, 'latest.json');
  await writeFile(path, JSON.stringify({ ...report(figures, { none: 'first run' }), ...overrides }));
  return path;
}

describe('figures compared with the previous full run', () => {
  it('marks a figure whose median moved more than 15% as noisy, and one that moved less as not', async () => {
    const dir = await tempDir();
    const before = [
      figure('piscina', [20_000, 21_000, 22_000, 21_000, 20_500]),
      figure('taskloom', [20_000, 20_000, 20_000, 20_000, 20_000]),
    ];
    const path = await writePrevious(dir, before);
    const history = loadPrevious(path, machine, 2);
    expect('previous' in history && history.previous.commit).toBe(machine.taskloom);

    const now = [
      figure('piscina', [22_000, 23_000, 23_100, 22_500, 22_800]),
      figure('taskloom', [25_000, 24_000, 23_500, 23_900, 24_200]),
      figure('poolifier', [50_000, 51_000, 52_000, 53_000, 54_000]),
    ];
    const [piscina, taskloom, poolifier] = markChanges(now, history);

    expect(piscina?.sincePrevious?.p50.noisy).toBe(false);
    expect(piscina?.sincePrevious?.p50.change).toBeCloseTo(22_800 / 21_000 - 1, 6);
    expect(taskloom?.sincePrevious?.p50).toEqual({ previous: 20_000, change: expect.closeTo(0.2, 9) as unknown, noisy: true });
    // A subject the previous run did not measure has nothing to compare with.
    expect(poolifier?.sincePrevious).toBeUndefined();
  });

  it('does not compare with a quick run, another machine, another pool size or a missing file', async () => {
    const dir = await tempDir();
    const figures = [figure('taskloom', [1, 2, 3])];
    const none = (history: History): string => ('none' in history ? history.none : 'compared');

    expect(none(loadPrevious(await writePrevious(dir, figures, { mode: 'quick' }), machine, 2))).toContain('quick run');
    expect(none(loadPrevious(await writePrevious(dir, figures, { machine: { ...machine, cpuModel: 'Other CPU' } }), machine, 2))).toContain(
      'another machine',
    );
    expect(none(loadPrevious(await writePrevious(dir, figures), machine, 4))).toContain('another machine');
    expect(none(loadPrevious(join(dir, 'missing.json'), machine, 2))).toContain('no previous full run');
    expect(markChanges(figures, { none: 'first run' })).toEqual(figures);
  });
});

describe('the headline of latest.md', () => {
  it("gives each figure's median with its spread, the ratio with its range, and marks noisy figures", () => {
    const piscina = figure('piscina', [20_000, 21_000, 22_000, 21_000, 20_500]);
    const taskloom = figure('taskloom', [40_000, 42_000, 44_000, 41_000, 43_000], piscina.summary.p50);
    const [marked] = markChanges([taskloom], {
      previous: {
        file: 'latest.json',
        commit: 'fedcba9876543210fedcba9876543210fedcba98',
        date: '2026-11-30T00:00:00.000Z',
        node: 'v20.20.2',
      },
      figures: [{ ...taskloom, summary: { ...taskloom.summary, p50: 30_000 } }],
    });
    const figures = [piscina, marked!];

    const table = headlineTable(figures);
    expect(table.split('\n')[0]).toBe('| figure | taskloom | Piscina | taskloom ÷ Piscina |');
    expect(table).toContain(
      '| no-op throughput, all submitted at once | 42,000/s (40,000–44,000) **noisy** (+40%) | 21,000/s (20,000–22,000) | 2.00× (1.95–2.10) |',
    );

    const markdown = markdownReport(
      report(figures, {
        file: 'latest.json',
        commit: 'fedcba9876543210fedcba9876543210fedcba98',
        date: '2026-11-30T00:00:00.000Z',
        node: 'v20.20.2',
      }),
      'bench/results/latest.json',
    );
    const headline = markdown.slice(markdown.indexOf(HEADLINE_START), markdown.indexOf(HEADLINE_END));
    expect(headline).toContain('at taskloom commit `0123456`');
    expect(headline).toContain('Test CPU, 2 cores, 4 GiB, Node v20.20.2');
    expect(headline).toContain('moved more than 15% from the previous full run on this machine (commit `fedcba9`, 2026-11-30)');
    expect(headline).toContain(table);
    // The full table follows, with each figure's change since the previous run.
    expect(markdown.slice(markdown.indexOf(HEADLINE_END))).toContain('| +40% noisy |');
  });
});

describe('the blocks of latest.md besides the headline', () => {
  it('says how many rounds the headline rows had, naming the rows that had another count', () => {
    const transfer = (subject: string, rounds: number[]): Figure => ({
      ...figure(subject, rounds),
      scenario: 'transfer',
      metric: '64 MiB ArrayBuffer round trip',
      unit: 'ms',
      better: 'lower',
    });
    const once: Figure = {
      ...figure('taskloom', [1]),
      scenario: 'memory',
      metric: 'heap per pending task, 1,000,000 pending',
      unit: 'B',
      better: 'lower',
      summary: summarize([416]),
    };
    const fives = [figure('piscina', [1, 2, 3, 4, 5]), figure('taskloom', [2, 3, 4, 5, 6], 3)];
    expect(headlineRounds(fives)).toBe('5 rounds');
    const fifteen = Array.from({ length: 15 }, (_, i) => 0.02 + i / 1e4);
    const mixed = [...fives, transfer('taskloom, transfer', fifteen), transfer('piscina, transferList + move()', fifteen), once];
    expect(headlineRounds(mixed)).toBe(
      '5 rounds; 15 for 64 MiB ArrayBuffer round trip, moved both ways; measured once: heap per pending task, 1,000,000 pending',
    );
    const markdown = markdownReport(report(mixed, { none: 'first run' }), 'bench/results/latest.json');
    expect(markdown).toContain('(in this full run: 5 rounds; 15 for 64 MiB ArrayBuffer round trip, moved both ways; measured once:');
  });

  it("puts the targets, and the distributed scenario's figures with its notes, between markers of their own", () => {
    const distributed = (metric: string, subject: string, rounds: number[], unit: string): Figure => ({
      ...figure(subject, rounds),
      scenario: 'distributed',
      metric,
      unit,
    });
    const figures = [
      distributed('no-op tasks/s, 1 process', 'taskloom distributed', [1500, 1600, 1700], 'tasks/s'),
      distributed('no-op tasks/s, 1 process', 'BullMQ, plain processor', [3800, 3900, 4000], 'tasks/s'),
      distributed("Redis's own time per task", 'taskloom distributed', [175], 'µs'),
    ];
    expect(scenarioTable(figures, 'distributed').split('\n')).toEqual([
      '| figure | taskloom distributed | BullMQ, plain processor |',
      '| --- | ---: | ---: |',
      '| no-op tasks/s, 1 process | 1,600/s (1,500–1,700) | 3,900/s (3,800–4,000) |',
      "| Redis's own time per task | 175 µs |  |",
    ]);
    expect(scenarioTable(figures, 'latency')).toBe('');

    const base = report(figures, { none: 'first run' });
    const markdown = markdownReport(
      {
        ...base,
        scenarios: { distributed: { title: 'Distributed', notes: ['estimate: Redis saturates near 5720 tasks/s'] } },
        targets: [{ target: 'a target', measured: 'taskloom p50', value: 2, limit: 1, unit: '×', met: false }],
      },
      'bench/results/latest.json',
    );
    const block = (name: string): string => {
      const { start, end } = blockMarkers(name);
      return markdown.slice(markdown.indexOf(start), markdown.indexOf(end) + end.length);
    };
    expect(block('targets')).toContain('Every target of the run at commit `0123456`, judged on the medians:');
    expect(block('targets')).toContain('- **MISSED** a target: taskloom p50 = 2.00 ×');
    expect(block('distributed')).toContain('Measured at commit `0123456` (full run)');
    expect(block('distributed')).toContain('| no-op tasks/s, 1 process | 1,600/s (1,500–1,700) | 3,900/s (3,800–4,000) |');
    expect(block('distributed')).toContain('- estimate: Redis saturates near 5720 tasks/s');
    // A run without the distributed scenario has no such block.
    expect(markdownReport(report([figure('piscina', [1, 2])], { none: 'first run' }), 'x.json')).not.toContain(
      blockMarkers('distributed').start,
    );
  });
});

describe('npm run bench:readme', () => {
  const targets = blockMarkers('targets');
  const README = [
    '# Project',
    '',
    '## Performance',
    '',
    HEADLINE_START,
    'old figures',
    HEADLINE_END,
    '',
    '### Targets',
    '',
    targets.start,
    'old targets',
    targets.end,
    '',
    '## After',
    '',
  ].join('\n');

  async function results(dir: string, mode: 'full' | 'quick', commit = machine.taskloom): Promise<string> {
    const figures = [figure('piscina', [1, 2, 3])];
    const full = report(figures, { none: 'first run' }, mode);
    await writeFile(join(dir, 'latest.json'), JSON.stringify({ ...full, machine: { ...machine, taskloom: commit } }));
    const path = join(dir, 'latest.md');
    await writeFile(path, markdownReport(full, 'bench/results/latest.json'));
    return path;
  }

  const readmeScript = (...args: string[]): Promise<{ stdout: string; stderr: string }> =>
    run(process.execPath, ['--import', 'tsx', join(ROOT, 'bench', 'readme.ts'), ...args], { cwd: ROOT });

  it("replaces the README's block between the markers with the headline of latest.md, and nothing else", async () => {
    const dir = await tempDir();
    const readme = join(dir, 'README.md');
    await writeFile(readme, README);
    const latest = await results(dir, 'full');

    await readmeScript(readme, latest);

    const updated = await readFile(readme, 'utf8');
    const markdown = await readFile(latest, 'utf8');
    const headline = markdown.slice(markdown.indexOf(HEADLINE_START), markdown.indexOf(HEADLINE_END) + HEADLINE_END.length);
    const targetList = markdown.slice(markdown.indexOf(targets.start), markdown.indexOf(targets.end) + targets.end.length);
    expect(updated).toBe(
      README.replace(`${HEADLINE_START}\nold figures\n${HEADLINE_END}`, headline).replace(
        `${targets.start}\nold targets\n${targets.end}`,
        targetList,
      ),
    );
    expect(updated).not.toContain('old figures');
    expect(updated).not.toContain('old targets');
    // Run again, it changes nothing.
    expect((await readmeScript(readme, latest)).stdout).toContain('already quotes');
    expect(await readFile(readme, 'utf8')).toBe(updated);
  });

  it('refuses the results of a quick run, and a README without the markers', async () => {
    const dir = await tempDir();
    const readme = join(dir, 'README.md');
    await writeFile(readme, README);
    const quick = await results(dir, 'quick');
    await expect(readmeScript(readme, quick)).rejects.toMatchObject({ stderr: expect.stringContaining('to be of a full run') as unknown });
    expect(await readFile(readme, 'utf8')).toBe(README);

    const full = await results(dir, 'full');
    await writeFile(readme, '# Project without markers\n');
    await expect(readmeScript(readme, full)).rejects.toMatchObject({ stderr: expect.stringContaining(HEADLINE_START) as unknown });
    // Every block of the results must have its place in the README, and the other way round.
    const withoutTargets = README.replace(`${targets.start}\nold targets\n${targets.end}`, '');
    await writeFile(readme, withoutTargets);
    await expect(readmeScript(readme, full)).rejects.toMatchObject({ stderr: expect.stringContaining(targets.start) as unknown });
    const distributed = blockMarkers('distributed');
    await writeFile(readme, `${README}${distributed.start}\nold\n${distributed.end}\n`);
    await expect(readmeScript(readme, full)).rejects.toMatchObject({
      stderr: expect.stringContaining(`Expected ${full} to hold a ${distributed.start} line`) as unknown,
    });
    expect(await readFile(readme, 'utf8')).toBe(`${README}${distributed.start}\nold\n${distributed.end}\n`);
  });

  it('warns when the run measured uncommitted changes', async () => {
    const dir = await tempDir();
    const readme = join(dir, 'README.md');
    await writeFile(readme, README);
    const latest = await results(dir, 'full', `${machine.taskloom}-dirty`);
    const { stderr } = await readmeScript(readme, latest);
    expect(stderr).toContain('uncommitted changes');
  });
});
