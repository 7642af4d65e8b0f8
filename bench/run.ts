/**
 * The benchmark runner:
 * `node --import tsx bench/run.ts [--quick] [--only <name,...>] [--baseline <dir>] [--out <file>]`.
 * It runs the scenarios one after another in this process (scenario 4 and the memory scenario
 * start their own child processes), prints one table, and writes bench/results/latest.json and
 * latest.md. Quick runs and partial runs write latest.tmp.json instead, so that they never
 * overwrite the figures of the last full run.
 *
 * `--baseline <dir>` (or TASKLOOM_BASELINE) names another taskloom checkout, built: the latency
 * and throughput scenarios then measure its build too, as "taskloom (baseline)", side by side
 * with the current one in every round. Such a run writes side-by-side.json and .md
 * (side-by-side.tmp.json when quick), never latest.*.
 */
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { scenario as cancellation } from './cancellation.js';
import { scenario as cpuScaling } from './cpu-scaling.js';
import { scenario as latency } from './latency.js';
import { scenario as map } from './map.js';
import { loadBaseline, type Baseline } from './lib/builds.js';
import type { ScenarioResult } from './lib/figures.js';
import { describeMachine } from './lib/machine.js';
import { closePools } from './lib/pools.js';
import { collect, defaultReportPath, RATIO_DEFINITION, writeReport, type RunReport } from './lib/results.js';
import type { Scenario, ScenarioContext } from './lib/scenario.js';
import { describeTarget, targetVerdict, textTable } from './lib/table.js';
import { scenario as memory } from './memory.js';
import { scenario as poolifierWorkload } from './poolifier-workload.js';
import { scenario as priorityFlood } from './priority-flood.js';
import { scenario as progress } from './progress.js';
import { scenario as throughput } from './throughput.js';

const SCENARIOS: readonly Scenario[] = [
  latency,
  throughput,
  cpuScaling,
  poolifierWorkload,
  priorityFlood,
  cancellation,
  progress,
  memory,
  map,
];

/**
 * On Node 20 `--import tsx` registers tsx on the main thread only, and worker threads inherit
 * execArgv but not loaders. The runner therefore starts itself again with a preload that
 * registers tsx on every worker thread of every pool alike (and with --expose-gc).
 */
const WORKER_PRELOAD = new URL('./fixtures/register-tsx.mjs', import.meta.url).href;

function relaunch(): void {
  const execArgv = [...process.execArgv, '--import', WORKER_PRELOAD, '--expose-gc'];
  const child = spawn(process.execPath, [...execArgv, ...process.argv.slice(1)], { stdio: 'inherit' });
  const forward = (signal: NodeJS.Signals): void => {
    child.kill(signal);
  };
  process.on('SIGINT', forward).on('SIGTERM', forward);
  child.on('exit', (code, signal) => {
    process.exitCode = code ?? (signal === null ? 1 : 128);
  });
}

const USAGE =
  `usage: npm run bench -- [--quick] [--only ${SCENARIOS.map((s) => s.name).join(',')}] [--baseline <dir>] [--out results.json]\n` +
  '  --baseline <dir>  also measure the build in <dir>, another taskloom checkout with dist/ built, next to this one\n' +
  '                    (latency and throughput); TASKLOOM_BASELINE=<dir> does the same';

interface Arguments {
  readonly quick: boolean;
  readonly scenarios: readonly Scenario[];
  readonly out: string | undefined;
  readonly baseline: Baseline | undefined;
}

