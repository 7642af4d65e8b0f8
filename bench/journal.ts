/**
 * The journal scenario: what a durable journal (SQLite, through better-sqlite3) costs.
 *
 * - createTask with a journal: worker tasks created in a burst on a manager that is not
 *   dispatching, until the journal has committed them, against the same without a journal. The
 *   issue's target: at least 50,000 tasks a second with a journal.
 * - No-op throughput with a journal: worker no-op tasks all at once, against a manager without
 *   one. The target: at least 0.5x.
 * - Recovery: constructing a manager on a journal of 100,000 pending tasks, until the
 *   constructor returns with every task back in its queue. The target: under 2 s.
 *
 * Each measure runs in rounds that go round its subjects from a different start each time.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TaskManager, type WorkerTask } from 'taskloom';
import { checkTarget, FigureSet, type Check, type ScenarioResult } from './lib/figures.js';
import { managerOptions, taskloomHandler } from './lib/pools.js';
import { goRound, PerRound, roundCount, type Visit } from './lib/rounds.js';
import { timed, type Scenario, type ScenarioContext } from './lib/scenario.js';
import { summarizePerRound } from './lib/stats.js';

const CREATE = 'createTask until committed';
const THROUGHPUT = 'no-op tasks, all at once';
const RECOVERY = 'recovery of 100,000 pending tasks';
const PLAIN = 'taskloom';
const JOURNALED = 'taskloom, journal';
const RECOVERED = 100_000;

/** Resolves after the journal's commit that follows a burst: it runs at the end of the burst's turn of the event loop. */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Creates `count` pending tasks on a manager that does not dispatch, until they are committed; the rate in tasks per second. */
async function createRate(folder: string, journaled: boolean, handler: WorkerTask, count: number, visit: number): Promise<number> {
  const journal = join(folder, `create-${visit}.db`);
  const manager = new TaskManager(managerOptions(1, { autoStart: false, ...(journaled ? { journal } : {}) }));
  try {
    const ms = await timed(async () => {
      for (let i = 0; i < count; i++) manager.createTask('noop', handler, { args: i });
      await nextTurn();
    });
    return (count / ms) * 1000;
  } finally {
    await manager.stop();
    rmSync(journal, { force: true });
  }
}

async function noopRate(manager: TaskManager, handler: WorkerTask, count: number): Promise<number> {
  const ms = await timed(async () => {
    for (let i = 0; i < count; i++) manager.createTask('noop', handler);
    await manager.onIdle();
  });
  // Untimed: each round starts from a journal of pending tasks only, as the first did.
  manager.compactJournal();
  return (count / ms) * 1000;
}

/** A journal of RECOVERED pending tasks, closed. */
async function makePendingJournal(path: string, handler: WorkerTask): Promise<void> {
  const manager = new TaskManager(managerOptions(1, { autoStart: false, journal: path }));
  for (let i = 0; i < RECOVERED; i++) manager.createTask(`task ${i}`, handler, { args: { item: i }, priority: i % 10 });
  // stop() leaves pending tasks pending in the journal.
  await manager.stop();
}

