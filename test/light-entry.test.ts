/**
 * `taskloom/worker` is what handler modules import inside every worker, so it must load nothing but
 * the package's shared code: no pool, no logger, no comlink, no main-thread code.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const DIST = new URL('../dist/', import.meta.url);
const dirs: string[] = [];

afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

// A module hook that appends each URL Node loads to a file, synchronously, before the module runs:
// once the import has settled, the file lists every module it loaded. A CommonJS package's own
// require() calls are not seen, but its entry is, which is all the test needs.
const RECORDER = `
import { appendFileSync } from 'node:fs';
let log;
export function initialize(data) { log = data.log; }
export async function load(url, context, nextLoad) {
  appendFileSync(log, url + '\\n');
  return nextLoad(url, context);
}`;

/** The file: URLs that importing `entry` loads, in a fresh process. */
async function modulesLoadedBy(entry: string): Promise<string[]> {
  const dir = await mkdtemp(join(tmpdir(), 'taskloom-loads-'));
  dirs.push(dir);
  const log = join(dir, 'loaded.txt');
  const script = [
    "import { register } from 'node:module';",
    `register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(RECORDER)}`)}, { data: { log: ${JSON.stringify(log)} } });`,
    `await import(${JSON.stringify(new URL(entry, DIST).href)});`,
  ].join('\n');
  await run(process.execPath, ['--input-type=module', '--eval', script], { timeout: 30_000 });
  const loaded = (await readFile(log, 'utf8')).split('\n');
  return loaded.filter((url) => url.startsWith('file:'));
}

describe('the light taskloom/worker entry', () => {
  it('loads only dist/worker.js and dist/shared, no package and no main-thread code', async () => {
    const loaded = await modulesLoadedBy('worker.js');
    const shared = new URL('shared/', DIST).href;
    expect(loaded).toContain(new URL('worker.js', DIST).href);
    expect(loaded.filter((url) => url !== new URL('worker.js', DIST).href && !url.startsWith(shared))).toEqual([]);
  });

  it('is light where the root entry is not: taskloom loads piscina, pino and comlink', async () => {
    // Proves that the recorder sees packages, so that the test above can fail.
    const loaded = await modulesLoadedBy('index.js');
    for (const name of ['piscina', 'pino', 'comlink']) {
      expect(loaded.some((url) => url.includes(`/node_modules/${name}/`))).toBe(true);
    }
  });
});
