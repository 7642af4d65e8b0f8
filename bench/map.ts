/**
 * Batch processing: items per second for a trivial handler through manager.map() with chunks of
 * 256 items, against one task per item (createTask for each, and map with chunkSize 1), all on
 * the same manager in the same run, the rounds going round the three. Target: chunks of 256 at
 * least 5x one task per item.
 */
import { TaskManager } from 'taskloom';
import { checkTarget, FigureSet, type ScenarioResult } from './lib/figures.js';
import { managerOptions, taskloomHandler } from './lib/pools.js';
import { goRound, PerRound, roundCount } from './lib/rounds.js';
import { timed, type Scenario, type ScenarioContext } from './lib/scenario.js';
import { summarizePerRound } from './lib/stats.js';

const METRIC = 'trivial items per second';
const CHUNKED = 'map, chunkSize 256';
const PER_ITEM_MAP = 'map, chunkSize 1';
const PER_ITEM_TASKS = 'one createTask per item';

async function run(context: ScenarioContext): Promise<ScenarioResult> {
  const count = context.quick ? 20_000 : 100_000;
  const rounds = roundCount(context);
  const figures = new FigureSet('map');
  const items = Array.from({ length: count }, (_, i) => i);
  const square = taskloomHandler('square');
  const manager = new TaskManager(managerOptions(context.poolSize));
  const rate = (ms: number): number => (count / ms) * 1000;
  const samples = new PerRound();
  const ways: [string, () => Promise<unknown>][] = [
    [CHUNKED, () => manager.map(square, items, { chunkSize: 256 }).toArray()],
    [PER_ITEM_MAP, () => manager.map(square, items, { chunkSize: 1 }).toArray()],
    [
      PER_ITEM_TASKS,
      async () => {
        for (const item of items) manager.createTask('square', square, { args: item });
        await manager.onIdle();
      },
    ],
  ];
  try {
    await manager.map(square, items.slice(0, 1000), { chunkSize: 256 }).toArray();
    const visits = ways.map(([name, way]) => ({
      name,
      async measure() {
        samples.add(name, rate(await timed(way)));
      },
    }));
    await goRound(context, 'map', rounds, visits);
  } finally {
    await manager.stop();
  }
  for (const [subject, values] of samples.entries())
    figures.add(METRIC, subject, 'items/s', 'higher', summarizePerRound(values), PER_ITEM_TASKS);
  return {
    figures: figures.figures(),
    targets: [
      checkTarget(
        'map with chunkSize 256 at least 5x one task per item',
        `${CHUNKED} p50 ÷ ${PER_ITEM_TASKS} p50`,
        figures.compare(METRIC, CHUNKED, PER_ITEM_TASKS),
        5,
        '×',
        'higher',
      ),
    ],
    checks: [],
    notes: [
      `${count.toLocaleString('en-US')} items per round, ${rounds} rounds, each going round the three ways in turn from a different start; pool size ${context.poolSize}; handler: n => n * n; ` +
        'each figure is the median of its rounds',
    ],
  };
}

export const scenario: Scenario = { name: 'map', title: 'Batch processing with map', run };