async function run(context: ScenarioContext): Promise<ScenarioResult> {
  const creates = context.quick ? 20_000 : 100_000;
  const tasks = context.quick ? 20_000 : 100_000;
  const rounds = roundCount(context);
  const figures = new FigureSet('journal');
  const handler = taskloomHandler('noop');
  const folder = mkdtempSync(join(tmpdir(), 'taskloom-bench-journal-'));
  const checks: Check[] = [];
  const plain = new TaskManager(managerOptions(context.poolSize));
  const journaled = new TaskManager(managerOptions(context.poolSize, { journal: join(folder, 'throughput.db') }));
  try {
    let visit = 0;
    const create = new PerRound();
    const createVisits: Visit[] = [PLAIN, JOURNALED].map((name) => ({
      name,
      async measure() {
        create.add(name, await createRate(folder, name === JOURNALED, handler, creates, visit++));
      },
    }));
    await goRound(context, 'journal: createTask, warm-up', 1, createVisits);
    create.clear();
    await goRound(context, 'journal: createTask', rounds, createVisits);

    const throughput = new PerRound();
    const throughputVisits: Visit[] = [
      { name: PLAIN, measure: async () => throughput.add(PLAIN, await noopRate(plain, handler, tasks)) },
      { name: JOURNALED, measure: async () => throughput.add(JOURNALED, await noopRate(journaled, handler, tasks)) },
    ];
    await goRound(context, 'journal: no-op throughput, warm-up', 1, throughputVisits);
    throughput.clear();
    await goRound(context, 'journal: no-op throughput', rounds, throughputVisits);

    context.log(`journal: making a journal of ${RECOVERED.toLocaleString('en-US')} pending tasks`);
    const pendingJournal = join(folder, 'pending.db');
    await makePendingJournal(pendingJournal, handler);
    const recovery = new PerRound();
    await goRound(context, 'journal: recovery', rounds, [
      {
        name: JOURNALED,
        async measure() {
          let manager: TaskManager | undefined;
          recovery.add(
            JOURNALED,
            await timed(() =>
              Promise.resolve((manager = new TaskManager(managerOptions(1, { autoStart: false, journal: pendingJournal })))),
            ),
          );
          const pending = manager?.getStats().pending;
          checks.push({
            check: 'every pending task is recovered',
            passed: pending === RECOVERED,
            detail: `${pending} of ${RECOVERED} pending after recovery`,
          });
          await manager?.stop();
        },
      },
    ]);

    for (const [name, values] of create.entries())
      figures.add(CREATE, name, 'tasks/s', 'higher', summarizePerRound(values), name === PLAIN ? null : PLAIN);
    for (const [name, values] of throughput.entries())
      figures.add(THROUGHPUT, name, 'tasks/s', 'higher', summarizePerRound(values), name === PLAIN ? null : PLAIN);
    for (const [name, values] of recovery.entries()) figures.add(RECOVERY, name, 'ms', 'lower', summarizePerRound(values), null);
  } finally {
    await Promise.all([plain.stop(), journaled.stop()]);
    rmSync(folder, { recursive: true, force: true });
  }

  return {
    figures: figures.figures(),
    targets: [
      checkTarget(
        'createTask with a journal: at least 50,000 tasks a second',
        `${JOURNALED} p50, ${CREATE}`,
        figures.median(CREATE, JOURNALED),
        50_000,
        'tasks/s',
        'higher',
      ),
      checkTarget(
        'no-op throughput with a journal at least 0.5x without',
        `${JOURNALED} p50 ÷ ${PLAIN} p50, ${THROUGHPUT}`,
        figures.compare(THROUGHPUT, JOURNALED, PLAIN),
        0.5,
        '×',
        'higher',
      ),
      checkTarget(
        'recovery of a journal with 100,000 pending tasks under 2 s',
        `${JOURNALED} p50, ${RECOVERY}`,
        figures.median(RECOVERY, JOURNALED),
        2_000,
        'ms',
        'lower',
      ),
    ],
    checks,
    notes: [
      `${CREATE}: ${creates.toLocaleString('en-US')} worker tasks (args: a number) created in one burst on a fresh manager that is not dispatching, ` +
        'timed until the end of the turn of the event loop, when the journal commits them in one transaction; without a journal, the same',
      `${THROUGHPUT}: ${tasks.toLocaleString('en-US')} no-op worker tasks created at once, then onIdle(), on two warm managers of pool size ${context.poolSize}, ` +
        'one with a journal (WAL, synchronous=NORMAL, one commit per turn of the event loop or every 4 ms under load); compactJournal() between rounds, untimed',
      `${RECOVERY}: new TaskManager({ journal }) on a journal of ${RECOVERED.toLocaleString('en-US')} pending tasks (args: an object, 10 priorities), ` +
        'until the constructor returns with every task queued; stop() after each, untimed, leaves them pending',
      `${rounds} rounds (after one not counted for createTask and throughput); p50 is the median of the rounds, spread their lowest to highest`,
    ],
  };
}

export const scenario: Scenario = { name: 'journal', title: 'Journal: createTask, throughput and recovery with a durable journal', run };
