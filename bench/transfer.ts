/**
 * Zero-copy transfer: a 64 MiB ArrayBuffer sent to a worker and back, moved both ways, through
 * taskloom (`transfer` in, `transfer(value, list)` out) and through Piscina (`transferList` in,
 * `Piscina.move()` out), against taskloom copying it both ways, in the same run, the rounds going
 * round the three. Targets: taskloom with transfer at most 1.1x Piscina's time, and at least 10x
 * faster than taskloom without transfer.
 */
import { TaskManager } from 'taskloom';
import { checkTarget, FigureSet, type ScenarioResult } from './lib/figures.js';
import { managerOptions, newPiscina, taskloomHandler } from './lib/pools.js';
import { goRound, PerRound, roundCount } from './lib/rounds.js';
import { timed, type Scenario, type ScenarioContext } from './lib/scenario.js';
import { summarizePerRound } from './lib/stats.js';

const BYTES = 64 * 1024 * 1024;
const METRIC = '64 MiB ArrayBuffer round trip';
const MOVED = 'taskloom, transfer';
const PISCINA = 'piscina, transferList + move()';
const COPIED = 'taskloom, copied';

async function run(context: ScenarioContext): Promise<ScenarioResult> {
  const trips = context.quick ? 3 : 20;
  const rounds = roundCount(context);
  const figures = new FigureSet('transfer');
  const manager = new TaskManager(managerOptions(context.poolSize));
  const piscina = newPiscina(context.poolSize);
  const moveBack = taskloomHandler('moveBack');
  const copyBack = taskloomHandler('copyBack');
  let buffer = new ArrayBuffer(BYTES);
  const samples = new PerRound();
  const ways: [string, () => Promise<void>][] = [
    [
      MOVED,
      async () => {
        const id = manager.createTask('move', moveBack, { args: buffer, transfer: [buffer] });
        buffer = (await manager.waitFor(id)).result as ArrayBuffer;
      },
    ],
    [
      PISCINA,
      async () => {
        buffer = (await piscina.run(buffer, { name: 'moveBack', transferList: [buffer] })) as ArrayBuffer;
      },
    ],
    [
      COPIED,
      async () => {
        const id = manager.createTask('copy', copyBack, { args: buffer });
        buffer = (await manager.waitFor(id)).result as ArrayBuffer;
      },
    ],
  ];
  try {
    for (const [, way] of ways) await way();
    const visits = ways.map(([name, way]) => ({
      name,
      async measure() {
        const ms = await timed(async () => {
          for (let i = 0; i < trips; i++) await way();
        });
        if (buffer.byteLength !== BYTES) throw new RangeError(`Expected the buffer back whole, got ${buffer.byteLength} bytes`);
        samples.add(name, ms / trips);
      },
    }));
    await goRound(context, 'transfer', rounds, visits);
  } finally {
    await Promise.all([manager.stop(), piscina.destroy()]);
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
      `${trips} round trips of one 64 MiB ArrayBuffer per round, ${rounds} rounds, each going round the three ways in turn from a different start; pool size ${context.poolSize}`,
    ],
  };
}

export const scenario: Scenario = { name: 'transfer', title: 'Zero-copy transfer of a 64 MiB ArrayBuffer', run };
