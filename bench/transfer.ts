/**
 * Zero-copy transfer: a 64 MiB ArrayBuffer sent to a worker and back, moved both ways, through
 * taskloom (`transfer` in, `transfer(value, list)` out) and through Piscina (`transferList` in,
 * `Piscina.move()` out), against taskloom copying it both ways, in the same run, the rounds going
 * round the three. Targets: taskloom with transfer at most 1.1x Piscina's time, and at least 10x
 * faster than taskloom without transfer.
 *
 * A moved round trip takes tens of microseconds, as long as a no-op task: what it costs is the
 * messages, not the bytes. So each round times a long stream of moved trips (tens of
 * milliseconds), where one garbage collection pause (a few milliseconds, which either side may
 * take) is a small share of the round, as it is of a real program's time; a handful of trips
 * measured the pauses, not the transfers. Copying takes a good part of a second a trip, so a
 * few copied trips make a round. Each way has its own pool, and each turn starts from a collected
 * heap: the copied trips' garbage (two 64 MiB copies a trip) is collected before the next turn,
 * not during it.
 */
import { TaskManager } from 'taskloom';
import { checkTarget, FigureSet, type ScenarioResult } from './lib/figures.js';
import { managerOptions, newPiscina, taskloomHandler } from './lib/pools.js';
import { goRound, PerRound, roundCount } from './lib/rounds.js';
import { collectGarbage, timed, type Scenario, type ScenarioContext } from './lib/scenario.js';
import { summarizePerRound } from './lib/stats.js';

const BYTES = 64 * 1024 * 1024;
const METRIC = '64 MiB ArrayBuffer round trip';
const MOVED = 'taskloom, transfer';
const PISCINA = 'piscina, transferList + move()';
const COPIED = 'taskloom, copied';

async function run(context: ScenarioContext): Promise<ScenarioResult> {
  const trips = context.quick ? 200 : 1000;
  const copiedTrips = context.quick ? 2 : 5;
  const rounds = roundCount(context);
  const figures = new FigureSet('transfer');
  const manager = new TaskManager(managerOptions(context.poolSize));
  // Copying leaves a 64 MiB copy of garbage a trip on the worker that ran it: a manager of its
  // own keeps that collection off the workers of the moved trips, as Piscina's are.
  const copying = new TaskManager(managerOptions(context.poolSize));
  const piscina = newPiscina(context.poolSize);
  const moveBack = taskloomHandler('moveBack');
  const copyBack = taskloomHandler('copyBack');
  let buffer = new ArrayBuffer(BYTES);
  const samples = new PerRound();
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
      copiedTrips,
      async () => {
        const id = copying.createTask('copy', copyBack, { args: buffer });
        buffer = (await copying.waitFor(id)).result as ArrayBuffer;
      },
    ],
  ];
  try {
    for (const [, , way] of ways) await way();
    const visits = ways.map(([name, count, way]) => ({
      name,
      async measure() {
        collectGarbage();
        const ms = await timed(async () => {
          for (let i = 0; i < count; i++) await way();
        });
        if (buffer.byteLength !== BYTES) throw new RangeError(`Expected the buffer back whole, got ${buffer.byteLength} bytes`);
        samples.add(name, ms / count);
      },
    }));
    await goRound(context, 'transfer', rounds, visits);
  } finally {
    await Promise.all([manager.stop(), copying.stop(), piscina.destroy()]);
  }
  for (const [subject, values] of samples.entries()) figures.add(METRIC, subject, 'ms', 'lower', summarizePerRound(values), PISCINA);
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
      `${trips} round trips of one 64 MiB ArrayBuffer per round moved (${copiedTrips} copied), one after another; ${rounds} rounds, each going round the three ways in turn from a different start; pool size ${context.poolSize}; the figure is a round's time ÷ its trips`,
    ],
  };
}

export const scenario: Scenario = { name: 'transfer', title: 'Zero-copy transfer of a 64 MiB ArrayBuffer', run };
