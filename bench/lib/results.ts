/**
 * A run's report: its figures, targets, checks and machine, written as JSON and as Markdown
 * (in a clone, to bench/results/ by default). The Markdown opens with the headline table, between
 * the markers that `npm run bench:readme` copies into the README.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import type { Check, Figure, ScenarioResult, Target } from './figures.js';
import { blockMarkers, HEADLINE_END, HEADLINE_START, headlineRounds, headlineTable, scenarioTable } from './headline.js';
import { NOISY_CHANGE, type PreviousRun } from './history.js';
import type { Machine } from './machine.js';
import { PACKAGE_ROOT, RESULTS_DIR } from './paths.js';
import type { Skipped } from './peers.js';
import { describeTarget, markdownTable, targetVerdict } from './table.js';

export interface RunReport {
  readonly machine: Machine;
  readonly mode: 'full' | 'quick';
  readonly poolSize: number;
  /** The build measured side by side with the current one (`--baseline`), if any. */
  readonly baseline?: { readonly subject: string; readonly commit: string; readonly version: string };
  readonly wallTimeSeconds: number;
  /** What the ratios mean, for a reader of the JSON alone. */
  readonly ratioDefinition: string;
  readonly scenarios: Readonly<Record<string, { readonly title: string; readonly notes: readonly string[]; readonly error?: string }>>;
  /** The peer libraries not measured (not installed), and why. */
  readonly skipped: readonly Skipped[];
  /** The previous full run whose figures each figure's `sincePrevious` compares with, or why there is none. */
  readonly previous: PreviousRun | { readonly none: string };
  readonly figures: readonly Figure[];
  readonly targets: readonly Target[];
  readonly checks: readonly Check[];
}

export const RATIO_DEFINITION =
  "ratio = this figure's p50 ÷ the p50 of the same metric for its baseline (raw Piscina unless the row names another); " +
  'for a time, below 1 is faster than the baseline; for a rate, above 1 is faster. ' +
  "A figure measured in rounds (each round visiting every subject) gives the medians of its rounds' own p50 and p99, " +
  'and its spread, the lowest to the highest round p50; the range after a ratio is the lowest to the highest ratio within one round. ' +
  'Targets are judged on the medians. ' +
  `A figure whose median moved more than ${NOISY_CHANGE * 100}% from the previous full run on the same machine is marked noisy.`;

export function collect(results: readonly ScenarioResult[]): Pick<RunReport, 'figures' | 'targets' | 'checks'> {
  return {
    figures: results.flatMap((result) => result.figures),
    targets: results.flatMap((result) => result.targets),
    checks: results.flatMap((result) => result.checks),
  };
}

/**
 * Writes the report as JSON and, unless it is a temporary one (`*.tmp.json`), next to it as
 * Markdown ready for the README. Returns the paths written.
 */
export function writeReport(report: RunReport, jsonPath: string): string[] {
  mkdirSync(dirname(jsonPath), { recursive: true });
  writeFileSync(jsonPath, `${JSON.stringify(report, null, 2)}\n`);
  if (jsonPath.endsWith('.tmp.json') || !jsonPath.endsWith('.json')) return [jsonPath];
  const markdownPath = jsonPath.replace(/\.json$/, '.md');
  writeFileSync(markdownPath, `${markdownReport(report, displayPath(jsonPath))}\n`);
  return [jsonPath, markdownPath];
}

/** Where a clone writes a report of this name by default; undefined for an installed package, which writes only with --out. */
export function defaultReportPath(name: string): string | undefined {
  return RESULTS_DIR === undefined ? undefined : join(RESULTS_DIR, name);
}

/** A path as a reader of the report knows it: from the repository's root in a clone, else the file's name. */
function displayPath(path: string): string {
  const fromRoot = relative(PACKAGE_ROOT, path);
  return RESULTS_DIR !== undefined && !fromRoot.startsWith('..') ? fromRoot.split('\\').join('/') : basename(path);
}

/** "7eba551", or "7eba551-dirty": a commit as the tables name it. */
export function shortCommit(commit: string): string {
  return /^[0-9a-f]{40}/.test(commit) ? `${commit.slice(0, 7)}${commit.slice(40)}` : commit;
}

