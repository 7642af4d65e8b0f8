/**
 * Helpers of the dashboard tests: tasks the test holds and releases, requests with the token,
 * a reader of the event stream, and Debian's chromium driven by playwright-core.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import type { Dashboard, TaskContext } from 'taskloom';

/** A main-thread handler that runs until the test releases its task, or until it is cancelled. */
export class Holds {
  readonly #waiting = new Map<string, { task: TaskContext; release: () => void }>();

  readonly handler = (task: TaskContext): Promise<string> =>
    new Promise((resolve, reject) => {
      this.#waiting.set(task.id, { task, release: () => resolve(`${task.name} done`) });
      task.signal.addEventListener('abort', () => reject(task.signal.reason), { once: true });
    });

  /** Sets a held task's progress, as its handler would. */
  progress(id: string, value: number): void {
    this.#get(id).task.progress = value;
  }

  /** Lets a held task complete. */
  release(id: string): void {
    this.#get(id).release();
    this.#waiting.delete(id);
  }

  #get(id: string): { task: TaskContext; release: () => void } {
    const held = this.#waiting.get(id);
    if (held === undefined) throw new Error(`task ${id} is not running`);
    return held;
  }
}

/** The dashboard's origin, and requests that carry its token as a script sends it. */
export function client(dashboard: Pick<Dashboard, 'url' | 'token'>): {
  origin: string;
  get: (path: string, init?: RequestInit) => Promise<Response>;
  post: (path: string, body?: unknown, init?: RequestInit) => Promise<Response>;
} {
  const { origin } = new URL(dashboard.url);
  const authorization = { Authorization: `Bearer ${dashboard.token}` };
  return {
    origin,
    get: (path, init = {}) => fetch(origin + path, { ...init, headers: { ...authorization, ...(init.headers as Record<string, string>) } }),
    post: (path, body, init = {}) =>
      fetch(origin + path, {
        method: 'POST',
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        ...init,
        headers: {
          ...authorization,
          ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
          ...(init.headers as Record<string, string>),
        },
      }),
  };
}

/** One frame of the event stream, as the page receives it. */
export interface Frame {
  readonly stats: Record<string, unknown> & { total: number; pending: number; running: number };
  readonly rows: readonly { id: string; name: string; state: string; priority: number; progress: number }[];
  readonly matching: number;
  readonly next: string | null;
  readonly series: readonly (readonly [number, number, number])[];
}

/** Reads the event stream at `path` (with the token) and hands each frame to `onFrame` until it returns true. */
export async function readFrames(
  dashboard: Pick<Dashboard, 'url' | 'token'>,
  path: string,
  onFrame: (frame: Frame, at: number) => boolean,
): Promise<void> {
  const controller = new AbortController();
  const response = await client(dashboard).get(path, { signal: controller.signal });
  if (response.status !== 200 || response.body === null) throw new Error(`the event stream answered ${response.status}`);
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) !== -1) {
        const message = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = message.split('\n').find((line) => line.startsWith('data: '));
        if (data === undefined || message.includes('event: end')) continue;
        if (onFrame(JSON.parse(data.slice('data: '.length)) as Frame, performance.now())) return;
      }
    }
    throw new Error('the event stream ended first');
  } finally {
    controller.abort();
  }
}

/** Debian's chromium, headless, in a fresh profile that is removed on close. */
export async function launchBrowser(): Promise<{ context: BrowserContext; close: () => Promise<void> }> {
  const profile = await mkdtemp(join(tmpdir(), 'taskloom-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    context,
    close: async () => {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}
