/**
 * Reading a search endpoint's answer: a bounded text read, then SearXNG-style JSON,
 * `{ results: [{ title, url, content }] }`, turned into hits.
 */
import { errorMessage } from '../shared/errors.js';

/** One search result. */
export interface SearchHit {
  /** The page's title; empty when the endpoint gave none. */
  title: string;
  /** The page's address. */
  url: string;
  /** A short extract of the page: the endpoint's `content`; empty when it gave none. */
  snippet: string;
}

/** An answer larger than this is refused rather than held in memory. */
export const MAX_ANSWER_BYTES = 8 * 1024 * 1024;

/** Reads a body as UTF-8 text, failing once it grows past `maxBytes`. */
export async function readText(body: AsyncIterable<Buffer>, maxBytes = MAX_ANSWER_BYTES): Promise<string> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  // Leaving the loop early, by the throw, destroys the body.
  for await (const chunk of body) {
    bytes += chunk.length;
    if (bytes > maxBytes) throw new Error(`the answer is larger than ${maxBytes} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, bytes).toString('utf8');
}

/** The hits of a SearXNG-style JSON answer. Entries without a string `url` are skipped. */
export function parseHits(text: string): SearchHit[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new Error(`the answer is not valid JSON (${errorMessage(error)}): ${JSON.stringify(text.slice(0, 80))}`, { cause: error });
  }
  const results = (data as { results?: unknown } | null)?.results;
  if (!Array.isArray(results)) throw new Error('the answer is JSON but has no `results` array');
  const hits: SearchHit[] = [];
  for (const entry of results as unknown[]) {
    if (entry === null || typeof entry !== 'object') continue;
    const { title, url, content } = entry as Record<string, unknown>;
    if (typeof url !== 'string') continue;
    hits.push({ title: typeof title === 'string' ? title : '', url, snippet: typeof content === 'string' ? content : '' });
  }
  return hits;
}
