/**
 * Property-based tests of batch dispatch, on real workers: random interleavings of create (fast,
 * cooperative or busy tasks, some with time limits and retries), cancel, setPriority, completing
 * and failing tasks, and time passing, with batches of random sizes. Whatever the interleaving,
 * every task's events come in order and end in exactly one final event, never more tasks run
 * than there are threads, the stats always agree with the events, and no task is lost: cancels
 * of tasks waiting in a batch and of running ones, and hard cancels that end a worker mid-batch,
 * included. Workers run concurrently with the test, so runs differ in timing; the invariants
 * must hold in every one.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Task, TaskManager, TaskState } from 'taskloom';
import { createManager, fixture } from './helpers.js';

type Mode = 'fast' | 'gated' | 'busy';

interface Spec {
  readonly priority: number;
  readonly mode: Mode;
  readonly timeoutMs: number | undefined;
  readonly attempts: number;
}

type Op =
  | { readonly kind: 'create'; readonly specs: readonly Spec[] }
  | { readonly kind: 'cancel'; readonly pick: number }
  | { readonly kind: 'setPriority'; readonly pick: number; readonly priority: number }
  | { readonly kind: 'release'; readonly pick: number; readonly fail: boolean }
  | { readonly kind: 'wait'; readonly ms: number };

const priority = fc.integer({ min: -2, max: 2 });
const pick = fc.nat({ max: 1000 });
const mode: fc.Arbitrary<Mode> = fc.oneof(
  { weight: 8, arbitrary: fc.constant('fast' as const) },
  { weight: 3, arbitrary: fc.constant('gated' as const) },
  { weight: 1, arbitrary: fc.constant('busy' as const) },
);
const spec: fc.Arbitrary<Spec> = fc.record({
  priority,
  mode,
  timeoutMs: fc.option(fc.constantFrom(15, 40), { nil: undefined, freq: 4 }),
  attempts: fc.constantFrom(1, 1, 2),
});
const op: fc.Arbitrary<Op> = fc.oneof(
  // One task, or a burst in one tick: more pending than threads, so batches form.
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('create' as const), specs: fc.array(spec, { minLength: 1, maxLength: 1 }) }) },
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant('create' as const), specs: fc.array(spec, { minLength: 2, maxLength: 24, size: 'max' }) }),
  },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('cancel' as const), pick }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('setPriority' as const), pick, priority }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('release' as const), pick, fail: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('wait' as const), ms: fc.constantFrom(0, 2, 10) }) },
);

const FINAL = new Set<string>(['completed', 'failed', 'cancelled']);
const MAX_TASKS = 1024;

interface Model {
  state: TaskState;
  readonly events: string[];
  starts: number;
}

/** What went wrong, if anything, as readable lines. */
class Violations {
  readonly lines: string[] = [];

  check(condition: boolean, line: () => string): void {
    if (!condition) this.lines.push(line());
  }
}

function watch(manager: TaskManager, model: Map<string, Model>, threads: number, violations: Violations): void {
  let running = 0;
  const on = (
    event: 'created' | 'started' | 'retrying' | 'completed' | 'failed' | 'cancelled',
    apply: (me: Model, task: Task) => void,
  ): void => {
    manager.on(event, (task) => {
      let me = model.get(task.id);
      if (me === undefined) {
        me = { state: 'pending', events: [], starts: 0 };
        model.set(task.id, me);
      }
      violations.check(!me.events.some((e) => FINAL.has(e)), () => `${task.name}: ${event} after ${me.events.join(', ')}`);
      me.events.push(event);
      apply(me, task);
    });
  };
  on('created', (me) => violations.check(me.events.length === 1, () => `created is not the first event: ${me.events.join(', ')}`));
  on('started', (me, task) => {
    violations.check(me.state === 'pending', () => `${task.name} started while ${me.state}`);
    violations.check(task.startedAt !== undefined && task.attempts === me.starts + 1, () => `${task.name} started without its start`);
    me.starts++;
    me.state = 'running';
    running++;
    violations.check(running <= threads, () => `${running} running with ${threads} threads`);
  });
  on('retrying', (me, task) => {
    violations.check(me.state === 'running', () => `${task.name} retried while ${me.state}`);
    me.state = 'pending';
    running--;
  });
  for (const event of ['completed', 'failed', 'cancelled'] as const) {
    on(event, (me, task) => {
      violations.check(event === 'cancelled' || me.state === 'running', () => `${task.name} ${event} while ${me.state}`);
      if (me.state === 'running') running--;
      me.state = event;
    });
  }
}

const settle = (ms: number): Promise<void> => new Promise((resolve) => (ms === 0 ? setImmediate(resolve) : setTimeout(resolve, ms)));

