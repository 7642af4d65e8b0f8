/**
 * The benchmark runner: `taskloom bench [--quick] [--only <name,...>] [--out <file.json>] [--baseline <dir>]`,
 * which runs dist/bench/run.js, the runner compiled into the package; in a clone `npm run bench`
 * builds and runs the same, and `node --import tsx bench/run.ts` runs it from its sources. It
 * runs the scenarios one after another in this process (some start child processes), and
 * prints one table.
 *
 * Peer pools (tinypool, workerpool, poolifier, p-queue) are measured when installed, and listed
 * as not measured otherwise: see lib/peers.ts.
 *
 * Where the report goes: in a clone, bench/results/latest.json and latest.md for a complete full
 * run, and latest.tmp.json for quick and partial runs, so that they never overwrite the figures
 * of the last full run. An installed package writes nothing into node_modules: it prints the
 * table only, unless `--out <file.json>` names a file (the Markdown goes next to it). A full run
 * compares its figures with the previous full run's (the file `--out` names, if it holds one,
 * else in a clone bench/results/latest.json) and marks those that moved more than 15% as noisy.
 *
 * `--baseline <dir>` (or TASKLOOM_BASELINE) names another taskloom checkout, built: the latency
 * and throughput scenarios then measure its build too, as "taskloom (baseline)", side by side
 * with the current one in every round. Such a run writes side-by-side.json and .md
 * (side-by-side.tmp.json when quick), never latest.*.
 */
import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { scenario as cancellation } from './cancellation.js';
import { scenario as cpuScaling } from './cpu-scaling.js';
import { scenario as dashboard } from './dashboard.js';
import { scenario as latency } from './latency.js';
import { scenario as map } from './map.js';
import { loadBaseline, type Baseline } from './lib/builds.js';
import type { ScenarioResult } from './lib/figures.js';
import { loadPrevious, markChanges, NOISY_CHANGE, type History } from './lib/history.js';
import { describeMachine, type Machine } from './lib/machine.js';
import { installedVersion, MODULE_EXTENSION, RESULTS_DIR } from './lib/paths.js';
import { SKIPPED, skippedNote } from './lib/peers.js';
import { closePools } from './lib/pools.js';
import { collect, defaultReportPath, RATIO_DEFINITION, writeReport, type RunReport } from './lib/results.js';
import type { Scenario, ScenarioContext } from './lib/scenario.js';
import { describeTarget, targetVerdict, textTable } from './lib/table.js';
import { scenario as memory } from './memory.js';
import { scenario as poolifierWorkload } from './poolifier-workload.js';
import { scenario as priorityFlood } from './priority-flood.js';
import { scenario as progress } from './progress.js';
import { scenario as throughput } from './throughput.js';
import { scenario as transfer } from './transfer.js';

/**
 * A scenario whose module loads packages that a project installing taskloom may not have: its
 * module is imported only when it runs, and it is skipped, with a note, when one is missing or,
 * for a native addon, installed but not loadable (`usable` says why not).
 */
function needing(
  packages: readonly string[],
  name: string,
  title: string,
  load: () => Promise<{ scenario: Scenario }>,
  usable: () => string | undefined = () => undefined,
): Scenario {
  return {
    name,
    title,
    async run(context) {
      const missing = packages.filter((pkg) => installedVersion(pkg) === undefined);
      const unusable = missing.length === 0 ? usable() : undefined;
      if (missing.length === 0 && unusable === undefined) return (await load()).scenario.run(context);
      const note = unusable === undefined ? `not run: it needs ${missing.join(' and ')}, not installed` : `not run: ${unusable}`;
      context.log(`${name}: ${note}`);
      return { figures: [], targets: [], checks: [], notes: [note] };
    },
  };
}

/** The distributed scenario needs bullmq and ioredis, which taskloom lists as optional peers. */
const distributed = needing(
  ['bullmq', 'ioredis'],
  'distributed',
  'Distributed throughput on BullMQ and Redis, 1 to 4 processes',
  () => import('./distributed.js'),
);

