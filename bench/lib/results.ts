/** Writes a run's figures, targets and machine to bench/results/. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Check, Figure, ScenarioResult, Target } from './figures.js';
import type { Machine } from './machine.js';
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
  readonly figures: readonly Figure[];
  readonly targets: readonly Target[];
  readonly checks: readonly Check[];
}

export const RATIO_DEFINITION =
  "ratio = this figure's p50 ÷ the p50 of the same metric for its baseline (raw Piscina unless the row names another); " +
  'for a time, below 1 is faster than the baseline; for a rate, above 1 is faster. ' +
  "A figure measured in rounds (each round visiting every subject) gives the medians of its rounds' own p50 and p99, " +
  'and its spread, the lowest to the highest round p50; the range after a ratio is the lowest to the highest ratio within one round. ' +
  'Targets are judged on the medians.';

export const RESULTS_DIR = new URL('../results/', import.meta.url);

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
  writeFileSync(markdownPath, `${markdownReport(report)}\n`);
  return [jsonPath, markdownPath];
}

export function defaultReportPath(name: string): string {
  return fileURLToPath(new URL(name, RESULTS_DIR));
}

export function markdownReport(report: RunReport): string {
  const { machine } = report;
  const lines = [
    `Measured ${machine.date.slice(0, 10)} (${report.mode} run, ${report.wallTimeSeconds.toFixed(0)} s) on ${machine.cpuModel}, ` +
      `${machine.availableParallelism} cores, ${machine.totalMemoryMiB} MiB, Node ${machine.node} (${machine.platform}-${machine.arch}); ` +
      `pool size ${report.poolSize}; taskloom commit ${machine.taskloom}; ` +
      (report.baseline === undefined
        ? ''
        : `${report.baseline.subject}: taskloom ${report.baseline.version} at commit ${report.baseline.commit}; `) +
      Object.entries(machine.peers)
        .map(([name, version]) => `${name} ${version}`)
        .join(', ') +
      '.',
    '',
    report.ratioDefinition,
    '',
    markdownTable(report.figures),
    '',
    'Targets:',
    '',
    ...report.targets.map((target) => `- **${targetVerdict(target)}** ${describeTarget(target)}`),
  ];
  if (report.checks.length > 0) {
    lines.push(
      '',
      'Checks:',
      '',
      ...report.checks.map((check) => `- **${check.passed ? 'passed' : 'FAILED'}** ${check.check}: ${check.detail}`),
    );
  }
  return lines.join('\n');
}
