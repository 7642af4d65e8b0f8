/** The machine and the software a run measured: recorded with every set of figures. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';

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
  /** The taskloom commit measured (git rev-parse HEAD); "-dirty" when the working tree had changes. */
  readonly taskloom: string;
  /** The installed version of every peer. */
  readonly peers: Readonly<Record<string, string>>;
}

const PEERS = ['piscina', 'tinypool', 'workerpool', 'poolifier', 'p-queue', 'tinybench', 'tsx'] as const;
const ROOT = new URL('../../', import.meta.url);

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
    taskloom: describeCommit(ROOT),
    peers: Object.fromEntries(PEERS.map((name) => [name, installedVersion(name)])),
  };
}

function installedVersion(name: string): string {
  try {
    const manifest = JSON.parse(readFileSync(new URL(`node_modules/${name}/package.json`, ROOT), 'utf8')) as { version?: unknown };
    return typeof manifest.version === 'string' ? manifest.version : 'unknown';
  } catch {
    return 'not installed';
  }
}

/**
 * The commit checked out in the repository at `root`, with "-dirty" when its working tree has
 * changes or new files (they may change what is built), or "unknown" outside a git checkout.
 */
export function describeCommit(root: URL | string): string {
  const cwd = root instanceof URL ? fileURLToPath(root) : root;
  const git = (...args: string[]): string =>
    execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  try {
    const head = git('rev-parse', 'HEAD');
    return git('status', '--porcelain').length > 0 ? `${head}-dirty` : head;
  } catch {
    return 'unknown';
  }
}