/** The journal scenario needs better-sqlite3, an optional dependency of taskloom. */
const journal = needing(
  ['better-sqlite3'],
  'journal',
  'Journal: createTask, throughput and recovery with a durable journal',
  () => import('./journal.js'),
  sqliteUnusable,
);

/** Why better-sqlite3, a native addon, does not load here (installed without its build, say), if it does not. */
function sqliteUnusable(): string | undefined {
  try {
    const Database = createRequire(import.meta.url)('better-sqlite3') as new (path: string) => { close(): void };
    new Database(':memory:').close();
    return undefined;
  } catch (error) {
    return `better-sqlite3 is installed but does not load (${errorText(error)}); run npm rebuild better-sqlite3`;
  }
}

function errorText(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n')[0] ?? text;
}

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
  transfer,
  dashboard,
  distributed,
  journal,
];

/**
 * Run from its sources under tsx: on Node 20 `--import tsx` registers tsx on the main thread
 * only, and worker threads inherit execArgv but not loaders. The runner therefore starts itself
 * again with a preload that registers tsx on every worker thread of every pool alike. Compiled,
 * it needs none of this.
 */
const IS_SOURCE = MODULE_EXTENSION === '.ts';
const WORKER_PRELOAD = new URL('./fixtures/register-tsx.mjs', import.meta.url).href;

function relaunch(): void {
  const execArgv = [...process.execArgv, '--import', WORKER_PRELOAD];
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
  `usage: taskloom bench [--quick] [--only ${SCENARIOS.map((s) => s.name).join(',')}] [--out <file.json>] [--baseline <dir>]\n` +
  '       (in a clone of the repository: npm run bench -- <options>)\n' +
  '  --quick           small sizes and fewer rounds (2 instead of 5 in most scenarios): under a minute, for checking that it runs\n' +
  '  --only <names>    run only these scenarios\n' +
  '  --out <file.json> write the report there, and the Markdown next to it; by default a clone writes to\n' +
  '                    bench/results/ and an installed package only prints\n' +
  '  --baseline <dir>  also measure the build in <dir>, another taskloom checkout with dist/ built, next to this one\n' +
  '                    (latency and throughput); TASKLOOM_BASELINE=<dir> does the same\n' +
  'Peer pools (tinypool, workerpool, poolifier, p-queue) are measured when installed next to taskloom.';

interface Arguments {
  readonly quick: boolean;
  readonly scenarios: readonly Scenario[];
  readonly out: string | undefined;
  readonly baseline: Baseline | undefined;
}

const OPTIONS = {
  quick: { type: 'boolean', default: false },
  only: { type: 'string' },
  out: { type: 'string' },
  baseline: { type: 'string' },
  help: { type: 'boolean', default: false },
} as const satisfies ParseArgsConfig['options'];

/** The command line, or undefined after printing the usage (for --help, or a mistake). */
async function parseArguments(): Promise<Arguments | undefined> {
  const args = process.argv.slice(2);
  try {
    const { values } = parseCommandLine(args);
    if (values.help) {
      console.log(USAGE);
      return undefined;
    }
    const scenarios = selectScenarios(values.only);
    const out = reportPath(values.out);
    const fromEnvironment = process.env['TASKLOOM_BASELINE'];
    const baseline =
      values.baseline !== undefined
        ? await loadBaseline(values.baseline, '`--baseline`')
        : fromEnvironment !== undefined && fromEnvironment !== ''
          ? await loadBaseline(fromEnvironment, 'TASKLOOM_BASELINE')
          : undefined;
    return { quick: values.quick, scenarios, out, baseline };
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n${USAGE}\n`);
    process.exitCode = 2;
    return undefined;
  }
}

/** parseArgs' own errors: an unknown option, a missing or unwanted value, an argument that is no option. */
const PARSE_ERRORS: ReadonlySet<unknown> = new Set([
  'ERR_PARSE_ARGS_UNKNOWN_OPTION',
  'ERR_PARSE_ARGS_INVALID_OPTION_VALUE',
  'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL',
]);

/**
 * parseArgs over `args`, with its own errors told in the project's words; other errors as they
 * are. An option that takes a value may be given once: parseArgs would keep the last of several.
 */
function parseCommandLine(args: readonly string[]): ReturnType<typeof parseArgs<{ args: string[]; options: typeof OPTIONS }>> {
  let parsed: ReturnType<typeof parseArgs<{ args: string[]; options: typeof OPTIONS; tokens: true }>>;
  try {
    parsed = parseArgs({ args: [...args], options: OPTIONS, tokens: true });
  } catch (error) {
    if (!(error instanceof Error) || !('code' in error) || !PARSE_ERRORS.has(error.code)) throw error;
    throw argumentError(args) ?? error;
  }
  const given = new Map<string, string>();
  for (const token of parsed.tokens) {
    if (token.kind !== 'option' || token.value === undefined) continue;
    const first = given.get(token.name);
    if (first !== undefined) {
      const hint = token.name === 'only' ? ` (for several scenarios, give one list: --only ${first},${token.value})` : '';
      throw new TypeError(
        `Expected \`${token.rawName}\` once, got it twice: ${JSON.stringify(first)} and ${JSON.stringify(token.value)}${hint}`,
      );
    }
    given.set(token.name, token.value);
  }
  return parsed;
}

