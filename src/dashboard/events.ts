/**
 * The page's live updates, over Server-Sent Events. Each stream has its own view of the table (a
 * filter and a page, from its query string); one timer serves every stream. A stream gets a frame
 * when a task has changed since its last one, and at least once a second (for the charts and the
 * running tasks' durations), but never more than 10 a second: changes in between are coalesced.
 * A frame holds the stats, the rows of the stream's page and new points of the charts; never
 * the whole table. Streams with the same view share the work of a frame, and when frames get
 * costly (a very large table) they are spaced out further, so that the dashboard never takes more
 * than about a tenth of the main thread.
 *
 * Frames are `data:` messages of JSON: `{ stats, rows, matching, next, series }`. When the
 * dashboard closes, each stream gets an `end` event and is closed.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { queryRows, toRow, type RowQuery } from './rows.js';
import type { DashboardSource } from './source.js';

/** At most 10 frames a second on each stream. */
export const MIN_FRAME_INTERVAL_MS = 100;
/** A frame at least this often, changes or not. */
const MAX_FRAME_INTERVAL_MS = 1000;
/** The charts: one point a second, for the last 5 minutes. */
const SAMPLE_INTERVAL_MS = 1000;
const SERIES_LENGTH = 300;
/** Frames may take up to a tenth of the time between them. */
const FRAME_BUDGET = 0.1;

interface Stream {
  readonly response: ServerResponse;
  readonly query: RowQuery;
  readonly view: string;
  sentVersion: number;
  sentAt: number;
  /** How many chart points it has been sent. */
  sentPoints: number;
}

/** A chart point: time (epoch seconds), tasks finished per second, utilization (0 to 1). */
type Point = readonly [time: number, throughput: number, utilization: number];

export class EventStreams {
  readonly #source: DashboardSource;
  readonly #streams = new Set<Stream>();
  readonly #points: Point[] = [];
  /** Points sampled since the start, some of them dropped from #points since. */
  #pointCount = 0;
  #lastSample: { at: number; finished: number; busyMs: number };
  readonly #sampler: NodeJS.Timeout;
  #timer: NodeJS.Timeout | undefined;
  #interval = MIN_FRAME_INTERVAL_MS;
  #isClosed = false;

  constructor(source: DashboardSource) {
    this.#source = source;
    this.#lastSample = this.#reading(performance.now());
    this.#sampler = setInterval(() => this.#sample(), SAMPLE_INTERVAL_MS).unref();
  }

  /** Starts a stream on `response`, with a first frame at once. */
  open(request: IncomingMessage, response: ServerResponse, query: RowQuery): void {
    response.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
    });
    response.write('retry: 2000\n\n');
    const stream: Stream = { response, query, view: JSON.stringify(query), sentVersion: -1, sentAt: 0, sentPoints: 0 };
    if (this.#isClosed) {
      this.#end(stream);
      return;
    }
    this.#streams.add(stream);
    request.on('close', () => this.#streams.delete(stream));
    this.#send(stream, new Map(), performance.now());
    this.#schedule();
  }

  /** Sends each stream a last frame and its `end` event, and closes it. */
  close(): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    clearInterval(this.#sampler);
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    const pages = new Map<string, string>();
    const now = performance.now();
    for (const stream of this.#streams) {
      this.#send(stream, pages, now);
      this.#end(stream);
    }
    this.#streams.clear();
  }

  #end(stream: Stream): void {
    stream.response.end('event: end\ndata: {}\n\n');
  }

  #schedule(): void {
    if (this.#timer !== undefined || this.#isClosed || this.#streams.size === 0) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#tick();
    }, this.#interval).unref();
  }

  #tick(): void {
    const started = performance.now();
    const { version } = this.#source.table;
    const pages = new Map<string, string>();
    for (const stream of this.#streams) {
      const since = started - stream.sentAt;
      const isDue = stream.sentVersion !== version || stream.sentPoints < this.#pointCount || since >= MAX_FRAME_INTERVAL_MS;
      // A stream whose client reads slowly skips frames until it has caught up.
      if (isDue && since >= MIN_FRAME_INTERVAL_MS && !stream.response.writableNeedDrain) this.#send(stream, pages, started);
    }
    const cost = performance.now() - started;
    this.#interval = Math.min(MAX_FRAME_INTERVAL_MS, Math.max(MIN_FRAME_INTERVAL_MS, cost / FRAME_BUDGET));
    this.#schedule();
  }

  /** Sends one frame; `pages` caches the JSON of each view's page within a tick. */
  #send(stream: Stream, pages: Map<string, string>, now: number): void {
    const { table } = this.#source;
    let page = pages.get(stream.view);
    if (page === undefined) {
      const found = queryRows(table.values(), stream.query);
      const wallNow = Date.now();
      page = JSON.stringify({
        stats: table.stats(),
        rows: found.rows.map((record) => toRow(record, wallNow)),
        matching: found.matching,
        next: found.next,
      });
      pages.set(stream.view, page);
    }
    const newPoints = this.#pointsSince(stream.sentPoints);
    stream.sentPoints = this.#pointCount;
    stream.sentVersion = table.version;
    stream.sentAt = now;
    stream.response.write(`data: ${page.slice(0, -1)},"series":${JSON.stringify(newPoints)}}\n\n`);
  }

  #pointsSince(count: number): readonly Point[] {
    const missed = this.#pointCount - count;
    return missed <= 0 ? [] : this.#points.slice(-Math.min(missed, this.#points.length));
  }

  #reading(now: number): { at: number; finished: number; busyMs: number } {
    const { counts, timings } = this.#source.table;
    return { at: now, finished: counts.completed + counts.failed + counts.cancelled, busyMs: timings.busyMs(now) };
  }

  #sample(): void {
    const reading = this.#reading(performance.now());
    const last = this.#lastSample;
    const elapsed = reading.at - last.at;
    if (elapsed <= 0) return;
    const { slots } = this.#source.table.timings;
    const throughput = ((reading.finished - last.finished) * 1000) / elapsed;
    const utilization = Math.min(1, Math.max(0, (reading.busyMs - last.busyMs) / (elapsed * slots)));
    this.#points.push([Date.now() / 1000, round(throughput, 1), round(utilization, 3)]);
    if (this.#points.length > SERIES_LENGTH) this.#points.shift();
    this.#pointCount++;
    this.#lastSample = reading;
  }
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
