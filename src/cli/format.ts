/**
 * Small text helpers shared by the live view, the summary table and the log lines. Widths are
 * counted in terminal columns, by string-width, so that CJK names and emoji line up.
 */
import stringWidth from 'string-width';

/** A clock-style duration for the live view: `0:07`, `12:34`, `1:02:03`. */
export function formatClock(ms: number): string {
  const totalSeconds = Math.max(0, Math.floor(ms / 1000));
  const hours = Math.floor(totalSeconds / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const seconds = String(totalSeconds % 60).padStart(2, '0');
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, '0')}:${seconds}` : `${minutes}:${seconds}`;
}

/** A precise duration for the summary: `850ms`, `4.21s`, `2m 03s`, `1h 02m`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(2)}s`;
  const totalSeconds = Math.round(ms / 1000);
  if (totalSeconds < 3600) return `${Math.floor(totalSeconds / 60)}m ${String(totalSeconds % 60).padStart(2, '0')}s`;
  return `${Math.floor(totalSeconds / 3600)}h ${String(Math.floor((totalSeconds % 3600) / 60)).padStart(2, '0')}m`;
}

/** Printable ASCII: one column a character, no need to ask string-width. */
const PLAIN = /^[\x20-\x7e]*$/;
/** Short texts whose width was measured: a summary repeats its state marks on every row. */
const measured = new Map<string, number>();
const MAX_MEASURED = 1024;
const MAX_MEASURED_LENGTH = 64;

/** The columns `text` takes on a terminal: 2 for a CJK character or an emoji, 0 for a combining mark. */
function displayWidth(text: string): number {
  if (PLAIN.test(text)) return text.length;
  let width = measured.get(text);
  if (width !== undefined) return width;
  width = stringWidth(text);
  if (text.length <= MAX_MEASURED_LENGTH) {
    if (measured.size >= MAX_MEASURED) measured.clear();
    measured.set(text, width);
  }
  return width;
}

/**
 * The display width of the widest of `texts`, and at least `least`. A loop, not
 * `Math.max(...texts)`: a run may have more jobs than a call can take arguments.
 */
export function widest(texts: Iterable<string>, least: number): number {
  let width = least;
  for (const text of texts) width = Math.max(width, displayWidth(text));
  return width;
}

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/** Cuts `text` to at most `width` columns, ending with an ellipsis when it was cut. */
export function truncate(text: string, width: number): string {
  if (width <= 0) return '';
  if (PLAIN.test(text)) return text.length <= width ? text : cut(text, width - 1);
  // No character takes more than two columns a UTF-16 unit, so this measures a bounded text.
  if (text.length <= 2 * width && displayWidth(text) <= width) return text;
  // Too wide: only the graphemes up to the width are read, however long the text.
  let used = 0;
  let end: number | undefined;
  for (const { segment, index } of graphemes.segment(text)) {
    used += stringWidth(segment);
    // The cut falls before the first grapheme that leaves no column for the ellipsis.
    if (used > width - 1) end ??= index;
    if (used > width) return cut(text, end ?? index);
  }
  return text;
}

/** The first `length` UTF-16 units of `text` and an ellipsis, or the ellipsis alone. */
function cut(text: string, length: number): string {
  return length <= 0 ? '…' : `${text.slice(0, length).trimEnd()}…`;
}

/** Pads or cuts `text` to exactly `width` columns. */
export function fit(text: string, width: number): string {
  const shown = truncate(text, width);
  return shown + ' '.repeat(Math.max(0, width - displayWidth(shown)));
}

/** A task result on one line: strings as they are, anything else as compact JSON. */
export function describeValue(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value.replace(/\s+/g, ' ');
  try {
    // Undefined for a value JSON has no text for, whatever the declared type says.
    const json = JSON.stringify(value, jsonReplacer) as string | undefined;
    if (json !== undefined) return json;
  } catch {
    // A circular value: JSON cannot hold it.
  }
  return Object.prototype.toString.call(value);
}

/**
 * A JSON.stringify replacer for task results, which may be anything structured cloning
 * carries: bigints become strings, Maps objects, Sets arrays, and typed arrays plain arrays.
 */
export function jsonReplacer(this: unknown, _key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Map) return Object.fromEntries(value);
  if (value instanceof Set) return [...value];
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) return Array.from(value as unknown as ArrayLike<number>);
  return value;
}
