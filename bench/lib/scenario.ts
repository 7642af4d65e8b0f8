/** The contract between the runner and the scenario files. */
import v8 from 'node:v8';
import vm from 'node:vm';
import type { TaskloomBuild } from './builds.js';
import type { ScenarioResult } from './figures.js';

export interface ScenarioContext {
  /** Small sizes, so that every scenario together runs in well under a minute. */
  readonly quick: boolean;
  /** Threads per pool: os.availableParallelism(), unless a scenario varies it. */
  readonly poolSize: number;
  /**
   * Another build of taskloom to measure side by side with the current one (`--baseline`), by
   * the scenarios that compare builds: latency and throughput.
   */
  readonly baseline: TaskloomBuild | undefined;
  /** Prints a progress line (to stderr, so that stdout holds the table only). */
  log(line: string): void;
}

export interface Scenario {
  /** The name `--only` selects, and the key of the scenario in latest.json. */
  readonly name: string;
  readonly title: string;
  run(context: ScenarioContext): Promise<ScenarioResult>;
}

/** Resolves after `ms`: for letting a pool settle between runs, never for synchronising with one. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Times `action` in milliseconds on the main thread's clock. */
export async function timed(action: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await action();
  return performance.now() - start;
}

let gc: (() => void) | undefined;

/**
 * Collects the main thread's garbage now, outside any timing: a scenario whose subjects leave
 * very different amounts of it (copying 64 MiB buffers, say) calls this before each turn, so
 * that no subject pays for the collection of the one before it. The flag that lets a script
 * call the collector is set on first use.
 */
export function collectGarbage(): void {
  if (gc === undefined) {
    v8.setFlagsFromString('--expose-gc');
    gc = vm.runInNewContext('gc') as () => void;
  }
  gc();
}
