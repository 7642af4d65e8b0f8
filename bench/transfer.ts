/**
 * Zero-copy transfer: a 64 MiB ArrayBuffer sent to a worker and back, moved both ways, through
 * taskloom (`transfer` in, `transfer(value, list)` out) and through Piscina (`transferList` in,
 * `Piscina.move()` out), against taskloom copying it both ways, in the same run, the rounds going
 * round them. Targets: taskloom with transfer at most 1.1x Piscina's time, and at least 10x
 * faster than taskloom without transfer. A fourth way, taskloom's worker path without the
 * manager, splits taskloom's moved trip into what moving costs and what the manager costs (see
 * lib/transfer-trips.ts); it has no target.
 *
 * A moved round trip takes tens of microseconds, as long as a no-op task: what it costs is the
 * messages, not the bytes. Two things outside either pool move it a lot on a shared machine, so
 * the scenario is built around them:
 * - Each 64 MiB buffer that arrives counts as 64 MiB of new memory to V8, which starts a full
 *   collection every few dozen trips (8 to 61 in 1,000 of Piscina's trips, in three runs). So
 *   each trip is timed on its own: a turn's p50 is a trip's cost, its p99 holds the pauses, and
 *   the mean spreads them over the trips. Each turn starts from a collected heap, and copying
 *   has a manager of its own, so that its garbage stays off the moved trips' workers.
 * - Where the kernel puts the pool's worker thread. Unpinned, a sequential trip took 15-25 µs
 *   here when the worker shared the main thread's CPU and 50-60 µs when it sat on the other,
 *   whose CPU had gone idle meanwhile. The kernel places each pool's worker on its own, and a
 *   placement can last a whole process: four runs of this scenario alone gave taskloom ÷ Piscina
 *   medians of 2.33x, 1.09x, 1.06x and 1.03x, each with rounds from about 0.4x to 4x. So the
 *   trips run in a child process pinned to one CPU with `taskset`, where every thread shares
 *   that CPU, as in the fast placement: placement cannot move the figure, and the work each pool
 *   does a trip, on either thread, is all in it. Where `taskset` cannot pin (not Linux, say), the
 *   trips run unpinned in the bench's own process, and a note says so.
 * There are 15 rounds (4 with --quick), each pool's 2,000 trips (300) back to back in its turn: the
 * first few hundred trips after the other pool's turn run 20-30% slower for both, so a turn is
 * long enough that its p50 is the steady trip, not the switch.
 * Copying takes a good part of a second a trip, so its turn is one trip.
 */
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { checkTarget, FigureSet, type ScenarioResult } from './lib/figures.js';
import { fixture } from './lib/paths.js';
import type { Scenario, ScenarioContext } from './lib/scenario.js';
import { summarizeRounds } from './lib/stats.js';
import { COPIED, measureTrips, MOVED, PISCINA, WORKER_PATH, type TripPlan, type TripTimes } from './lib/transfer-trips.js';

const METRIC = '64 MiB ArrayBuffer round trip';
/** The CPU the trips are pinned to. */
const CPU = '0';

/** Whether `taskset` can pin a process to CPU 0 here: Linux with util-linux, and CPU 0 allowed. */
function canPin(): boolean {
  if (process.platform !== 'linux') return false;
  const probe = spawnSync('taskset', ['-c', CPU, process.execPath, '-e', ''], { stdio: 'ignore' });
  return probe.status === 0;
}

/** Runs the trips in a child process pinned to one CPU; its progress lines go to `context.log`. */
function measurePinned(plan: TripPlan, context: ScenarioContext): Promise<TripTimes> {
  const args = ['-c', CPU, process.execPath, ...process.execArgv, fileURLToPath(fixture('transfer-process'))];
  const child = spawn('taskset', [...args, String(plan.trips), String(plan.rounds), String(plan.poolSize)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  /** The line the child is still writing, and its last few complete ones: what a failure is told with. */
  let partial = '';
  const lastLines: string[] = [];
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      context.log(`${line} (pinned to CPU ${CPU})`);
      lastLines.push(line);
      if (lastLines.length > 5) lastLines.shift();
    }
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code !== 0) {
        const said = [...lastLines, partial].join(' | ').trim();
        reject(new Error(`The pinned transfer process failed: exit code ${String(code)}, signal ${String(signal)}; stderr ended: ${said}`));
        return;
      }
      resolve(JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as TripTimes);
    });
  });
}

async function run(context: ScenarioContext): Promise<ScenarioResult> {
  const plan: TripPlan = { trips: context.quick ? 300 : 2000, rounds: context.quick ? 4 : 15, poolSize: context.poolSize };
  const figures = new FigureSet('transfer');
  const pinned = canPin();
  const times = pinned ? await measurePinned(plan, context) : await measureTrips(plan, (line) => context.log(line));
  for (const [subject, rounds] of times) figures.add(METRIC, subject, 'ms', 'lower', summarizeRounds(rounds), PISCINA);
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
      `${plan.trips} round trips of one 64 MiB ArrayBuffer a turn, one after another (1 copied); ${plan.rounds} rounds, each going round the four ways in turn from a different start; pool size ${plan.poolSize}`,
      `${WORKER_PATH}: the pool a manager starts, with its options, loading taskloom's worker entry, given the request and transfer list a manager's run sends; it leaves out only the manager's own work on the main thread (createTask, the record, dispatch, the end and the snapshot waitFor resolves with)`,
      pinned
        ? `measured in a child process pinned to CPU ${CPU} with taskset: the pools' worker threads share the main thread's CPU, so where the kernel puts them cannot move the figures`
        : `measured in this process, unpinned (taskset could not pin a process to CPU ${CPU} here): a sequential trip takes 15-25 µs when the kernel puts the pool's worker on the main thread's CPU and 50-60 µs when not, and each pool's worker is placed on its own, so the rounds and the ratio may spread widely`,
      `each trip is timed on its own: p50 and p99 are the medians of the rounds' own, and the mean includes the collections that incoming 64 MiB buffers start; each turn starts from a collected heap`,
    ],
  };
}

export const scenario: Scenario = { name: 'transfer', title: 'Zero-copy transfer of a 64 MiB ArrayBuffer', run };