/**
 * The first mistake on the command line, found again in parseArgs' tokens, read leniently: the
 * tokens say which option and which value it was, which its error does only in its message.
 */
function argumentError(args: readonly string[]): TypeError | undefined {
  const options = Object.keys(OPTIONS).map((name) => `--${name}`);
  const { tokens } = parseArgs({ args: [...args], options: OPTIONS, strict: false, allowPositionals: true, tokens: true });
  for (const token of tokens) {
    if (token.kind === 'positional') {
      return new TypeError(`Expected only options among ${options.join(', ')}, got the argument ${JSON.stringify(token.value)}`);
    }
    if (token.kind !== 'option') continue;
    if (!Object.hasOwn(OPTIONS, token.name)) return new TypeError(`Expected an option among ${options.join(', ')}, got ${token.rawName}`);
    const option = `\`${token.rawName}\``;
    if (OPTIONS[token.name as keyof typeof OPTIONS].type === 'boolean') {
      if (token.value !== undefined) return new TypeError(`Expected ${option} to take no value, got ${JSON.stringify(token.value)}`);
    } else if (token.value === undefined) {
      return new TypeError(`Expected a value after ${option}, got none`);
    } else if (!token.inlineValue && token.value.length > 1 && token.value.startsWith('-')) {
      return new TypeError(
        `Expected a value after ${option}, got the option ${token.value} (for a value that starts with -, write ${token.rawName}=<value>)`,
      );
    }
  }
  return undefined;
}

/**
 * Where `--out` asks for the report, checked now: the report is written only after the run, which
 * takes minutes, and a path that cannot take it would lose it then. Its folder is created then.
 */
function reportPath(out: string | undefined): string | undefined {
  if (out === undefined) return undefined;
  const expected = 'Expected `--out` to be the path of a .json file';
  const received = JSON.stringify(out);
  if (out === '') throw new RangeError(`${expected}, got ""`);
  const path = resolve(out);
  if (isDirectory(path)) throw new RangeError(`${expected}, got ${received}, which is a directory`);
  if (!out.endsWith('.json')) throw new RangeError(`${expected}, got ${received}`);
  let ancestor = dirname(path);
  while (!existsSync(ancestor) && dirname(ancestor) !== ancestor) ancestor = dirname(ancestor);
  if (!isDirectory(ancestor)) throw new RangeError(`${expected}, got ${received}, but ${ancestor} is a file, not a directory`);
  return path;
}