/** The machine and software of a run, in one sentence. */
function describeRun(report: RunReport): string {
  const { machine } = report;
  const peers = Object.entries(machine.peers)
    .filter(([, version]) => version !== 'not installed')
    .map(([name, version]) => `${name} ${version}`)
    .join(', ');
  return (
    `Measured ${machine.date.slice(0, 10)} (${report.mode} run, ${report.wallTimeSeconds.toFixed(0)} s) at taskloom commit \`${shortCommit(machine.taskloom)}\`, ` +
    `on ${machine.cpuModel}, ${machine.availableParallelism} cores, ${Math.round(machine.totalMemoryMiB / 1024)} GiB, Node ${machine.node} (${machine.platform}-${machine.arch}); ` +
    `pool size ${report.poolSize}` +
    (report.baseline === undefined
      ? ''
      : `; ${report.baseline.subject}: taskloom ${report.baseline.version} at commit ${shortCommit(report.baseline.commit)}`) +
    `; ${peers}.`
  );
}

/**
 * The headline: the run in one sentence, the headline table, and how to read it, between the
 * markers `npm run bench:readme` looks for. `source` names the results file.
 */
export function headlineMarkdown(report: RunReport, source: string): string {
  const previous =
    'none' in report.previous
      ? `No figure is compared with an earlier run: ${report.previous.none}.`
      : `**noisy** marks a figure that moved more than ${NOISY_CHANGE * 100}% from the previous full run on this machine ` +
        `(commit \`${shortCommit(report.previous.commit)}\`, ${report.previous.date.slice(0, 10)}), with how far` +
        (report.previous.commit === report.machine.taskloom
          ? '.'
          : ': that run measured another commit, so a change of the code between the two moves figures too.');
  const skipped =
    report.skipped.length === 0 ? [] : ['', `Not measured: ${report.skipped.map((peer) => `${peer.name} (${peer.reason})`).join(', ')}.`];
  return [
    HEADLINE_START,
    describeRun(report),
    '',
    headlineTable(report.figures),
    '',
    `Each cell is a median over rounds that visit every subject in turn (in this ${report.mode} run: ${headlineRounds(report.figures)}), with the lowest and highest round in brackets (none: measured once); ` +
      "the ratio is taskloom's median ÷ its baseline's in the same run (raw Piscina unless named), with the lowest and highest per-round ratio. " +
      `${previous} Every figure, the targets and the machine: \`${source}\` and the Markdown next to it.`,
    ...skipped,
    HEADLINE_END,
  ].join('\n');
}

/** Every target with its verdict, between the markers of the README's Targets list. */
function targetsMarkdown(report: RunReport): string[] {
  const { start, end } = blockMarkers('targets');
  return [
    start,
    `Every target of the run at commit \`${shortCommit(report.machine.taskloom)}\`, judged on the medians:`,
    '',
    ...report.targets.map((target) => `- **${targetVerdict(target)}** ${describeTarget(target)}`),
    end,
  ];
}

/**
 * The distributed scenario's figures and what its notes work out from them (where Redis
 * saturates), between the markers of the README's "Cost and scaling": none when it did not run.
 */
function distributedMarkdown(report: RunReport): string[] {
  const table = scenarioTable(report.figures, 'distributed');
  if (table === '') return [];
  const { start, end } = blockMarkers('distributed');
  const notes = report.scenarios['distributed']?.notes ?? [];
  return [
    '',
    '## Across processes',
    '',
    start,
    `Measured at commit \`${shortCommit(report.machine.taskloom)}\` (${report.mode} run): each cell is a median over rounds, with the lowest and highest round in brackets (none: measured once).`,
    '',
    table,
    '',
    ...notes.map((note) => `- ${note}`),
    end,
  ];
}

export function markdownReport(report: RunReport, source: string): string {
  const lines = [
    '# Benchmark results',
    '',
    headlineMarkdown(report, source),
    '',
    '## Every figure',
    '',
    describeRun(report),
    '',
    report.ratioDefinition,
    '',
    markdownTable(report.figures),
    '',
    '## Targets',
    '',
    ...targetsMarkdown(report),
    ...distributedMarkdown(report),
  ];
  if (report.checks.length > 0) {
    lines.push(
      '',
      '## Checks',
      '',
      ...report.checks.map((check) => `- **${check.passed ? 'passed' : 'FAILED'}** ${check.check}: ${check.detail}`),
    );
  }
  const notes = Object.entries(report.scenarios).filter(([, scenario]) => scenario.notes.length > 0 || scenario.error !== undefined);
  if (notes.length > 0) {
    lines.push('', '## How each scenario measures');
    for (const [name, scenario] of notes) {
      lines.push('', `**${name}** (${scenario.title})`, '', ...scenario.notes.map((note) => `- ${note}`));
      if (scenario.error !== undefined) lines.push(`- FAILED: ${scenario.error.split('\n')[0] ?? ''}`);
    }
  }
  return lines.join('\n');
}
