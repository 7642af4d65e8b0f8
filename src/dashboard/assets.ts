/**
 * The page's files, all served from the package itself, so that the dashboard works offline:
 * the page (src/dashboard/page, shipped beside dist) and uPlot, the chart library, from the
 * package's own dependency. Only these names are served; they are read once, on first request.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { HttpError } from './http.js';

/** The page's folder, from the built module (dist/dashboard) or the source (src/dashboard) alike. */
const PAGE = new URL('../../src/dashboard/page/', import.meta.url);
const require = createRequire(import.meta.url);

interface Asset {
  readonly path: string;
  readonly type: string;
}

const ASSETS: ReadonlyMap<string, Asset> = new Map([
  ['/', { path: fileURLToPath(new URL('index.html', PAGE)), type: 'text/html; charset=utf-8' }],
  ...['app.js', 'charts.js', 'detail.js', 'format.js', 'table.js'].map(
    (name) => [`/assets/${name}`, { path: fileURLToPath(new URL(name, PAGE)), type: 'text/javascript; charset=utf-8' }] as const,
  ),
  ['/assets/style.css', { path: fileURLToPath(new URL('style.css', PAGE)), type: 'text/css; charset=utf-8' }],
  ['/assets/icon.svg', { path: fileURLToPath(new URL('icon.svg', PAGE)), type: 'image/svg+xml' }],
  ['/assets/uPlot.js', { path: require.resolve('uplot/dist/uPlot.iife.min.js'), type: 'text/javascript; charset=utf-8' }],
  ['/assets/uPlot.css', { path: require.resolve('uplot/dist/uPlot.min.css'), type: 'text/css; charset=utf-8' }],
]);

const loaded = new Map<string, Promise<Buffer>>();

/** Whether `pathname` names one of the page's files. */
export function isAsset(pathname: string): boolean {
  return ASSETS.has(pathname);
}

/** The file's content and type. */
export async function readAsset(pathname: string): Promise<{ body: Buffer; type: string }> {
  const asset = ASSETS.get(pathname);
  if (asset === undefined) throw new HttpError(404, `No such file: ${pathname}`);
  let body = loaded.get(asset.path);
  if (body === undefined) {
    body = readFile(asset.path);
    loaded.set(asset.path, body);
    body.catch(() => loaded.delete(asset.path));
  }
  return { body: await body, type: asset.type };
}
