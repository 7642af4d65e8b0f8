/**
 * The round trips of the transfer scenario: a 64 MiB ArrayBuffer sent to a worker and back,
 * moved both ways through taskloom and through Piscina, and copied both ways through taskloom,
 * each trip timed on its own. The scenario runs this in a child process pinned to one CPU when
 * it can (bench/fixtures/transfer-process.ts), and here in its own process when it cannot.
 */
import { TaskManager } from 'taskloom';
import { managerOptions, newPiscina, taskloomHandler } from './pools.js';
import { collectGarbage } from './scenario.js';

const BYTES = 64 * 1024 * 1024;
export const MOVED = 'taskloom, transfer';
export const PISCINA = 'piscina, transferList + move()';
export const COPIED = 'taskloom, copied';

export interface TripPlan {
  /** Moved trips a turn; copying takes a good part of a second a trip, so its turn is one trip. */
  readonly trips: number;
  readonly rounds: number;
  readonly poolSize: number;
}

/** Each subject's trip times in ms: one array per round, in the order the subjects were first met. */
export type TripTimes = [subject: string, rounds: number[][]][];

/**
 * Runs `plan.rounds` rounds, each going round the three ways from a different start, each way's
 * trips back to back in its turn. `log` hears each turn as it starts.
 */
export async function measureTrips(plan: TripPlan, log: (line: string) => void): Promise<TripTimes> {
  const { trips, rounds, poolSize } = plan;
  const manager = new TaskManager(managerOptions(poolSize));
  // Copying leaves a 64 MiB copy of garbage a trip on the worker that ran it: a manager of its
  // own keeps that collection off the workers of the moved trips, as Piscina's are.
  const copying = new TaskManager(managerOptions(poolSize));
  const piscina = newPiscina(poolSize);
  const moveBack = taskloomHandler('moveBack');
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
    await Promise.all([manager.stop(), copying.stop(), piscina.destroy()]);
  }
  return times;
}
