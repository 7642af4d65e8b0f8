/**
 * Where the benchmark runs from. It runs from its TypeScript sources under tsx, or compiled to
 * dist/bench, in a clone of the repository or from the installed package (`taskloom bench`). A
 * clone keeps its results in bench/results; an installed package writes nothing unless `--out`
 * says where, so that nothing is ever written into node_modules.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The folder of the package's own package.json: the first one up from here named taskloom. */
function findPackageRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name === 'taskloom') return dir;
    if (dirname(dir) === dir) throw new Error(`The benchmark found no taskloom package.json above ${from}`);
  }
}

export const PACKAGE_ROOT = findPackageRoot(fileURLToPath(new URL('.', import.meta.url)));

/** A clone has the benchmark's sources; the published package has only dist. */
export const IS_CLONE = existsSync(join(PACKAGE_ROOT, 'bench', 'run.ts'));

/** Where a clone keeps the results of its runs; undefined for an installed package. */
export const RESULTS_DIR = IS_CLONE ? join(PACKAGE_ROOT, 'bench', 'results') : undefined;

/** The extension of the modules running now: `.ts` under tsx, `.js` compiled. */
export const MODULE_EXTENSION = import.meta.url.endsWith('.ts') ? '.ts' : '.js';

/** A fixture module of bench/fixtures by its name without extension, in the form running now. */
export function fixture(name: string): URL {
  return new URL(`../fixtures/${name}${MODULE_EXTENSION}`, import.meta.url);
}

/**
 * The package.json of `name` as Node would resolve it from this package: in its own
 * node_modules, then in each node_modules folder above it (the project's, when installed).
 */
export function findInstalledManifest(name: string): string | undefined {
  for (let dir = PACKAGE_ROOT; ; dir = dirname(dir)) {
    const manifest = join(dir, 'node_modules', name, 'package.json');
    if (existsSync(manifest)) return manifest;
    if (dirname(dir) === dir) return undefined;
  }
}

/** The version of an installed package, or undefined when it is not installed. */
export function installedVersion(name: string): string | undefined {
  const manifest = findInstalledManifest(name);
  if (manifest === undefined) return undefined;
  try {
    const { version } = JSON.parse(readFileSync(manifest, 'utf8')) as { version?: unknown };
    return typeof version === 'string' ? version : 'unknown';
  } catch {
    return 'unknown';
  }
}
