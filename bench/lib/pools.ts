/**
 * The pools under comparison, behind one small interface: taskloom and raw Piscina, and the
 * pools a user would pick instead (tinypool, workerpool, poolifier) when they are installed, and
 * a baseline build of taskloom when the run has one. Each runs the same work from
 * bench/fixtures/work.ts, with as many threads as it is given, started before it is timed.
 */
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { workerTask, type TaskManagerOptions, type WorkerTask } from 'taskloom';
import { CURRENT, UNBATCHED, type TaskloomBuild } from './builds.js';
import { fixture } from './paths.js';
import { PEERS } from './peers.js';

/** The operations every pool's fixture exports under the same name. */
export type Op = 'noop' | 'firstLine' | 'factorial' | 'sha256' | 'spinFor';

export const POOL_NAMES = ['piscina', 'taskloom', 'tinypool', 'workerpool', 'poolifier'] as const;
export type PoolName = (typeof POOL_NAMES)[number];

/** The pools of POOL_NAMES this run can open: taskloom, Piscina, and each peer pool installed. */
export function availablePools(): PoolName[] {
  return POOL_NAMES.filter((name) => name === 'piscina' || name === 'taskloom' || PEERS[name] !== undefined);
}

export interface BenchPool {
  /** A PoolName, or a baseline build's name. */
  readonly name: string;
  readonly size: number;
  /** Runs one task and resolves with its result. */
  run(op: Op, arg?: unknown): Promise<unknown>;
  /** Submits `count` tasks at once and resolves when every one has finished. */
  runAll(op: Op, arg: unknown, count: number): Promise<void>;
  /**
   * Gives the pool back, idle. It stays open and warm for the next scenario that opens the same
   * pool at the same size; `closePools()` closes every pool given back.
   */
  release(): void;
}

interface OpenPool extends Omit<BenchPool, 'release'> {
  close(): Promise<void>;
}

export const TASKLOOM_TASKS = fixture('taskloom-tasks');
/** Piscina and tinypool load the same module and pick an export by name. */
export const POOL_TASKS = fixture('pool-tasks');

/** A taskloom handler of bench/fixtures/taskloom-tasks.ts. */
export function taskloomHandler(exportName: string): WorkerTask {
  return workerTask(TASKLOOM_TASKS, exportName);
}

/** The options every scenario's TaskManager starts from. */
export function managerOptions(size: number, options: TaskManagerOptions = {}): TaskManagerOptions {
  return { maxConcurrentTasks: size, autoStart: true, logger: false, maxFinishedTasks: 1000, ...options };
}

export function newPiscina(size: number): Piscina {
  return new Piscina({ filename: POOL_TASKS.href, minThreads: size, maxThreads: size, idleTimeout: Infinity });
}

/** Pools given back and still open, by name and size. */
const idlePools = new Map<string, OpenPool[]>();

/**
 * Opens a pool of `size` threads, warm: every thread has started and loaded its fixture. Starting
 * a worker takes a while (a good part of a second when it loads TypeScript through tsx), so a
 * pool a scenario gave back is handed out again rather than started anew. Throws for a peer pool
 * that is not installed: see availablePools().
 */
export async function openPool(name: PoolName, size: number): Promise<BenchPool> {
  return openWarm(name, size, () => createPool(name, size));
}

/** Opens a pool of `size` threads on a build of taskloom, as openPool does (the current build is openPool('taskloom')). */
export async function openBuild(build: TaskloomBuild, size: number): Promise<BenchPool> {
  return openWarm(build.name, size, () => taskloomPool(size, build));
}

/**
 * The pools a scenario compares side by side: every pool available, with taskloom without batch
 * dispatch (`batchBudgetMs: 0`) after taskloom, and the baseline build's after it when the run has one.
 */
export async function openComparedPools(size: number, baseline: TaskloomBuild | undefined): Promise<BenchPool[]> {
  const pools: BenchPool[] = [];
  for (const name of availablePools()) {
    pools.push(await openPool(name, size));
    if (name !== 'taskloom') continue;
    // Next to the current build, in the table and in every round: the same build without batch
    // dispatch, then the baseline build.
    pools.push(await openBuild(UNBATCHED, size));
    if (baseline !== undefined) pools.push(await openBuild(baseline, size));
  }
  return pools;
}

async function openWarm(name: string, size: number, create: () => OpenPool): Promise<BenchPool> {
  const key = `${name}/${size}`;
  let pool = idlePools.get(key)?.pop();
  if (pool === undefined) {
    pool = create();
    await pool.runAll('noop', undefined, size * 8);
    await pool.runAll('firstLine', undefined, size * 8);
  }
  const open = pool;
  let isReleased = false;
  return {
    name: open.name,
    size: open.size,
    run: (op, arg) => open.run(op, arg),
    runAll: (op, arg, count) => open.runAll(op, arg, count),
    release() {
      if (isReleased) return;
      isReleased = true;
      const idle = idlePools.get(key) ?? [];
      idle.push(open);
      idlePools.set(key, idle);
    },
  };
}

