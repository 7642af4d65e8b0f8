/** The machine and the software a run measured: recorded with every set of figures. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { installedVersion, IS_CLONE, PACKAGE_ROOT } from './paths.js';

export interface Machine {
  readonly date: string;
  readonly cpuModel: string;
  /** Logical CPUs the OS reports. */
  readonly cpus: number;
  /** os.availableParallelism(): the pool size of every scenario but CPU scaling. */
  readonly availableParallelism: number;
  readonly totalMemoryMiB: number;
  readonly loadAverageAtStart: readonly number[];
  readonly platform: string;
  readonly arch: string;
  readonly node: string;
  readonly v8: string;
  /**
   * The taskloom commit measured (git rev-parse HEAD), "-dirty" when the working tree had changes;
   * for an installed package, "taskloom@<version> (installed package)".
   */
  readonly taskloom: string;
  /** The version in taskloom's package.json. */
  readonly taskloomVersion: string;
  /** The installed version of every peer. */
  readonly peers: Readonly<Record<string, string>>;
}

const PEERS = ['piscina', 'tinypool', 'workerpool', 'poolifier', 'p-queue', 'tinybench'] as const;

export function describeMachine(): Machine {
  const cpus = os.cpus();
  return {
    date: new Date().toISOString(),
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cpus: cpus.length,
    availableParallelism: os.availableParallelism(),
    totalMemoryMiB: Math.round(os.totalmem() / 2 ** 20),
    loadAverageAtStart: os.loadavg().map((load) => Math.round(load * 100) / 100),
    platform: os.platform(),
    arch: os.arch(),
    node: process.version,
    v8: process.versions.v8,
    taskloom: IS_CLONE ? describeCommit(PACKAGE_ROOT) : `taskloom@${taskloomVersion()} (installed package)`,
    taskloomVersion: taskloomVersion(),
    peers: Object.fromEntries(PEERS.map((name) => [name, installedVersion(name) ?? 'not installed'])),
  };
}

function taskloomVersion(): string {
  try {
    const { version } = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version?: unknown };
    return typeof version === 'string' ? version : 'unknown';
  } catch {
    return 'unknown';
  }
}

/**
 * The commit checked out in the repository at `root`, with "-dirty" when its working tree has
 * changes or new files that may change what is measured, or "unknown" outside a git checkout.
 * Changes to bench/results and to Markdown files do not count: a run writes the one, and
 * neither changes the code.
 */
export function describeCommit(root: string): string {
  const git = (...args: string[]): string =>
    execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  try {
    const head = git('rev-parse', 'HEAD');
    const changes = git('status', '--porcelain', '--', '.', ':(exclude)bench/results', ':(exclude)*.md');
    return changes.length > 0 ? `${head}-dirty` : head;
  } catch {
    return 'unknown';
  }
}