function isDirectory(path: string): boolean {
  return existsSync(path) && statSync(path).isDirectory();
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
  const skipped = skippedNote();
  if (skipped !== undefined) process.stderr.write(`  ${skipped}\n`);

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
  await closePools((line) => context.log(line));
  const wallTimeSeconds = (performance.now() - started) / 1000;

  const path = args.out ?? defaultReportPath(reportName(args, results.length));
  const history = previousRun(args, machine, context.poolSize);
  const collected = collect(results);
  const report: RunReport = {
    machine,
    mode: quick ? 'quick' : 'full',
    poolSize: context.poolSize,
    ...(baseline === undefined ? {} : { baseline: { subject: baseline.build.name, commit: baseline.commit, version: baseline.version } }),
    wallTimeSeconds,
    ratioDefinition: RATIO_DEFINITION,
    scenarios,
    skipped: SKIPPED,
    previous: 'none' in history ? history : history.previous,
    ...collected,
    figures: markChanges(collected.figures, history),
  };
  console.log(`\n${textTable(report.figures)}\n`);
  console.log(RATIO_DEFINITION);
  console.log('\nTargets:');
  for (const target of report.targets) console.log(`  ${targetVerdict(target).padEnd(12)} ${describeTarget(target)}`);
  if (report.checks.length > 0) console.log('\nChecks:');
  for (const check of report.checks) console.log(`  ${check.passed ? 'passed' : 'FAILED'} ${check.check}: ${check.detail}`);
  if (skipped !== undefined) console.log(`\n${skipped}`);
  const noisy = report.figures.filter((figure) => figure.sincePrevious?.p50.noisy === true).length;
  if (!('none' in history)) {
    console.log(
      `\nCompared with the previous full run (${history.previous.commit}, ${history.previous.date}): ${noisy} figure(s) moved more than ${NOISY_CHANGE * 100}%, marked noisy.`,
    );
  }
  const written =
    path === undefined ? 'wrote nothing (pass --out <file.json> to keep the report)' : `wrote ${writeReport(report, path).join(' and ')}`;
  console.log(`\n${selected.length} scenario(s) in ${wallTimeSeconds.toFixed(1)} s; ${written}`);
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

/**
 * The full run a full run's figures are compared with: the file `--out` names, if it holds a full
 * run, else in a clone the last complete full run, bench/results/latest.json. Quick runs are not
 * compared: their sizes differ.
 */
function previousRun(args: Arguments, machine: Machine, poolSize: number): History {
  if (args.quick) return { none: 'a quick run is not compared with earlier runs' };
  const latest = RESULTS_DIR === undefined ? undefined : resolve(RESULTS_DIR, 'latest.json');
  const candidate = args.out !== undefined && existsSync(args.out) ? args.out : latest;
  if (candidate === undefined)
    return { none: 'there is no earlier report to compare with (pass --out with the file of an earlier full run)' };
  const history = loadPrevious(candidate, machine, poolSize);
  return 'none' in history && candidate !== latest && latest !== undefined ? loadPrevious(latest, machine, poolSize) : history;
}

function selectScenarios(only: string | undefined): readonly Scenario[] {
  if (only === undefined) return SCENARIOS;
  const names = only.split(',').map((name) => name.trim());
  const unknown = names.filter((name) => !SCENARIOS.some((scenario) => scenario.name === name));
  if (unknown.length > 0) {
    throw new RangeError(
      `Expected \`--only\` to name scenarios among ${SCENARIOS.map((s) => s.name).join(', ')}, got ${unknown.map((name) => JSON.stringify(name)).join(', ')}`,
    );
  }
  return SCENARIOS.filter((scenario) => names.includes(scenario.name));
}

if (!IS_SOURCE || process.execArgv.includes(WORKER_PRELOAD)) await main();
else relaunch();
