import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { actions, TaskManager, TaskState, type Task } from 'taskloom';
import { downloadFile, MAX_REDIRECTIONS, RedirectLoopError, type DownloadFileResult } from 'taskloom/actions';
import {
  captureLogs,
  createActionManager,
  deferred,
  handMadeContext,
  makeTempDir,
  onCleanup,
  pendingTimers,
  serve,
  socketClosed,
  type TestServer,
} from './fixtures/actions-http.js';

async function setup(
  handler: (request: IncomingMessage, response: ServerResponse) => void,
  managerOptions: { maxConcurrentTasks?: number; cancelGraceMs?: number } = {},
): Promise<{ server: TestServer; dir: string; manager: TaskManager; logs: ReturnType<typeof captureLogs> }> {
  const temp = await makeTempDir();
  onCleanup(temp.remove);
  const server = await serve(handler);
  const { manager, logs } = createActionManager({ maxConcurrentTasks: 2, ...managerOptions });
  return { server, dir: temp.dir, manager, logs };
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Every file under `dir`, temporary ones (hidden) included. */
async function filesIn(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => entry.name);
}

describe('downloadFile', () => {
  it('downloads a body of known length, with progress rising to 100 and the right sha256', async () => {
    const body = randomBytes(256 * 1024);
    const firstHalfSeen = deferred();
    const { server, dir, manager } = await setup((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length });
      response.write(body.subarray(0, body.length / 2));
      // The rest is sent only once the main thread has seen progress from the first half.
      void firstHalfSeen.promise.then(() => response.end(body.subarray(body.length / 2)));
    });
    const progress: number[] = [];
    manager.on('progress', (task) => {
      progress.push(task.progress);
      if (task.progress > 0 && task.progress < 100) firstHalfSeen.resolve();
    });
    const destination = join(dir, 'nested', 'folder', 'file.bin');

    const id = manager.createTask('Download', actions.downloadFile, { args: { url: `${server.base}/file.bin`, destination } });
    const task = (await manager.waitFor(id)) as Task<DownloadFileResult>;

    expect(task.state, task.error).toBe(TaskState.COMPLETED);
    expect(task.progress).toBe(100);
    expect(progress.some((value) => value > 0 && value <= 50)).toBe(true);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    expect(task.result).toEqual({
      path: destination,
      bytes: body.length,
      sha256: sha256(body),
      contentType: 'application/octet-stream',
      durationMs: expect.any(Number) as unknown,
    });
    expect(sha256(await readFile(destination))).toBe(sha256(body));
    expect(await filesIn(dir)).toEqual(['file.bin']);
  });

  it('downloads a chunked body of unknown length: progress stays put and the bytes received are logged', async () => {
    const parts = [randomBytes(10_000), randomBytes(20_000)];
    const { server, dir, manager, logs } = await setup((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/plain' });
      response.write(parts[0]);
      // Long enough for the once-a-second log of the bytes received so far.
      setTimeout(() => response.end(parts[1]), 1100);
    });
    const progress: number[] = [];
    manager.on('progress', (task) => progress.push(task.progress));
    const destination = join(dir, 'chunked.txt');

    const id = manager.createTask('Download', actions.downloadFile, { args: { url: `${server.base}/stream`, destination } });
    const task = (await manager.waitFor(id)) as Task<DownloadFileResult>;

    const whole = Buffer.concat(parts);
    expect(task.state, task.error).toBe(TaskState.COMPLETED);
    // No progress before the end: at most a last 100.
    expect(progress.filter((value) => value !== 100)).toEqual([]);
    expect(task.progress).toBe(100);
    expect(task.result?.bytes).toBe(whole.length);
    expect(task.result?.sha256).toBe(sha256(whole));
    expect(sha256(await readFile(destination))).toBe(sha256(whole));
    const soFar = await logs.waitFor((line) => typeof line.msg === 'string' && line.msg.includes('length unknown'));
    expect(soFar.bytes).toBe(whole.length);
    const done = await logs.waitFor((line) => line.msg === `downloaded ${whole.length} bytes`);
    expect(done).toMatchObject({ taskId: id, bytes: whole.length, path: destination });
  });

  it(`follows redirects, up to ${MAX_REDIRECTIONS}, keeping the request headers`, async () => {
    const body = randomBytes(5000);
    const tokens: (string | undefined)[] = [];
    const { server, dir, manager } = await setup((request, response) => {
      tokens.push(request.headers['x-token'] as string | undefined);
      const hops = /^\/hop\/(\d+)$/.exec(request.url ?? '');
      if (hops !== null) {
        const left = Number(hops[1]);
        response.writeHead(left % 2 === 0 ? 301 : 302, { location: left === 1 ? '/data' : `/hop/${left - 1}` });
        response.end();
        return;
      }
      response.writeHead(200, { 'content-length': body.length });
      response.end(body);
    });
    const destination = join(dir, 'redirected.bin');

    const ok = await manager.waitFor(
      manager.createTask('Five hops', actions.downloadFile, {
        args: { url: `${server.base}/hop/5`, destination, headers: { 'x-token': 'secret' } },
      }),
    );
    expect(ok.state, ok.error).toBe(TaskState.COMPLETED);
    expect((ok.result as DownloadFileResult).sha256).toBe(sha256(body));
    expect(tokens).toEqual(Array(6).fill('secret'));

    tokens.length = 0;
    const tooMany = await manager.waitFor(
      manager.createTask('Six hops', actions.downloadFile, { args: { url: `${server.base}/hop/6`, destination: join(dir, 'never.bin') } }),
    );
    expect(tooMany.state).toBe(TaskState.FAILED);
    expect(tooMany.error).toContain(`GET ${server.base}/hop/6 answered 302 Found`);
    expect(tooMany.error).toContain('at most 5');
    expect(tokens).toHaveLength(6);
    expect(await filesIn(dir)).toEqual(['redirected.bin']);
  });

  it('adds the redirect limit to the error only when the last answer is a redirect left unfollowed', async () => {
    const { server, dir, manager } = await setup((request, response) => {
      const left = Number(/^\/hop\/(\d+)$/.exec(request.url ?? '')?.[1]);
      if (left > 0) response.writeHead(302, { location: `/hop/${left - 1}` }).end();
      else response.writeHead(404).end();
    });
    const run = (path: string): Promise<Task> =>
      manager.waitFor(
        manager.createTask('Download', actions.downloadFile, {
          args: { url: `${server.base}${path}`, destination: join(dir, 'never.bin') },
        }),
      );

    // 5 redirects, then a 404: the limit played no part.
    const missing = await run(`/hop/${MAX_REDIRECTIONS}`);
    expect(missing.state).toBe(TaskState.FAILED);
    expect(missing.error).toBe(`HttpStatusError: GET ${server.base}/hop/${MAX_REDIRECTIONS} answered 404 Not Found`);

    const tooMany = await run(`/hop/${MAX_REDIRECTIONS + 1}`);
    expect(tooMany.error).toBe(
      `HttpStatusError: GET ${server.base}/hop/${MAX_REDIRECTIONS + 1} answered 302 Found (redirects are followed at most ${MAX_REDIRECTIONS} times)`,
    );
    expect(await filesIn(dir)).toEqual([]);
  });

  it('restarts the stall timeout at each redirect: hops that each answer in time may take longer than timeoutMs in all', async () => {
    const body = randomBytes(1000);
    const { server, dir, manager } = await setup((request, response) => {
      const left = Number(/^\/hop\/(\d+)$/.exec(request.url ?? '')?.[1]);
      // Every answer, the 4 redirects and the file, comes 100 ms after its request: 500 ms in all.
      setTimeout(() => {
        if (left > 0) response.writeHead(302, { location: `/hop/${left - 1}` }).end();
        else response.writeHead(200, { 'content-length': body.length }).end(body);
      }, 100);
    });
    const destination = join(dir, 'slow-hops.bin');

    const task = await manager.waitFor(
      manager.createTask('Download', actions.downloadFile, { args: { url: `${server.base}/hop/4`, destination, timeoutMs: 300 } }),
    );

    expect(task.state, task.error).toBe(TaskState.COMPLETED);
    expect(sha256(await readFile(destination))).toBe(sha256(body));
  });

  it('sends none of its headers to another origin after a redirect, unless crossOriginHeaders names them', async () => {
    const body = randomBytes(1000);
    const seen: { origin: 'first' | 'other'; path: string; headers: IncomingHttpHeaders }[] = [];
    // Another port is another origin: first/start -> other/hop -> first/back (to the first origin again).
    const other = await serve((request, response) => {
      seen.push({ origin: 'other', path: request.url ?? '', headers: request.headers });
      response.writeHead(302, { location: `${first.base}/back` }).end();
    });
    const {
      server: first,
      dir,
      manager,
    } = await setup((request, response) => {
      seen.push({ origin: 'first', path: request.url ?? '', headers: request.headers });
      if (request.url === '/start') response.writeHead(307, { location: `${other.base}/hop` }).end();
      else response.writeHead(200, { 'content-length': body.length }).end(body);
    });
    const headers = { 'x-api-key': 'key-1', authorization: 'Bearer token-1', 'X-Trace-Id': 'trace-1' };
    const callerHeaders = (sent: IncomingHttpHeaders): Record<string, unknown> =>
      Object.fromEntries(['x-api-key', 'authorization', 'x-trace-id'].flatMap((name) => (name in sent ? [[name, sent[name]]] : [])));

    const dropped = await manager.waitFor(
      manager.createTask('Download', actions.downloadFile, {
        args: { url: `${first.base}/start`, destination: join(dir, 'a.bin'), headers },
      }),
    );
    expect(dropped.state, dropped.error).toBe(TaskState.COMPLETED);
    expect(seen.map((entry) => [entry.origin, entry.path, callerHeaders(entry.headers)])).toEqual([
      ['first', '/start', { 'x-api-key': 'key-1', authorization: 'Bearer token-1', 'x-trace-id': 'trace-1' }],
      ['other', '/hop', {}],
      ['first', '/back', {}],
    ]);

    seen.length = 0;
    const kept = await manager.waitFor(
      manager.createTask('Download', actions.downloadFile, {
        args: { url: `${first.base}/start`, destination: join(dir, 'b.bin'), headers, crossOriginHeaders: ['x-trace-ID'] },
      }),
    );
    expect(kept.state, kept.error).toBe(TaskState.COMPLETED);
    expect(seen.map((entry) => [entry.origin, callerHeaders(entry.headers)])).toEqual([
      ['first', { 'x-api-key': 'key-1', authorization: 'Bearer token-1', 'x-trace-id': 'trace-1' }],
      ['other', { 'x-trace-id': 'trace-1' }],
      ['first', { 'x-trace-id': 'trace-1' }],
    ]);
    expect(sha256(await readFile(join(dir, 'b.bin')))).toBe(sha256(body));
  });

  it('fails on a redirect loop with a message that says so', async () => {
    const { server, dir, manager } = await setup((request, response) => {
      const next = { '/a': '/b', '/b': '/a', '/self': '/self' }[request.url ?? ''];
      response.writeHead(302, next === undefined ? {} : { location: next }).end();
    });

    const [loop, self] = await Promise.all(
      ['/a', '/self'].map((path) =>
        manager.waitFor(
          manager.createTask('Download', actions.downloadFile, {
            args: { url: `${server.base}${path}`, destination: join(dir, 'never.bin') },
          }),
        ),
      ),
    );

    expect(loop?.state).toBe(TaskState.FAILED);
    const { base } = server;
    expect(loop?.error).toBe(`RedirectLoopError: GET ${base}/a: redirect loop (${base}/b redirects back to ${base}/a)`);
    expect(self?.error).toBe(`RedirectLoopError: GET ${server.base}/self: redirect loop (${server.base}/self redirects to itself)`);
    await expect(downloadFile(handMadeContext(), { url: `${server.base}/b`, destination: join(dir, 'never.bin') })).rejects.toThrow(
      RedirectLoopError,
    );
    expect(await filesIn(dir)).toEqual([]);
  });

  it('keeps the mode of the file it replaces, even bits the umask would clear', async () => {
    const body = randomBytes(2000);
    const { server, dir, manager } = await setup((_request, response) => {
      response.writeHead(200, { 'content-length': body.length }).end(body);
    });
    const modes = { 'secret.bin': 0o600, 'shared.bin': 0o664 } as const;
    for (const [name, mode] of Object.entries(modes)) {
      await writeFile(join(dir, name), 'old content');
      await chmod(join(dir, name), mode);
    }

    for (const name of Object.keys(modes)) {
      const task = await manager.waitFor(
        manager.createTask('Download', actions.downloadFile, { args: { url: `${server.base}/${name}`, destination: join(dir, name) } }),
      );
      expect(task.state, task.error).toBe(TaskState.COMPLETED);
    }

    for (const [name, mode] of Object.entries(modes)) {
      expect(sha256(await readFile(join(dir, name)))).toBe(sha256(body));
      expect(((await stat(join(dir, name))).mode & 0o777).toString(8)).toBe(mode.toString(8));
    }
  });

  it('fails on a 404 with the status and the URL, and writes nothing', async () => {
    const { server, dir, manager } = await setup((_request, response) => {
      response.writeHead(404, { 'content-type': 'text/plain' });
      response.end('no such file');
    });
    const url = `${server.base}/missing.zip`;

    const task = await manager.waitFor(
      manager.createTask('Download', actions.downloadFile, { args: { url, destination: join(dir, 'out', 'm.zip') } }),
    );

    expect(task.state).toBe(TaskState.FAILED);
    expect(task.error).toBe(`HttpStatusError: GET ${url} answered 404 Not Found`);
    expect(await readdir(dir)).toEqual([]);
  });

  it('fails when the connection is reset in the middle of the body, and removes the temporary file', async () => {
    const { server, dir, manager } = await setup((request, response) => {
      response.writeHead(200, { 'content-length': 200_000 });
      response.write(randomBytes(50_000), () => request.socket.destroy());
    });
    const outDir = join(dir, 'out');

    const task = await manager.waitFor(
      manager.createTask('Download', actions.downloadFile, { args: { url: `${server.base}/big`, destination: join(outDir, 'big.bin') } }),
    );

    expect(task.state).toBe(TaskState.FAILED);
    expect(task.error).toMatch(/^IncompleteBodyError: GET http:\/\/127\.0\.0\.1:\d+\/big: the body ended after \d+ of 200000 bytes/);
    expect(await filesIn(dir)).toEqual([]);
  });

  it('stops at once when cancelled midway, leaving neither destination nor temporary file, nor the socket', async () => {
    const socketGone = deferred();
    const { server, dir, manager } = await setup(
      (request, response) => {
        socketGone.resolve(socketClosed(request.socket));
        response.writeHead(200, { 'content-length': 1_000_000 });
        response.write(randomBytes(100_000)); // and never the rest
      },
      // A cooperative stop must not wait for the hard one.
      { cancelGraceMs: 15_000 },
    );
    const destination = join(dir, 'out', 'slow.bin');
    const id = manager.createTask('Download', actions.downloadFile, { args: { url: `${server.base}/slow`, destination } });
    const midway = deferred();
    manager.on('progress', (task) => {
      if (task.progress > 0) midway.resolve();
    });
    await midway.promise;

    const cancelledAt = performance.now();
    expect(manager.cancelTask(id)).toBe(true);
    await manager.onIdle();

    expect(performance.now() - cancelledAt).toBeLessThan(5000);
    expect(manager.getTask(id)?.state).toBe(TaskState.CANCELLED);
    expect(await filesIn(dir)).toEqual([]);
    await socketGone.promise;
  });

  it('fails on a stall longer than timeoutMs, before the headers or in the body, but not on a slow steady body', async () => {
    const steady = randomBytes(5000);
    const { server, dir, manager } = await setup(
      (request, response) => {
        if (request.url === '/no-headers') return; // never answers
        if (request.url === '/steady') {
          // 5 pieces, 60 ms apart: slower in total than timeoutMs, but never quiet that long.
          response.writeHead(200, { 'content-length': steady.length });
          let sent = 0;
          const timer = setInterval(() => {
            if (response.destroyed) {
              clearInterval(timer);
              return;
            }
            response.write(steady.subarray(sent * 1000, ++sent * 1000));
            if (sent === 5) {
              clearInterval(timer);
              response.end();
            }
          }, 60);
          return;
        }
        response.writeHead(200, { 'content-length': 10_000 });
        response.write(randomBytes(1000)); // then stalls
      },
      { maxConcurrentTasks: 3 },
    );

    const [noHeaders, midBody, slow] = await Promise.all(
      ['/no-headers', '/mid-body', '/steady'].map((path) =>
        manager.waitFor(
          manager.createTask('Download', actions.downloadFile, {
            args: { url: `${server.base}${path}`, destination: join(dir, `${path.slice(1)}.bin`), timeoutMs: 150 },
          }),
        ),
      ),
    );

    for (const [task, path] of [
      [noHeaders, '/no-headers'],
      [midBody, '/mid-body'],
    ] as const) {
      expect(task?.state).toBe(TaskState.FAILED);
      expect(task?.error).toBe(`HttpTimeoutError: GET ${server.base}${path} timed out: no data arrived for 150 ms`);
    }
    expect(slow?.state, slow?.error).toBe(TaskState.COMPLETED);
    expect((slow?.result as DownloadFileResult).sha256).toBe(sha256(steady));
    expect(await filesIn(dir)).toEqual(['steady.bin']);
  });

  it('fails on a body over maxBytes, announced by content-length or found while streaming', async () => {
    const { server, dir, manager } = await setup((request, response) => {
      if (request.url === '/announced') response.writeHead(200, { 'content-length': 10_000 });
      else response.writeHead(200); // chunked
      response.end(randomBytes(10_000));
    });

    const announced = await manager.waitFor(
      manager.createTask('Download', actions.downloadFile, {
        args: { url: `${server.base}/announced`, destination: join(dir, 'a.bin'), maxBytes: 4096 },
      }),
    );
    const streamed = await manager.waitFor(
      manager.createTask('Download', actions.downloadFile, {
        args: { url: `${server.base}/streamed`, destination: join(dir, 'b.bin'), maxBytes: 4096, chunkSize: 1024 },
      }),
    );

    expect(announced.state).toBe(TaskState.FAILED);
    expect(announced.error).toBe(
      `BodyTooLargeError: GET ${server.base}/announced: the body's content-length, 10000 bytes, is over \`maxBytes\` (4096 bytes)`,
    );
    expect(streamed.state).toBe(TaskState.FAILED);
    expect(streamed.error).toBe(`BodyTooLargeError: GET ${server.base}/streamed: the body grew past \`maxBytes\` (4096 bytes)`);
    expect(await filesIn(dir)).toEqual([]);
  });

  it('runs 20 downloads at once through a pool of 4', async () => {
    const bodies = Array.from({ length: 20 }, () => randomBytes(64 * 1024 + Math.floor(Math.random() * 1024)));
    let inFlight = 0;
    let maxInFlight = 0;
    const fourArrived = deferred();
    const { server, dir, manager } = await setup(
      (request, response) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        if (inFlight === 4) fourArrived.resolve();
        response.on('close', () => inFlight--);
        const body = bodies[Number(request.url?.slice(1))] as Buffer;
        // The first answers wait until the pool is full, so that the four surely overlap.
        void fourArrived.promise.then(() => {
          response.writeHead(200, { 'content-length': body.length });
          response.end(body);
        });
      },
      { maxConcurrentTasks: 4 },
    );

    const ids = bodies.map((_body, index) =>
      manager.createTask(`Download ${index}`, actions.downloadFile, {
        args: { url: `${server.base}/${index}`, destination: join(dir, `file-${index}.bin`) },
      }),
    );
    const tasks = await Promise.all(ids.map((id) => manager.waitFor(id)));

    expect(maxInFlight).toBe(4);
    for (const [index, task] of tasks.entries()) {
      const body = bodies[index] as Buffer;
      expect(task.state, task.error).toBe(TaskState.COMPLETED);
      expect((task.result as DownloadFileResult).sha256).toBe(sha256(body));
      expect(sha256(await readFile(join(dir, `file-${index}.bin`)))).toBe(sha256(body));
    }
    expect((await filesIn(dir)).sort()).toEqual(bodies.map((_body, index) => `file-${index}.bin`).sort());
  });

  it('rejects bad options with a TypeError or RangeError that names the option', async () => {
    const task = handMadeContext();
    const url = 'http://127.0.0.1:9/file';
    await expect(downloadFile(task, { url, destination: 'x', chunkSize: 0 })).rejects.toThrow(
      new RangeError('Expected `options.chunkSize` to be a positive integer, got `0` (number)'),
    );
    await expect(downloadFile(task, { url, destination: 'x', chunkSize: 1.5 })).rejects.toThrow(TypeError);
    await expect(downloadFile(task, { url: 'ftp://example.com/x', destination: 'x' })).rejects.toThrow(
      'Expected `options.url` to be an http(s) URL, got a ftp: URL: ftp://example.com/x',
    );
    await expect(downloadFile(task, { url } as never)).rejects.toThrow(
      new TypeError('Expected `options.destination` to be a non-empty string, got `undefined` (undefined)'),
    );
    await expect(downloadFile(task, { url, destination: 'x', timeoutMs: -1 })).rejects.toThrow(RangeError);
    await expect(downloadFile(task, { url, destination: 'x', headers: { a: 1 } } as never)).rejects.toThrow(
      'Expected `options.headers["a"]` to be a string, got `1` (number)',
    );
    await expect(downloadFile(task, { url, destination: 'x', crossOriginHeaders: 'x-trace-id' } as never)).rejects.toThrow(
      new TypeError('Expected `options.crossOriginHeaders` to be an array of header names, got `"x-trace-id"` (string)'),
    );
    await expect(downloadFile(task, { url, destination: 'x', crossOriginHeaders: ['ok', ''] })).rejects.toThrow(
      new TypeError('Expected `options.crossOriginHeaders[1]` to be a header name (a non-empty string), got `""` (string)'),
    );
    await expect(downloadFile(task, { url, destination: 'x', retries: 3 } as never)).rejects.toThrow(
      /^Unknown option `options.retries`: expected one of `url`, `destination`/,
    );
    expect(task.progressHistory).toEqual([]);

    let requests = 0;
    const { server, dir, manager } = await setup((_request, response) => {
      requests++;
      response.end();
    });
    const failed = await manager.waitFor(
      manager.createTask('Download', actions.downloadFile, { args: { url: server.base, destination: join(dir, 'x'), chunkSize: 0 } }),
    );
    expect(failed.error).toBe('RangeError: Expected `options.chunkSize` to be a positive integer, got `0` (number)');
    expect(requests).toBe(0);
  });

  it('rejects a header name that is not a token, a value with CR, LF, NUL or past Latin-1, a header given twice or one undici writes itself, before any request', async () => {
    let requests = 0;
    const { server, dir, manager } = await setup((_request, response) => {
      requests++;
      response.end();
    });
    const options = { url: server.base, destination: join(dir, 'x') };
    const cases: [Record<string, string>, Error][] = [
      [
        { 'bad header': 'v' },
        new TypeError(
          'Expected the name of `options.headers["bad header"]` to be an HTTP token (letters, digits and !#$%&\'*+-.^_`|~), got `"bad header"` (string)',
        ),
      ],
      [
        { '': 'v' },
        new TypeError(
          'Expected the name of `options.headers[""]` to be an HTTP token (letters, digits and !#$%&\'*+-.^_`|~), got `""` (string)',
        ),
      ],
      [
        { 'x-ok': 'fine', 'x-injected': 'a\r\nx-evil: 1' },
        new TypeError(
          'Expected `options.headers["x-injected"]` to be a header value: no CR, LF, NUL or other control character, nothing past Latin-1, got `"a\\r\\nx-evil: 1"` (string)',
        ),
      ],
      [
        { 'x-nul': 'a\0b' },
        new TypeError(
          'Expected `options.headers["x-nul"]` to be a header value: no CR, LF, NUL or other control character, nothing past Latin-1, got `"a\\u0000b"` (string)',
        ),
      ],
      [
        { 'x-price': '5 \u20ac' },
        new TypeError(
          'Expected `options.headers["x-price"]` to be a header value: no CR, LF, NUL or other control character, nothing past Latin-1, got `"5 \u20ac"` (string)',
        ),
      ],
      // undici writes these itself, and refuses them from a caller at request time.
      [
        { 'Transfer-Encoding': 'chunked' },
        new TypeError(
          'Expected `options.headers["Transfer-Encoding"]` to be left out: the HTTP client writes the transfer-encoding header itself, and refuses it from a caller',
        ),
      ],
      [
        { expect: '100-continue' },
        new TypeError(
          'Expected `options.headers["expect"]` to be left out: the HTTP client writes the expect header itself, and refuses it from a caller',
        ),
      ],
      [
        { Host: 'a.example', host: 'b.example' },
        new TypeError(
          'Expected each header once, whatever its case, but `options.headers["host"]` names the same header as `options.headers["Host"]`',
        ),
      ],
      [
        { Connection: 'close, not a token' },
        new TypeError(
          'Expected `options.headers["Connection"]` to be a comma-separated list of HTTP tokens (such as "close"), got `"close, not a token"` (string)',
        ),
      ],
      [
        { 'content-length': '-1' },
        new TypeError('Expected `options.headers["content-length"]` to be a number of bytes in decimal digits, got `"-1"` (string)'),
      ],
    ];

    for (const [headers, expected] of cases) {
      await expect(downloadFile(handMadeContext(), { ...options, headers })).rejects.toThrow(expected);
      const task = await manager.waitFor(manager.createTask('Download', actions.downloadFile, { args: { ...options, headers } }));
      expect(task.error).toBe(`TypeError: ${expected.message}`);
    }
    expect(requests).toBe(0);

    // Tabs, spaces and Latin-1 letters are fine, and so are a connection option and a length.
    const fine = await manager.waitFor(
      manager.createTask('Download', actions.downloadFile, {
        args: { ...options, headers: { 'X-Name_1.~': 'caf\u00e9\tau lait', Connection: 'close', 'Content-Length': '0' } },
      }),
    );
    expect(fine.state, fine.error).toBe(TaskState.COMPLETED);
    expect(requests).toBe(1);
  });

  it('refuses a destination that is an existing folder before sending the request', async () => {
    let requests = 0;
    const { server, dir, manager } = await setup((_request, response) => {
      requests++;
      response.end('data');
    });
    const folder = join(dir, 'folder');
    await mkdir(folder);
    const expected = new RangeError(`Expected \`options.destination\` to be the path of a file, but ${folder} is a directory`);

    await expect(downloadFile(handMadeContext(), { url: server.base, destination: folder })).rejects.toThrow(expected);
    const task = await manager.waitFor(
      manager.createTask('Download', actions.downloadFile, { args: { url: server.base, destination: folder } }),
    );

    expect(task.state).toBe(TaskState.FAILED);
    expect(task.error).toBe(`RangeError: ${expected.message}`);
    expect(requests).toBe(0);
    expect(await readdir(folder)).toEqual([]);
  });

  it('can be called from any handler, and rejects with the reason when its signal aborts', async () => {
    const body = randomBytes(40_000);
    const { server, dir } = await setup((request, response) => {
      response.writeHead(200, { 'content-length': body.length });
      if (request.url === '/whole') response.end(body);
      else response.write(body.subarray(0, 10_000)); // then hangs
    });

    const task = handMadeContext();
    const result = await downloadFile(task, { url: new URL('/whole', server.base), destination: join(dir, 'whole.bin'), chunkSize: 1000 });
    expectTypeOf(result).toEqualTypeOf<DownloadFileResult>();
    expect(result.sha256).toBe(sha256(body));
    expect(task.progressHistory.at(-1)).toBe(100);
    expect(task.progressHistory).toEqual([...new Set(task.progressHistory)].sort((a, b) => a - b));
    expect(task.logged).toContainEqual(expect.objectContaining({ level: 'info', msg: `downloaded ${body.length} bytes` }));

    const controller = new AbortController();
    const hanging = handMadeContext(controller.signal);
    const timersBefore = pendingTimers();
    const download = downloadFile(hanging, { url: `${server.base}/hang`, destination: join(dir, 'hang.bin'), timeoutMs: 60_000 });
    const request = await server.nextRequest();
    await hanging.progressReached((value) => value > 0);
    const reason = new Error('stop now');
    controller.abort(reason);
    await expect(download).rejects.toBe(reason);
    await socketClosed(request.socket);
    expect(pendingTimers()).toBeLessThanOrEqual(timersBefore);
    expect(await filesIn(dir)).toEqual(['whole.bin']);

    await expect(
      downloadFile(handMadeContext(AbortSignal.abort(reason)), { url: server.base, destination: join(dir, 'never') }),
    ).rejects.toBe(reason);
  });
});
