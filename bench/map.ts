/**
 * Batch processing: items per second for a trivial handler through manager.map() with chunks of
 * 256 items, against one task per item (createTask for each, and map with chunkSize 1), all on
 * the same manager in the same run. Target: chunks of 256 at least 5x one task per item.
 */
import { TaskManager } from 'taskloom';
import { checkTarget, FigureSet, type ScenarioResult } from './lib/figures.js';
import { managerOptions, taskloomHandler } from './lib/pools.js';
import { timed, type Scenario, type ScenarioContext } from './lib/scenario.js';
import { summarize } from './lib/stats.js';

const METRIC = 'trivial items per second';
const CHUNKED = 'map, chunkSize 256';
const PER_ITEM_MAP = 'map, chunkSize 1';
const PER_ITEM_TASKS = 'one createTask per item';

async function run(context: ScenarioContext): Promise<ScenarioResult> {
  const count = context.quick ? 20_000 : 200_000;
  const rounds = context.quick ? 1 : 3;
  const figures = new FigureSet('map');
  const items = Array.from({ length: count }, (_, i) => i);
  const square = taskloomHandler('square');
  const manager = new TaskManager(managerOptions(context.poolSize));
  const samples = new Map<string, number[]>([
    [CHUNKED, []],
    [PER_ITEM_MAP, []],
    [PER_ITEM_TASKS, []],
  ]);
  const rate = (ms: number): number => (count / ms) * 1000;
  try {
    await manager.map(square, items.slice(0, 1000), { chunkSize: 256 }).toArray();
    for (let round = 0; round < rounds; round++) {
      context.log(`map: round ${round + 1} of ${rounds}`);
      samples.get(CHUNKED)?.push(rate(await timed(() => manager.map(square, items, { chunkSize: 256 }).toArray())));
      samples.get(PER_ITEM_MAP)?.push(rate(await timed(() => manager.map(square, items, { chunkSize: 1 }).toArray())));
      samples.get(PER_ITEM_TASKS)?.push(
        rate(
          await timed(async () => {
            for (const item of items) manager.createTask('square', square, { args: item });
            await manager.onIdle();
          }),
        ),
      );
    }
  } finally {
    await manager.stop();
  }
  for (const [subject, values] of samples) figures.add(METRIC, subject, 'items/s', 'higher', summarize(values), PER_ITEM_TASKS);
  const chunked = figures.find(METRIC, CHUNKED);
  const perItem = figures.find(METRIC, PER_ITEM_TASKS);
  return {
    figures: figures.figures(),
    targets: [
      checkTarget(
        'map with chunkSize 256 at least 5x one task per item',
        `${CHUNKED} p50 ÷ ${PER_ITEM_TASKS} p50`,
        chunked !== undefined && perItem !== undefined ? chunked.p50 / perItem.p50 : undefined,
        5,
        '×',
        'higher',
      ),
    ],
    checks: [],
    notes: [`${count.toLocaleString('en-US')} items per round, ${rounds} round(s), pool size ${context.poolSize}; handler: n => n * n`],
  };
}

export const scenario: Scenario = { name: 'map', title: 'Batch processing with map', run };
