/**
 * The round trips of the transfer scenario: a 64 MiB ArrayBuffer sent to a worker and back,
 * moved both ways through taskloom and through Piscina, and copied both ways through taskloom,
 * each trip timed on its own. The scenario runs this in a child process pinned to one CPU when
 * it can (bench/fixtures/transfer-process.ts), and here in its own process when it cannot.
 *
 * A fourth way splits taskloom's trip in two: taskloom's worker path alone, without the manager.
 * It is the Piscina pool a manager starts, with the same options, loading taskloom's own worker
 * entry, given the request a manager's run sends, with the same transfer list and kill signal;
 * the handler marks its result with `transfer()` as in the moved trip. What it leaves out is the
 * manager's own work on the main thread: createTask, the task's record, its dispatch, its end and
 * the snapshot `waitFor` resolves with. So it tells what moving through taskloom costs by itself,
 * and the moved trip less this one is what the manager's bookkeeping costs a task.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Piscina } from 'piscina';
import { TaskManager } from 'taskloom';
import { PACKAGE_ROOT } from './paths.js';
import { managerOptions, newPiscina, taskloomHandler } from './pools.js';
import { collectGarbage } from './scenario.js';

const BYTES = 64 * 1024 * 1024;
export const MOVED = 'taskloom, transfer';
export const PISCINA = 'piscina, transferList + move()';
export const COPIED = 'taskloom, copied';
export const WORKER_PATH = 'taskloom worker path, no manager';

/**
 * What a manager's run hands its worker for one task (TaskRequest in src/shared/messages.ts):
 * dispatch number, task id, name, handler module URL, export name, arguments.
 */
type WorkerRequest = readonly [dispatch: number, id: string, name: string, module: string, exportName: string, args: unknown];
/** What the worker entry answers (TaskReply there): whether the handler returned, its result or error, progress, run time. */
type WorkerReply = readonly [ok: boolean, value: unknown, progress: number | undefined, ms: number];

/** A pool on taskloom's worker entry with the options a manager gives its own (src/main/pool.ts). */
function newWorkerPathPool(poolSize: number): Piscina {
  return new Piscina({
    filename: pathToFileURL(join(PACKAGE_ROOT, 'dist', 'workers', 'entry.js')).href,
    minThreads: 0,
    maxThreads: poolSize,
    concurrentTasksPerWorker: 1,
    idleTimeout: Infinity,
    recordTiming: false,
    // A manager with `logger: false` logs at pino's level 'silent', which is Infinity.
    workerData: { logLevel: Infinity, preload: [] },
  });
}

/** Takes a listener and drops it: the kill signal a manager's run gives Piscina, which never fires here. */
const ignore = (): void => undefined;
/** The kill signal a manager's run gives Piscina (see KillSignal in src/main/pool.ts): it never fires here. */
const NEVER_KILLED = { once: ignore, off: ignore, removeListener: ignore };

export interface TripPlan {
  /** Moved trips a turn; copying takes a good part of a second a trip, so its turn is one trip. */
  readonly trips: number;
  readonly rounds: number;
  readonly poolSize: number;
}

/** Each subject's trip times in ms: one array per round, in the order the subjects were first met. */
export type TripTimes = [subject: string, rounds: number[][]][];

/**
 * Runs `plan.rounds` rounds, each going round the four ways from a different start, each way's
 * trips back to back in its turn. `log` hears each turn as it starts.
 */
export async function measureTrips(plan: TripPlan, log: (line: string) => void): Promise<TripTimes> {
  const { trips, rounds, poolSize } = plan;
  const manager = new TaskManager(managerOptions(poolSize));
  // Copying leaves a 64 MiB copy of garbage a trip on the worker that ran it: a manager of its
  // own keeps that collection off the workers of the moved trips, as Piscina's are.
  const copying = new TaskManager(managerOptions(poolSize));
  const piscina = newPiscina(poolSize);
  const workerPath = newWorkerPathPool(poolSize);
  const moveBack = taskloomHandler('moveBack');
  let dispatch = 0;
  const copyBack = taskloomHandler('copyBack');
  let buffer = new ArrayBuffer(BYTES);
  const ways: [string, number, () => Promise<void>][] = [
    [
      MOVED,
      trips,
      async () => {
        const id = manager.createTask('move', moveBack, { args: buffer, transfer: [buffer] });
        buffer = (await manager.waitFor(id)).result as ArrayBuffer;
      },
    ],
    [
      PISCINA,
      trips,
      async () => {
        buffer = (await piscina.run(buffer, { name: 'moveBack', transferList: [buffer] })) as ArrayBuffer;
      },
    ],
    [
      WORKER_PATH,
      trips,
      async () => {
        const request: WorkerRequest = [++dispatch, 'worker-path', 'move', moveBack.module, moveBack.exportName, buffer];
        const reply = (await workerPath.run(request, { signal: NEVER_KILLED, transferList: [buffer] })) as WorkerReply;
        if (!reply[0]) throw new Error(`The worker path's task failed: ${JSON.stringify(reply[1])}`);
        buffer = reply[1] as ArrayBuffer;
      },
    ],
    [
      COPIED,
      1,
      async () => {
        const id = copying.createTask('copy', copyBack, { args: buffer });
        buffer = (await copying.waitFor(id)).result as ArrayBuffer;
      },
    ],
  ];
  const times: TripTimes = ways.map(([name]) => [name, []]);
  try {
    // Warm: the workers of each pool compile their side of the path, as a running program's have.
    for (const [, count, way] of ways) for (let i = 0; i < count; i++) await way();
    for (let round = 0; round < rounds; round++) {
      for (let turn = 0; turn < ways.length; turn++) {
        const at = (round + turn) % ways.length;
        const [name, count, way] = ways[at] as (typeof ways)[number];
        log(`transfer, round ${round + 1} of ${rounds}, ${name}`);
        // Each turn starts from a collected heap: no way pays for the garbage of the one before.
        collectGarbage();
        const each: number[] = [];
        for (let i = 0; i < count; i++) {
          const sent = performance.now();
          await way();
          each.push(performance.now() - sent);
        }
        if (buffer.byteLength !== BYTES) throw new RangeError(`Expected the buffer back whole, got ${buffer.byteLength} bytes`);
        (times[at] as TripTimes[number])[1].push(each);
      }
    }
  } finally {
    await Promise.all([manager.stop(), copying.stop(), piscina.destroy(), workerPath.destroy()]);
  }
  return times;
}
