/**
 * downloadFile: streams an HTTP(S) body to a file, through a temporary file beside it, with
 * progress, a SHA-256 digest, size limits and a stall timeout.
 */
import { createHash, randomBytes, type Hash } from 'node:crypto';
import { lstat, mkdir, open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { Dispatcher } from 'undici';
import { TaskloomError } from '../shared/errors.js';
import { BodyTooLargeError, HttpStatusError, HttpTimeoutError, IncompleteBodyError } from './errors.js';
import { checkNonEmptyString, checkPositiveInteger, checkTimerMs, received, withDefaults } from '../shared/validate.js';
import type { TaskContext } from '../shared/context.js';
import { LinkedAbort } from './abortable.js';
import {
  checkHeaders,
  checkHttpUrl,
  contentLength,
  createRunAgent,
  discardBody,
  headerValue,
  isSuccess,
  statusText,
  toRequestError,
} from './http.js';
import { getFollowingRedirects } from './redirects.js';

export interface DownloadFileOptions {
  /**
   * The address of the file: an absolute http: or https: URL. Pass a string when the action
   * runs on a worker, since a `URL` object cannot cross threads.
   * @example 'https://example.com/files/report.pdf'
   */
  url: string | URL;
  /**
   * Where to save the file. A relative path resolves against the working directory. Its folder
   * is created if missing; an existing file is replaced only once the whole body has arrived,
   * and an existing folder is refused before the request is sent.
   * @example './downloads/report.pdf'
   */
  destination: string;
  /**
   * The size of the write buffer, in bytes: received data is written to disk in blocks of
   * this size, and the response body buffers about as much.
   * @default 8192
   * @example 65536
   */
  chunkSize?: number;
  /**
   * Extra request headers. They follow redirects within the URL's origin; once a redirect
   * leads to another origin (scheme, host or port), none of them is sent any more, unless
   * `crossOriginHeaders` names it.
   * @default {}
   * @example { authorization: 'Bearer <token>' }
   */
  headers?: Record<string, string>;
  /**
   * The names of `headers` (in any case) that are still sent after a redirect to another
   * origin. Name only what that origin may see: a token for this origin would leak to it.
   * @default [] (every header in `headers` stays with the URL's origin)
   * @example ['user-agent', 'x-trace-id']
   */
  crossOriginHeaders?: readonly string[];
  /**
   * Fails the download when nothing arrives for this many milliseconds: neither the response
   * headers (each redirect's, too) nor the next piece of the body. It limits a stall, not the
   * whole download, nor a chain of redirects.
   * @default undefined (undici's own limits apply: 300 s for headers and between body chunks)
   * @example 30_000
   */
  timeoutMs?: number;
  /**
   * Fails the download when the body is larger than this many bytes: at once when the
   * content-length says so, otherwise as soon as the bytes received go past it.
   * @default undefined (no limit)
   * @example 100 * 1024 * 1024
   */
  maxBytes?: number;
}

export interface DownloadFileResult {
  /** The absolute path of the saved file. */
  path: string;
  /** The number of bytes saved. */
  bytes: number;
  /** The SHA-256 digest of the file, in lowercase hex. */
  sha256: string;
  /** The response's content-type header, or null when it had none. */
  contentType: string | null;
  /** From the start of the request to the file being in place, in milliseconds. */
  durationMs: number;
}

interface ResolvedDownloadOptions {
  readonly url: URL;
  readonly destination: string;
  readonly chunkSize: number;
  readonly headers: Record<string, string>;
  readonly crossOriginHeaders: ReadonlySet<string>;
  readonly timeoutMs: number | undefined;
  readonly maxBytes: number | undefined;
}

/** How many redirects a download follows. */
export const MAX_REDIRECTIONS = 5;

const DEFAULT_OPTIONS = { chunkSize: 8192, headers: {}, crossOriginHeaders: [] } as const;
const KNOWN_OPTIONS = ['url', 'destination', 'chunkSize', 'headers', 'crossOriginHeaders', 'timeoutMs', 'maxBytes'] as const;
/** When the length is unknown, the bytes received are logged at most this often. */
const UNKNOWN_LENGTH_LOG_MS = 1000;

/**
 * Downloads `options.url` to `options.destination`. The body streams to a temporary file
 * beside the destination, which is renamed into place once the whole body has arrived: the
 * destination never holds a partial file, and on failure or cancellation the temporary file
 * is removed, and a file that is replaced keeps its permissions. Follows up to 5 redirects,
 * sending `headers` to other origins only as `crossOriginHeaders` allows; a redirect loop or
 * any other status outside 2xx fails the task.
 *
 * @example
 * // In a handler of your own:
 * const { path, sha256 } = await downloadFile(task, { url, destination: './data/file.zip' });
 * @example
 * // As a ready worker handler:
 * manager.createTask('Download', actions.downloadFile, { args: { url, destination: './data/file.zip' } });
 */
export async function downloadFile(task: TaskContext, options: DownloadFileOptions): Promise<DownloadFileResult> {
  const resolved = resolveOptions(options);
  await checkNotDirectory('options.destination', resolved.destination);
  task.signal.throwIfAborted();
  return new Download(task, resolved).run();
}

function resolveOptions(options: DownloadFileOptions): ResolvedDownloadOptions {
  const merged = withDefaults('options', options, KNOWN_OPTIONS, DEFAULT_OPTIONS);
  const url = checkHttpUrl('options.url', merged.url);
  checkNonEmptyString('options.destination', merged.destination);
  checkPositiveInteger('options.chunkSize', merged.chunkSize);
  checkHeaders('options.headers', merged.headers);
  const crossOriginHeaders = checkHeaderNames('options.crossOriginHeaders', merged.crossOriginHeaders);
  if (merged.timeoutMs !== undefined) checkTimerMs('options.timeoutMs', merged.timeoutMs, 'positive');
  if (merged.maxBytes !== undefined) checkPositiveInteger('options.maxBytes', merged.maxBytes);
  return {
    url,
    destination: resolve(merged.destination),
    chunkSize: merged.chunkSize,
    headers: merged.headers,
    crossOriginHeaders,
    timeoutMs: merged.timeoutMs,
    maxBytes: merged.maxBytes,
  };
}

/** One download run: what it has received so far, and where it is writing. */
class Download {
  readonly #task: TaskContext;
  readonly #options: ResolvedDownloadOptions;
  readonly #href: string;
  readonly #hash: Hash = createHash('sha256');
  #bytes = 0;
  #expected: number | undefined;
  #lastPercent = 0;
  #lastLogAt = performance.now();
  /** Where the last failure came from: a disk error is reported as it is, not as an HTTP one. */
  #isWritingToDisk = false;

  constructor(task: TaskContext, options: ResolvedDownloadOptions) {
    this.#task = task;
    this.#options = options;
    this.#href = options.url.href;
  }

  async run(): Promise<DownloadFileResult> {
    const { url, destination, chunkSize, headers, crossOriginHeaders, timeoutMs } = this.#options;
    const startedAt = performance.now();
    const link = new LinkedAbort(this.#task.signal);
    const agent = createRunAgent();
    let tempPath: string | undefined;
    let contentType: string | null = null;
    try {
      if (timeoutMs !== undefined) link.watch(timeoutMs, () => new HttpTimeoutError(this.#href, timeoutMs));
      const { response, isRedirectOverLimit } = await getFollowingRedirects(url, {
        dispatcher: agent.dispatcher,
        signal: link.signal,
        maxRedirections: MAX_REDIRECTIONS,
        headers,
        crossOriginHeaders,
        highWaterMark: chunkSize,
        // The stall limit is per answer: a chain of quick redirects may take longer in all.
        onAnswer: () => link.touch(),
      });
      this.#checkResponse(response, isRedirectOverLimit);
      contentType = headerValue(response.headers, 'content-type') ?? null;
      this.#isWritingToDisk = true;
      await mkdir(dirname(destination), { recursive: true });
      const mode = await modeOf(destination);
      tempPath = temporaryPathFor(destination);
      // Created with the old file's mode, so that its data is never more widely readable.
      const file = await open(tempPath, 'wx', mode ?? 0o666);
      try {
        await this.#copy(response.body, file, link);
        // The umask may have cleared some of the old mode's bits: set them exactly.
        if (mode !== undefined) await file.chmod(mode);
      } finally {
        await file.close();
      }
      if (this.#expected !== undefined && this.#bytes !== this.#expected) {
        throw new IncompleteBodyError(this.#href, this.#bytes, this.#expected);
      }
      this.#isWritingToDisk = true;
      await rename(tempPath, destination);
      tempPath = undefined;
    } catch (error) {
      throw this.#explain(error, link);
    } finally {
      link.dispose();
      if (tempPath !== undefined) await rm(tempPath, { force: true });
      await agent.destroy();
    }
    if (this.#lastPercent < 100) this.#task.progress = 100;
    const result: DownloadFileResult = {
      path: destination,
      bytes: this.#bytes,
      sha256: this.#hash.digest('hex'),
      contentType,
      durationMs: Math.round(performance.now() - startedAt),
    };
    const fields = { url: this.#href, path: destination, bytes: result.bytes, sha256: result.sha256 };
    this.#task.log.info(fields, `downloaded ${result.bytes} bytes`);
    return result;
  }

  /**
   * Fails on a status outside 2xx, or a content-length over maxBytes, before anything is written.
   * The redirect limit is named only when it is why the answer is a redirect.
   */
  #checkResponse({ statusCode: status, statusText: sent, headers, body }: Dispatcher.ResponseData, isRedirectOverLimit: boolean): void {
    if (!isSuccess(status)) {
      discardBody(body);
      const hint = isRedirectOverLimit ? ` (redirects are followed at most ${MAX_REDIRECTIONS} times)` : '';
      throw new HttpStatusError(this.#href, status, statusText(status, sent), hint);
    }
    this.#expected = contentLength(headers);
    const { maxBytes } = this.#options;
    if (maxBytes !== undefined && this.#expected !== undefined && this.#expected > maxBytes) {
      discardBody(body);
      throw new BodyTooLargeError(this.#href, maxBytes, this.#expected);
    }
  }

  /** Streams the body into the file through a write buffer of `chunkSize` bytes. */
  async #copy(body: AsyncIterable<Buffer>, file: FileHandle, link: LinkedAbort): Promise<void> {
    const buffer = Buffer.allocUnsafe(this.#options.chunkSize);
    let filled = 0;
    this.#isWritingToDisk = false;
    for await (const chunk of body) {
      link.touch();
      this.#receive(chunk);
      this.#isWritingToDisk = true;
      for (let offset = 0; offset < chunk.length;) {
        const copied = chunk.copy(buffer, filled, offset);
        filled += copied;
        offset += copied;
        if (filled === buffer.length) {
          await writeAll(file, buffer, filled);
          filled = 0;
        }
      }
      this.#isWritingToDisk = false;
    }
    this.#isWritingToDisk = true;
    if (filled > 0) await writeAll(file, buffer, filled);
  }

  #receive(chunk: Buffer): void {
    this.#bytes += chunk.length;
    const { maxBytes } = this.#options;
    if (maxBytes !== undefined && this.#bytes > maxBytes) throw new BodyTooLargeError(this.#href, maxBytes);
    this.#hash.update(chunk);
    if (this.#expected !== undefined && this.#expected > 0) {
      // One decimal place is enough: it bounds the messages to the main thread at 1000.
      const percent = Math.min(100, Math.floor((this.#bytes / this.#expected) * 1000) / 10);
      if (percent > this.#lastPercent) {
        this.#lastPercent = percent;
        this.#task.progress = percent;
      }
    } else if (this.#expected === undefined && performance.now() - this.#lastLogAt >= UNKNOWN_LENGTH_LOG_MS) {
      this.#lastLogAt = performance.now();
      this.#task.log.info({ url: this.#href, bytes: this.#bytes }, `received ${this.#bytes} bytes so far (length unknown)`);
    }
  }

  /** Turns what was thrown into the error the task fails with. */
  #explain(error: unknown, link: LinkedAbort): unknown {
    if (link.isParentAborted) return this.#task.signal.reason;
    if (link.signal.aborted) return link.signal.reason;
    if (error instanceof TaskloomError || this.#isWritingToDisk) return error;
    if (this.#expected !== undefined && this.#bytes < this.#expected) {
      return new IncompleteBodyError(this.#href, this.#bytes, this.#expected, { cause: error });
    }
    return toRequestError(this.#href, error);
  }
}

/** The permission bits of the file at `path`, or undefined when there is none. */
async function modeOf(path: string): Promise<number | undefined> {
  try {
    const stats = await stat(path);
    return stats.isFile() ? stats.mode & 0o777 : undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Refuses a folder up front: the rename into place would fail only once the whole body had arrived. */
async function checkNotDirectory(name: string, path: string): Promise<void> {
  // Any other trouble with the path is reported by the steps that write there.
  const stats = await lstat(path).catch(() => undefined);
  if (stats?.isDirectory() === true) throw new RangeError(`Expected \`${name}\` to be the path of a file, but ${path} is a directory`);
}

/** Checks a list of header names, and gives them in lowercase. */
function checkHeaderNames(name: string, value: unknown): ReadonlySet<string> {
  if (!Array.isArray(value)) throw new TypeError(`Expected \`${name}\` to be an array of header names, ${received(value)}`);
  return new Set(
    (value as unknown[]).map((entry, index) => {
      if (typeof entry !== 'string' || entry === '') {
        throw new TypeError(`Expected \`${name}[${index}]\` to be a header name (a non-empty string), ${received(entry)}`);
      }
      return entry.toLowerCase();
    }),
  );
}

/** A hidden file beside the destination, so that the final rename stays on one file system. */
function temporaryPathFor(destination: string): string {
  return join(dirname(destination), `.${basename(destination)}.${randomBytes(6).toString('hex')}.part`);
}

async function writeAll(file: FileHandle, buffer: Buffer, length: number): Promise<void> {
  for (let offset = 0; offset < length;) {
    const { bytesWritten } = await file.write(buffer, offset, length - offset);
    offset += bytesWritten;
  }
}
