/** The `taskloom` command line: its commands and options, parsed by commander. */
import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import type { LevelWithSilent } from 'pino';
import { benchCommand } from './bench.js';
import { parseDashboardPort, type DashboardFlag } from './dashboard.js';
import { demoCommand } from './demo.js';
import { LOG_LEVEL_NAMES } from './logging.js';
import { runCommand } from './run.js';
import { workerCommand, type WorkerCommandOptions } from './worker.js';

interface SharedOptions {
  concurrency?: number;
  out?: string;
  logLevel?: LevelWithSilent;
  json?: boolean;
  dashboard?: DashboardFlag;
}

/**
 * Builds the program. Actions set `process.exitCode`; commander's own errors (an unknown
 * option, a bad value) are thrown as CommanderError, because of `exitOverride`.
 */
export function createProgram(): Command {
  const program = new Command('taskloom')
    .description('Run tasks on Node.js worker threads, with priorities, progress and cancellation.')
    .version(readVersion(), '-V, --version')
    .enablePositionalOptions()
    .showHelpAfterError('(run taskloom --help for usage)')
    .exitOverride();

  addSharedOptions(
    program
      .command('run')
      .description('run the jobs of a job file: a JSON array of jobs, or one job per line in a .ndjson file')
      .argument('<jobs>', 'the job file (.json, or .ndjson/.jsonl for one job per line)'),
    'the number of CPUs',
  )
    .option(
      '--preload <module>',
      'a module every worker imports before its first task, e.g. one that registers a TypeScript loader (repeatable)',
      (module: string, previous: string[] | undefined) => [...(previous ?? []), module],
    )
    .option(
      '--journal <file>',
      'record the run in this journal file; the same command with the same journal runs only the jobs that did not complete',
    )
    .option('--retry-failed', 'with --journal: also run again the jobs that failed')
    .option('--redis <url>', 'submit the jobs to a distributed queue in this Redis (with --queue), run by `taskloom worker` processes')
    .option('--queue <name>', 'with --redis: the name of the distributed queue')
    .option('--no-work', 'with --redis: only submit and watch; run no task in this process')
    .action(async (file: string, options: SharedOptions & { preload?: string[]; journal?: string; retryFailed?: boolean }) => {
      process.exitCode = await runCommand(file, options);
    });

  program
    .command('worker')
    .description("run a distributed queue's tasks in this process until Ctrl-C, then hand the running ones back")
    .requiredOption('--redis <url>', 'the Redis of the queue, e.g. redis://127.0.0.1:6379')
    .requiredOption('--queue <name>', "the queue's name")
    .option('-c, --concurrency <n>', 'how many tasks run at once here (default: the number of CPUs)', parsePositiveInteger)
    .option(
      '--preload <module>',
      'a module every worker thread imports before its first task (repeatable)',
      (module: string, previous: string[] | undefined) => [...(previous ?? []), module],
    )
    .addOption(new Option('-l, --log-level <level>', 'the least level of log lines shown (default: info)').choices(LOG_LEVEL_NAMES))
    .option(
      '--dashboard [port]',
      "serve a live web dashboard of this process's tasks, and its /metrics, on 127.0.0.1 until it stops (default port: any free one)",
      parseDashboardPort,
    )
    .action(async (options: WorkerCommandOptions) => {
      process.exitCode = await workerCommand(options);
    });

  addSharedOptions(
    program.command('demo').description('run a built-in demo: priorities, progress, cancellation and errors, no network needed'),
    '3',
  ).action(async (options: SharedOptions) => {
    process.exitCode = await demoCommand(options);
  });

  program
    .command('bench')
    .description('run the benchmarks: taskloom against Piscina and each peer pool installed; arguments go to the benchmark runner')
    .argument(
      '[args...]',
      "the benchmark runner's options, passed on as given (e.g. --quick --only latency); only -h/--help is taken here, for this help: taskloom bench -- --help shows the runner's own usage",
    )
    .allowUnknownOption()
    .passThroughOptions()
    .action(async (args: string[]) => {
      process.exitCode = await benchCommand(args);
    });

  return program;
}

function addSharedOptions(command: Command, defaultConcurrency: string): Command {
  return command
    .option('-c, --concurrency <n>', `how many tasks run at once (default: ${defaultConcurrency})`, parsePositiveInteger)
    .option('-o, --out <file>', "write every task's final record to this JSON file (also after Ctrl-C)")
    .addOption(
      new Option('-l, --log-level <level>', 'the least level of log lines shown (default: info; warn with --json)').choices(
        LOG_LEVEL_NAMES,
      ),
    )
    .option('--json', 'print one JSON document with every task at the end, and no live view')
    .option(
      '--dashboard [port]',
      'serve a live web dashboard on 127.0.0.1 while the run lasts, and print its URL (default port: any free one)',
      parseDashboardPort,
    );
}

function parsePositiveInteger(value: string): number {
  const parsed = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(parsed) || parsed < 1) {
    throw new InvalidArgumentError(`expected a positive integer, got "${value}"`);
  }
  return parsed;
}

function readVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  return typeof manifest.version === 'string' ? manifest.version : '0.0.0';
}