/** The command line, or undefined after printing the usage (for --help, or a mistake). */
async function parseArguments(): Promise<Arguments | undefined> {
  try {
    const { values } = parseArgs({
      options: {
        quick: { type: 'boolean', default: false },
        only: { type: 'string' },
        out: { type: 'string' },
        baseline: { type: 'string' },
        help: { type: 'boolean', default: false },
      },
    });
    if (values.help) {
      console.log(USAGE);
      return undefined;
    }
    const scenarios = selectScenarios(values.only);
    const fromEnvironment = process.env['TASKLOOM_BASELINE'];
    const baseline =
      values.baseline !== undefined
        ? await loadBaseline(values.baseline, '`--baseline`')
        : fromEnvironment !== undefined && fromEnvironment !== ''
          ? await loadBaseline(fromEnvironment, 'TASKLOOM_BASELINE')
          : undefined;
    return { quick: values.quick, scenarios, out: values.out, baseline };
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n${USAGE}\n`);
    process.exitCode = 2;
    return undefined;
  }
}

async function main(): Promise<void> {
  const args = await parseArguments();
  if (args === undefined) return;
  const { quick, scenarios: selected, baseline } = args;
  const machine = describeMachine();
  const context: ScenarioContext = {
    quick,
    poolSize: machine.availableParallelism,
    baseline: baseline?.build,
    log: (line) => process.stderr.write(`  ${line}\n`),
  };
  process.stderr.write(
    `taskloom bench (${quick ? 'quick' : 'full'}): ${machine.cpuModel}, ${machine.availableParallelism} cores, Node ${machine.node}, pool size ${context.poolSize}\n` +
      `  taskloom at commit ${machine.taskloom}` +
      (baseline === undefined ? '\n' : `; ${baseline.build.name}: ${baseline.version} at commit ${baseline.commit}\n`),
  );

  const started = performance.now();
  const results: ScenarioResult[] = [];
  const scenarios: Record<string, { title: string; notes: readonly string[]; error?: string }> = {};
  for (const scenario of selected) {
    process.stderr.write(`${scenario.name}: ${scenario.title}\n`);
    const scenarioStarted = performance.now();
    try {
      const result = await scenario.run(context);
      results.push(result);
      scenarios[scenario.name] = { title: scenario.title, notes: result.notes };
    } catch (error) {
      process.exitCode = 1;
      const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
      process.stderr.write(`${scenario.name} failed: ${message}\n`);
      scenarios[scenario.name] = { title: scenario.title, notes: [], error: message };
    }
    process.stderr.write(`  (${((performance.now() - scenarioStarted) / 1000).toFixed(1)} s)\n`);
  }
  await closePools();
  const wallTimeSeconds = (performance.now() - started) / 1000;

  const report: RunReport = {
    machine,
    mode: quick ? 'quick' : 'full',
    poolSize: context.poolSize,
    ...(baseline === undefined ? {} : { baseline: { subject: baseline.build.name, commit: baseline.commit, version: baseline.version } }),
    wallTimeSeconds,
    ratioDefinition: RATIO_DEFINITION,
    scenarios,
    ...collect(results),
  };
  console.log(`\n${textTable(report.figures)}\n`);
  console.log(RATIO_DEFINITION);
  console.log('\nTargets:');
  for (const target of report.targets) console.log(`  ${targetVerdict(target).padEnd(12)} ${describeTarget(target)}`);
  if (report.checks.length > 0) console.log('\nChecks:');
  for (const check of report.checks) console.log(`  ${check.passed ? 'passed' : 'FAILED'} ${check.check}: ${check.detail}`);
  const path = args.out ?? defaultReportPath(reportName(args, results.length));
  const written = writeReport(report, path);
  console.log(`\n${selected.length} scenario(s) in ${wallTimeSeconds.toFixed(1)} s; wrote ${written.join(' and ')}`);
  if (report.checks.some((check) => !check.passed)) process.exitCode = 1;
}

/**
 * Where a run's report goes by default: latest.json for a complete full run only; a side-by-side
 * run with a baseline in side-by-side.json; quick and partial runs in a .tmp.json.
 */
function reportName({ quick, scenarios, baseline }: Arguments, measured: number): string {
  if (baseline !== undefined) return quick ? 'side-by-side.tmp.json' : 'side-by-side.json';
  const isComplete = !quick && scenarios.length === SCENARIOS.length && measured === scenarios.length;
  return isComplete ? 'latest.json' : 'latest.tmp.json';
}

function selectScenarios(only: string | undefined): readonly Scenario[] {
  if (only === undefined) return SCENARIOS;
  const names = only.split(',').map((name) => name.trim());
  const unknown = names.filter((name) => !SCENARIOS.some((scenario) => scenario.name === name));
  if (unknown.length > 0) {
    throw new RangeError(
      `Expected \`--only\` to name scenarios among ${SCENARIOS.map((s) => s.name).join(', ')}, got ${unknown.join(', ')}`,
    );
  }
  return SCENARIOS.filter((scenario) => names.includes(scenario.name));
}

if (process.execArgv.includes(WORKER_PRELOAD)) await main();
else relaunch();