/** How long closing a pool may take before the run goes on without it. */
const CLOSE_DEADLINE_MS = 10_000;

/**
 * Closes every pool given back. A pool whose close has not settled by the deadline is left, with
 * a line on `log`: poolifier's destroy() now and then never settles, with nothing left running
 * to settle it, and the run would otherwise end there, its report unwritten.
 */
export async function closePools(log: (line: string) => void): Promise<void> {
  const pools = [...idlePools.values()].flat();
  idlePools.clear();
  await Promise.all(
    pools.map(async (pool) => {
      let deadline: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((resolve) => (deadline = setTimeout(resolve, CLOSE_DEADLINE_MS, 'late')));
      const outcome = await Promise.race([pool.close().then(() => 'closed' as const), late]);
      clearTimeout(deadline);
      if (outcome === 'late')
        log(`${pool.name} (${pool.size} threads): close did not settle within ${CLOSE_DEADLINE_MS / 1000} s; going on without it`);
    }),
  );
}

function createPool(name: PoolName, size: number): OpenPool {
  switch (name) {
    case 'taskloom':
      return taskloomPool(size, CURRENT);
    case 'piscina': {
      const piscina = newPiscina(size);
      return promisePool(
        name,
        size,
        (op, arg) => piscina.run(arg, { name: op }),
        () => piscina.destroy(),
      );
    }
    case 'tinypool': {
      const Tinypool = installed(name, PEERS.tinypool);
      const tinypool = new Tinypool({ filename: POOL_TASKS.href, minThreads: size, maxThreads: size, idleTimeout: 60_000 });
      return promisePool(
        name,
        size,
        (op, arg) => tinypool.run(arg, { name: op }),
        () => tinypool.destroy(),
      );
    }
    case 'workerpool': {
      const script = fileURLToPath(fixture('workerpool-worker'));
      const pool = installed(name, PEERS.workerpool).pool(script, { minWorkers: size, maxWorkers: size, workerType: 'thread' });
      return promisePool(
        name,
        size,
        (op, arg) => Promise.resolve(pool.exec(op, [arg])),
        async () => {
          await pool.terminate();
        },
      );
    }
    case 'poolifier': {
      // Poolifier's defaults, as a user gets them: tasks go straight to the least used worker.
      const { FixedThreadPool } = installed(name, PEERS.poolifier);
      const pool = new FixedThreadPool(size, fileURLToPath(fixture('poolifier-worker')), {
        errorHandler: (error) => console.error('poolifier worker error', error),
      });
      return promisePool(
        name,
        size,
        (op, arg) => pool.execute(arg, op),
        () => pool.destroy(),
      );
    }
  }
}

function installed<T>(name: PoolName, module: T | undefined): T {
  if (module === undefined) throw new Error(`The pool ${name} is not installed: open only the pools of availablePools()`);
  return module;
}

function promisePool(name: string, size: number, run: (op: Op, arg: unknown) => Promise<unknown>, close: () => Promise<void>): OpenPool {
  return {
    name,
    size,
    run: (op, arg) => run(op, arg),
    async runAll(op, arg, count) {
      const runs = new Array<Promise<unknown>>(count);
      for (let i = 0; i < count; i++) runs[i] = run(op, arg);
      await Promise.all(runs);
    },
    close,
  };
}

/** A pool on `build`'s TaskManager, whose handlers come from the same fixture for every build. */
function taskloomPool(size: number, build: TaskloomBuild): OpenPool {
  const manager = new build.TaskManager(managerOptions(size, build.options));
  const handlers = new Map<Op, WorkerTask>();
  const handler = (op: Op): WorkerTask => {
    let found = handlers.get(op);
    if (found === undefined) handlers.set(op, (found = build.workerTask(TASKLOOM_TASKS, op)));
    return found;
  };
  const label = build.name;
  return {
    name: label,
    size,
    async run(op, arg) {
      const task = await manager.waitFor(manager.createTask(op, handler(op), { args: arg }));
      if (task.state !== 'completed') throw new Error(`${label} task ${op} ended ${task.state}: ${task.error ?? ''}`);
      return task.result;
    },
    // The bulk path a taskloom user takes: create every task, then wait for the manager to be idle.
    async runAll(op, arg, count) {
      const before = manager.getStats();
      const run = handler(op);
      for (let i = 0; i < count; i++) manager.createTask(op, run, { args: arg });
      await manager.onIdle();
      const after = manager.getStats();
      if (after.completed - before.completed !== count) {
        throw new Error(
          `${label} completed ${after.completed - before.completed} of ${count} ${op} tasks (failed: ${after.failed - before.failed})`,
        );
      }
    },
    close: () => manager.stop(),
  };
}

/** Keeps at most `window` tasks in flight until `count` have run: a bounded producer. */
export async function runWindowed(pool: BenchPool, op: Op, arg: unknown, count: number, window: number): Promise<void> {
  let submitted = 0;
  const lane = async (): Promise<void> => {
    while (submitted < count) {
      submitted++;
      await pool.run(op, arg);
    }
  };
  await Promise.all(Array.from({ length: Math.min(window, count) }, lane));
}