describe('batch dispatch invariants', () => {
  it('hold under random interleavings on real workers', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 2 }),
        fc.integer({ min: 2, max: 16 }),
        fc.array(op, { minLength: 5, maxLength: 30, size: 'max' }),
        async (threads, maxBatchSize, ops) => {
          const manager = createManager({
            autoStart: true,
            maxConcurrentTasks: threads,
            maxBatchSize,
            batchBudgetMs: 5,
            cancelGraceMs: 20,
          });
          const control = new Int32Array(new SharedArrayBuffer(4 * MAX_TASKS));
          const runs = new Int32Array(new SharedArrayBuffer(4 * MAX_TASKS));
          const model = new Map<string, Model>();
          const violations = new Violations();
          const ids: string[] = [];
          const create = ({ priority: p, mode: m, timeoutMs, attempts }: Spec): void => {
            const id = ids.length;
            const options = { priority: p, args: { id, mode: m, control, runs }, retry: { attempts, retryOnTimeout: true } };
            ids.push(manager.createTask(`t${id}`, fixture('scripted'), timeoutMs === undefined ? options : { ...options, timeoutMs }));
          };
          /** A live task if there is one (cancels and releases are about them), else any. */
          const pickLive = (n: number): number => {
            const live = ids.flatMap((id, index) => (['pending', 'running'].includes(model.get(id)?.state ?? '') ? [index] : []));
            return live.length === 0 ? n % ids.length : (live[n % live.length] as number);
          };
          watch(manager, model, threads, violations);
          // Fast tasks first, so that the handler has an estimate and the tasks below are batched.
          for (let i = 0; i < 12; i++) create({ priority: 0, mode: 'fast', timeoutMs: undefined, attempts: 1 });
          await manager.onIdle();

          for (const step of ops) {
            switch (step.kind) {
              case 'create':
                for (const each of step.specs) create(each);
                break;
              case 'cancel': {
                const id = ids[pickLive(step.pick)]!;
                const wasLive = ['pending', 'running'].includes(model.get(id)!.state);
                const cancelled = manager.cancelTask(id);
                // It may have finished already on its worker, the main thread learning so as it cancels.
                const hadFinished = ['completed', 'failed'].includes(manager.getTask(id)!.state);
                violations.check(cancelled ? wasLive : !wasLive || hadFinished, () => `cancelTask(${id}) disagreed with the events`);
                violations.check(
                  manager.getTask(id)!.state !== 'pending' && manager.getTask(id)!.state !== 'running',
                  () => `${id} live after cancelTask`,
                );
                break;
              }
              case 'setPriority': {
                const id = ids[step.pick % ids.length]!;
                // True only for a pending task; a pending one handed to a worker in a batch refuses it.
                if (manager.setPriority(id, step.priority))
                  violations.check(model.get(id)!.state === 'pending', () => `setPriority(${id}) on a live task`);
                else
                  violations.check(
                    model.get(id)!.state !== 'pending' || manager.getTask(id)!.state === 'pending',
                    () => `setPriority(${id})`,
                  );
                break;
              }
              case 'release': {
                const index = pickLive(step.pick);
                Atomics.store(control, index, step.fail ? 2 : 1);
                Atomics.notify(control, index);
                break;
              }
              case 'wait':
                await settle(step.ms);
                break;
            }
            await settle(0);
            const stats = manager.getStats();
            const counted = { pending: 0, running: 0, completed: 0, failed: 0, cancelled: 0 };
            for (const entry of model.values()) counted[entry.state]++;
            expect(stats).toMatchObject({ total: ids.length, ...counted });
          }

          // Every task may now finish: the busy ones stop spinning, the gated ones return.
          for (let i = 0; i < ids.length; i++) if (Atomics.load(control, i) === 0) Atomics.store(control, i, 1);
          await manager.onIdle();
          await manager.stop();
          expect(violations.lines).toEqual([]);
          for (const [index, id] of ids.entries()) {
            const entry = model.get(id)!;
            const task = manager.getTask(id)!;
            expect(
              entry.events.filter((e) => FINAL.has(e)),
              `final events of t${index}: ${entry.events.join(', ')}`,
            ).toHaveLength(1);
            expect(task.state).toBe(entry.state);
            expect(task.attempts).toBe(entry.starts);
            // A task that completed ran; one that never started ran once at most, when it had
            // finished in a batch whose worker a hard cancel then ended. (A task started alone
            // may time out or be cancelled before its worker, starting up, ever ran it.)
            if (task.state === 'completed') {
              expect(task.result).toBe(index);
              expect(Atomics.load(runs, index)).toBeGreaterThanOrEqual(1);
            }
            if (entry.starts === 0) expect(Atomics.load(runs, index)).toBeLessThanOrEqual(1);
          }
          const stats = manager.getStats();
          expect(stats.pending + stats.running).toBe(0);
          expect(stats.completed + stats.failed + stats.cancelled).toBe(ids.length);
        },
      ),
      { numRuns: 30 },
    );
  }, 300_000);
});
