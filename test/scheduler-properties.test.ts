/**
 * Property-based tests of the scheduler: random interleavings of create, cancel, setPriority,
 * complete and fail must keep its invariants. Handlers run on the main thread and finish only
 * when the test says so, so that every interleaving is reproducible.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TaskManager, type Task } from 'taskloom';

type Op =
  | { readonly kind: 'create'; readonly priority: number }
  | { readonly kind: 'cancel'; readonly pick: number }
  | { readonly kind: 'setPriority'; readonly pick: number; readonly priority: number }
  | { readonly kind: 'complete'; readonly pick: number }
  | { readonly kind: 'fail'; readonly pick: number };

const priority = fc.integer({ min: -2, max: 2 });
const pick = fc.nat({ max: 1000 });
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('create' as const), priority }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('cancel' as const), pick }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('setPriority' as const), pick, priority }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('complete' as const), pick }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('fail' as const), pick }) },
);

interface Model {
  readonly seq: number;
  priority: number;
  state: Task['state'];
  finalEvents: number;
}

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('scheduler invariants', () => {
  it('hold under random interleavings', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 3 }), fc.array(op, { maxLength: 60 }), async (maxConcurrentTasks, ops) => {
        const manager = new TaskManager({ maxConcurrentTasks, autoStart: true, logger: false });
        const model = new Map<string, Model>();
        const controls = new Map<string, { resolve: (value: string) => void; reject: (error: Error) => void }>();
        const violations: string[] = [];
        let running = 0;

        manager.on('started', (task) => {
          const me = model.get(task.id)!;
          for (const [id, other] of model) {
            if (id === task.id || other.state !== 'pending') continue;
            if (other.priority > me.priority || (other.priority === me.priority && other.seq < me.seq)) {
              violations.push(`started ${me.seq} (priority ${me.priority}) before ${other.seq} (priority ${other.priority})`);
            }
          }
          me.state = 'running';
          running++;
          if (running > maxConcurrentTasks) violations.push(`${running} running with a limit of ${maxConcurrentTasks}`);
        });
        for (const event of ['completed', 'failed', 'cancelled'] as const) {
          manager.on(event, (task) => {
            const me = model.get(task.id)!;
            if (me.state === 'running') running--;
            me.state = event;
            me.finalEvents++;
          });
        }

        const handler = (task: { id: string }): Promise<string> =>
          new Promise((resolve, reject) => controls.set(task.id, { resolve, reject }));
        const ids: string[] = [];
        const runningIds = (): string[] => ids.filter((id) => model.get(id)!.state === 'running' && controls.has(id));

        for (const step of ops) {
          switch (step.kind) {
            case 'create': {
              const id = manager.createTask(`t${ids.length}`, handler, { priority: step.priority });
              model.set(id, { seq: ids.length, priority: step.priority, state: 'pending', finalEvents: 0 });
              ids.push(id);
              break;
            }
            case 'cancel': {
              if (ids.length === 0) break;
              const id = ids[step.pick % ids.length]!;
              const wasLive = ['pending', 'running'].includes(model.get(id)!.state);
              if (manager.cancelTask(id) !== wasLive) violations.push(`cancelTask(${id}) disagreed with the model`);
              break;
            }
            case 'setPriority': {
              if (ids.length === 0) break;
              const id = ids[step.pick % ids.length]!;
              const entry = model.get(id)!;
              const changed = manager.setPriority(id, step.priority);
              if (changed !== (entry.state === 'pending')) violations.push(`setPriority(${id}) disagreed with the model`);
              if (changed) entry.priority = step.priority;
              break;
            }
            case 'complete':
            case 'fail': {
              const live = runningIds();
              if (live.length === 0) break;
              const id = live[step.pick % live.length]!;
              const control = controls.get(id)!;
              controls.delete(id);
              if (step.kind === 'complete') control.resolve('ok');
              else control.reject(new Error('scripted failure'));
              break;
            }
          }
          await settle();
          const stats = manager.getStats();
          const counted = { pending: 0, running: 0, completed: 0, failed: 0, cancelled: 0 };
          for (const entry of model.values()) counted[entry.state]++;
          expect(stats).toMatchObject({ total: ids.length, ...counted });
        }

        const stopping = manager.stop();
        // Handlers that finish after their task was cancelled must change nothing.
        for (const control of controls.values()) control.resolve('too late');
        await stopping;
        expect(violations).toEqual([]);
        for (const [id, entry] of model) {
          expect(entry.finalEvents, `final events of ${id}`).toBe(1);
          expect(['completed', 'failed', 'cancelled']).toContain(manager.getTask(id)!.state);
        }
        const stats = manager.getStats();
        expect(stats.pending + stats.running).toBe(0);
        expect(stats.completed + stats.failed + stats.cancelled).toBe(ids.length);
      }),
      { numRuns: 150 },
    );
  });
});
