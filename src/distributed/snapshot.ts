/**
 * A distributed task as callers see it, read from its BullMQ job hash (and taskloom's fields
 * in it), whichever process created or ran it.
 */
import { TaskState, type Task, type TaskFailure } from '../shared/task.js';
import { fromBullPriority } from './priority.js';

/** The start of a cancelled job's failedReason in BullMQ: it failed there, it is CANCELLED here. */
export const CANCELLED_REASON = 'TASKLOOM_TASK_CANCELLED';

/** A distributed task: a Task with the process that ran it. */
export type DistributedTask<Result = unknown> = Task<Result> & { readonly host: string | undefined };

/** BullMQ's job states, and the taskloom state each one is. */
export function stateOfBullState(bullState: string): TaskState | undefined {
  switch (bullState) {
    case 'active':
      return TaskState.RUNNING;
    case 'completed':
      return TaskState.COMPLETED;
    case 'failed':
      return TaskState.FAILED;
    case 'waiting':
    case 'wait':
    case 'prioritized':
    case 'delayed':
    case 'paused':
    case 'waiting-children':
      return TaskState.PENDING;
    default:
      return undefined;
  }
}

/**
 * The task held in a job hash. `bullState` is where BullMQ has the job; an accepted cancel
 * makes the task CANCELLED whatever BullMQ says, and a job that failed with the cancel
 * reason was cancelled while it ran.
 */
export function toTask(id: string, hash: Record<string, string>, bullState: string): DistributedTask | undefined {
  const isCancelled = hash['tlCancel'] !== undefined || hash['failedReason']?.startsWith(CANCELLED_REASON) === true;
  const state = isCancelled ? TaskState.CANCELLED : stateOfBullState(bullState);
  return state === undefined ? undefined : snapshot(id, hash, state);
}

/** The task held in a job hash, in the state given. */
export function snapshot(id: string, hash: Record<string, string>, state: TaskState): DistributedTask {
  const errors = (parseJson(hash['tlErrors']) as string[] | undefined) ?? [];
  const failed = state === TaskState.FAILED;
  const reason = hash['failedReason'];
  const failure: TaskFailure | undefined = failed
    ? ((parseJson(hash['tlFailure']) as TaskFailure | undefined) ?? { name: 'Error', message: reason ?? 'the task failed' })
    : undefined;
  const isFinal = state === TaskState.COMPLETED || failed || state === TaskState.CANCELLED;
  const cancelledAt = toDate(hash['tlCancel']);
  const progress = parseJson(hash['progress']);
  return Object.freeze({
    id,
    name: hash['name'] ?? '',
    state,
    priority: hash['priority'] === undefined ? 0 : fromBullPriority(Number(hash['priority'])),
    progress: typeof progress === 'number' ? progress : 0,
    result: state === TaskState.COMPLETED ? parseJson(hash['returnvalue']) : undefined,
    error: failed ? (errors.at(-1) ?? reason ?? failure?.message) : undefined,
    failure,
    attempts: Number(hash['ats'] ?? 0),
    errors: Object.freeze(errors),
    parentId: undefined,
    createdAt: toDate(hash['timestamp']) ?? new Date(0),
    startedAt: toDate(hash['processedOn']),
    completedAt: isFinal ? (toDate(hash['finishedOn']) ?? cancelledAt) : undefined,
    host: hash['pb'],
  });
}

/** The same task in another state, as an event reports it: a 'started' task is running even if it has ended since. */
export function inState(task: DistributedTask, state: TaskState): DistributedTask {
  if (task.state === state) return task;
  const isFinal = state === TaskState.COMPLETED || state === TaskState.FAILED || state === TaskState.CANCELLED;
  return Object.freeze({
    ...task,
    state,
    result: state === TaskState.COMPLETED ? task.result : undefined,
    error: state === TaskState.FAILED ? task.error : undefined,
    failure: state === TaskState.FAILED ? task.failure : undefined,
    completedAt: isFinal ? (task.completedAt ?? new Date()) : undefined,
  });
}

function parseJson(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function toDate(value: string | undefined): Date | undefined {
  if (value === undefined || value === '') return undefined;
  const time = Number(value);
  return Number.isFinite(time) ? new Date(time) : undefined;
}
