/**
 * Zero-copy transfer: a 64 MiB ArrayBuffer sent to a worker and back, moved both ways, through
 * taskloom (`transfer` in, `transfer(value, list)` out) and through Piscina (`transferList` in,
 * `Piscina.move()` out), against taskloom copying it both ways, in the same run, the rounds going
 * round the three. Targets: taskloom with transfer at most 1.1x Piscina's time, and at least 10x
 * faster than taskloom without transfer.
 *
 * A moved round trip takes tens of microseconds, as long as a no-op task: what it costs is the
 * messages, not the bytes. Two things outside either pool move it a lot on a shared machine, so
 * the scenario is built around them:
 * - Each 64 MiB buffer that arrives counts as 64 MiB of new memory to V8, which starts a full
 *   collection every few dozen trips (8 to 61 in 1,000 of Piscina's trips, in three runs). So
 *   each trip is timed on its own: a turn's p50 is a trip's cost, its p99 holds the pauses, and
 *   the mean spreads them over the trips. Each turn starts from a collected heap, and copying
 *   has a manager of its own, so that its garbage stays off the moved trips' workers.
 * - Where the kernel has put the pool's worker thread: on the main thread's CPU, a sequential
 *   trip took 15-25 µs here; on the other, whose CPU has gone idle meanwhile, 50-60 µs. The
 *   kernel places each pool's worker on its own, and a placement can last a whole run (in one
 *   process taskloom's worker sat across while Piscina's shared, in the next the reverse); with
 *   the process pinned to one CPU by `taskset`, the medians of both stayed within 15-22 µs. So
 *   the scenario runs many short rounds (15; 4 with --quick) instead of the usual 5, each pool's
 *   trips back to back in its turn, and the figure is the median of the rounds: that catches a
 *   placement that changes during the run, not one that lasts it.
 * Copying takes a good part of a second a trip, so its turn is one trip.
 */
import { TaskManager } from 'taskloom';
import { checkTarget, FigureSet, type ScenarioResult } from './lib/figures.js';
import { managerOptions, newPiscina, taskloomHandler } from './lib/pools.js';
import { goRound, PerRound, type Visit } from './lib/rounds.js';
import { collectGarbage, type Scenario, type ScenarioContext } from './lib/scenario.js';
import { summarizeRounds } from './lib/stats.js';

const BYTES = 64 * 1024 * 1024;
const METRIC = '64 MiB ArrayBuffer round trip';
const MOVED = 'taskloom, transfer';
const PISCINA = 'piscina, transferList + move()';
const COPIED = 'taskloom, copied';

async function run(context: ScenarioContext): Promise<ScenarioResult> {
  const trips = context.quick ? 200 : 400;
  const rounds = context.quick ? 4 : 15;
  const figures = new FigureSet('transfer');
  const manager = new TaskManager(managerOptions(context.poolSize));
  // Copying leaves a 64 MiB copy of garbage a trip on the worker that ran it: a manager of its
  // own keeps that collection off the workers of the moved trips, as Piscina's are.
  const copying = new TaskManager(managerOptions(context.poolSize));
  const piscina = newPiscina(context.poolSize);
  const moveBack = taskloomHandler('moveBack');
  const copyBack = taskloomHandler('copyBack');
  let buffer = new ArrayBuffer(BYTES);
  const tripTimes = new PerRound<number[]>();
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
  const visits: Visit[] = ways.map(([name, count, way]) => ({
    name,
    async measure() {
      collectGarbage();
      const each: number[] = [];
      for (let i = 0; i < count; i++) {
        const sent = performance.now();
        await way();
        each.push(performance.now() - sent);
      }
      if (buffer.byteLength !== BYTES) throw new RangeError(`Expected the buffer back whole, got ${buffer.byteLength} bytes`);
      tripTimes.add(name, each);
    },
  }));
  try {
    // Warm: the workers of each pool compile their side of the path, as a running program's have.
    for (const [, count, way] of ways) for (let i = 0; i < count; i++) await way();
    await goRound(context, 'transfer', rounds, visits);
  } finally {
    await Promise.all([manager.stop(), copying.stop(), piscina.destroy()]);
  }
  for (const [subject, times] of tripTimes.entries()) figures.add(METRIC, subject, 'ms', 'lower', summarizeRounds(times), PISCINA);
  return {
    figures: figures.figures(),
    targets: [
      checkTarget(
        'a 64 MiB round trip with transfer at most 1.1x Piscina with Piscina.move',
        `${MOVED} p50 ÷ ${PISCINA} p50`,
        figures.compare(METRIC, MOVED, PISCINA),
        1.1,
        '×',
        'lower',
      ),
      checkTarget(
        'a 64 MiB round trip with transfer at least 10x faster than without',
        `${COPIED} p50 ÷ ${MOVED} p50`,
        figures.compare(METRIC, COPIED, MOVED),
        10,
        '×',
        'higher',
      ),
    ],
    checks: [],
    notes: [
      `${trips} round trips of one 64 MiB ArrayBuffer a turn, one after another (1 copied); ${rounds} rounds, each going round the three ways in turn from a different start; pool size ${context.poolSize}`,
      `each trip is timed on its own: p50 and p99 are the medians of the rounds' own, and the mean includes the collections that incoming 64 MiB buffers start; each turn starts from a collected heap`,
      `more and shorter rounds than other scenarios: a sequential trip takes 15-25 µs when the kernel has put the pool's worker on the main thread's CPU and 50-60 µs when not, for raw Piscina as for taskloom; each pool's worker is placed on its own and a placement can last the run, which widens the rounds more than it moves the median`,
    ],
  };
}

export const scenario: Scenario = { name: 'transfer', title: 'Zero-copy transfer of a 64 MiB ArrayBuffer', run };
