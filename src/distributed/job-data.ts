/**
 * What a distributed task's BullMQ job carries: its handler, args, time limit and retry
 * policy, as JSON (Infinity, which JSON cannot hold, travels as null).
 */
import type { RetryPolicy } from '../main/retry.js';

export interface JobData {
  /** A file: URL, or a package specifier that each host resolves for itself. */
  readonly module: string;
  readonly exportName: string;
  /** Absent when the task has no args. */
  readonly args?: unknown;
  /** null for no limit. */
  readonly timeoutMs: number | null;
  readonly retry: Omit<RetryPolicy, 'maxDelayMs'> & { readonly maxDelayMs: number | null };
}

export function encodeJobData(module: string, exportName: string, args: unknown, timeoutMs: number, retry: RetryPolicy): JobData {
  return {
    module,
    exportName,
    ...(args === undefined ? {} : { args }),
    timeoutMs: Number.isFinite(timeoutMs) ? timeoutMs : null,
    retry: { ...retry, maxDelayMs: Number.isFinite(retry.maxDelayMs) ? retry.maxDelayMs : null },
  };
}

export function decodeRetry(data: JobData): RetryPolicy {
  return { ...data.retry, maxDelayMs: data.retry.maxDelayMs ?? Infinity };
}
