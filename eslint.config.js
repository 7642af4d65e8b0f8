// Lint: typescript-eslint's strict and stylistic type-checked rules over src, test and bench, plus
// the import rules that keep each folder of src to the thread it runs on. Formatting is Prettier's
// job (`npm run format`), so no rule here is about layout.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

/**
 * What each folder of src may not import. Its own files and `node:` built-ins are always allowed.
 * `packages`, where given, lists the only packages it may load at run time (type-only imports are
 * erased from the build, so they stay allowed). `new URL('../workers/entry.js', import.meta.url)` is
 * a string, not an import, so the main thread may still name the worker entry that Piscina loads.
 */
const BOUNDARIES = {
  // Both threads load shared: it must not pull either side, or any package, in with it.
  shared: { folders: ['main', 'workers', 'actions', 'cli'], packages: [] },
  // The main thread and the workers never import each other, nor the actions or the command line.
  main: { folders: ['workers', 'actions', 'cli'] },
  workers: { folders: ['main', 'actions', 'cli'] },
  // Built-in actions run in workers: shared, node and undici only.
  actions: { folders: ['main', 'workers', 'cli'], packages: ['undici'] },
  // taskloom/distributed runs on the main thread beside a local manager; it loads bullmq and ioredis itself.
  distributed: { folders: ['workers', 'actions', 'cli'] },
  // The dashboard serves a manager from the main thread: shared and main, never the workers.
  dashboard: { folders: ['workers', 'actions', 'cli'] },
};

/** What the dashboard's page uses of the browser, besides what Node has too (fetch, URL, timers...). */
const BROWSER_GLOBALS = ['window', 'document', 'location', 'history', 'EventSource', 'ResizeObserver', 'HTMLElement', 'uPlot'];

/** The `no-restricted-imports` patterns for a file `depth` folders below src/<folder>. */
function boundaryPatterns(folder, depth) {
  const { folders, packages } = BOUNDARIES[folder];
  const up = '\\.\\./'.repeat(depth);
  const patterns = [
    {
      regex: `^${up}(?:${folders.join('|')})(?:/|$)`,
      message: `src/${folder} may not import src/{${folders.join(',')}}: see the layout in the README.`,
    },
    {
      regex: `^${up}(?:index|worker)\\.js$`,
      message: `src/${folder} may not import the package entries, which only re-export.`,
    },
  ];
  if (packages === undefined) return patterns;
  // Any bare specifier but `node:` built-ins and the listed packages.
  const allowed = ['node:', '\\.', ...packages.map((name) => `${name}(?:/|$)`)];
  const loads = packages.length === 0 ? 'no package' : `no package but ${packages.join(', ')}`;
  return [
    ...patterns,
    { regex: `^(?!${allowed.join('|')})`, allowTypeImports: true, message: `src/${folder} loads ${loads} at run time.` },
  ];
}

const boundaries = Object.keys(BOUNDARIES).flatMap((folder) => [
  {
    files: [`src/${folder}/*.ts`],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns: boundaryPatterns(folder, 1) }] },
  },
  {
    files: [`src/${folder}/*/**/*.ts`],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns: boundaryPatterns(folder, 2) }] },
  },
]);

export default defineConfig(
  { ignores: ['dist/**', 'coverage/**', 'node_modules/**', 'bench/results/**'] },
  js.configs.recommended,
  tseslint.configs.strictTypeChecked,
  tseslint.configs.stylisticTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
      },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // Numbers and booleans read fine in messages: `${count} tasks`, `retry: ${enabled}`.
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      // `() => resolve(value)` and `(task) => logger.info(...)` are callbacks, not a use of a void value.
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true }],
      // It turns `value as T` into `value!`, which no-non-null-assertion (strict) forbids: the two conflict.
      '@typescript-eslint/non-nullable-type-assertion-style': 'off',
      // A Record or index-signature read keeps its brackets (`entry['time']`): they say the key may be absent.
      '@typescript-eslint/dot-notation': ['error', { allowIndexSignaturePropertyAccess: true }],
      // Rejecting with `signal.reason` or with what a handler threw passes the caller's value on unchanged.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingAny: true, allowThrowingUnknown: true }],
      // Unused arguments and caught errors are kept on purpose when a signature is fixed by a
      // caller (a handler's `task`, a listener's event); an underscore says so.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
    },
  },
  // `taskloom/worker` is what handler modules import: it re-exports shared code only, and shared loads
  // no package at run time, so the light entry can never reach piscina, pino, comlink or src/main.
  {
    files: ['src/worker.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(?!\\./shared/)',
              message: 'taskloom/worker re-exports src/shared only, so that a worker that imports it stays light.',
            },
          ],
        },
      ],
    },
  },
  ...boundaries,
  {
    files: ['test/**/*.ts'],
    rules: {
      // `manager.getTask(id)!.state`: in a test, a wrong assertion throws and fails the test, which is
      // what an explicit check would do, with more noise.
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    files: ['test/fixtures/**'],
    rules: {
      // Some handlers throw a string or undefined on purpose, to test how such a failure is reported.
      '@typescript-eslint/only-throw-error': 'off',
    },
  },
  // JavaScript files (this config, the tsx preloads) are not in any tsconfig: lint them without types.
  {
    files: ['**/*.{js,mjs,cjs}'],
    extends: [tseslint.configs.disableTypeChecked],
    // They run on Node, so Node's own globals are the ones they may use.
    languageOptions: { globals: Object.fromEntries(Object.getOwnPropertyNames(globalThis).map((name) => [name, 'readonly'])) },
  },
  // The dashboard's page runs in a browser, with uPlot loaded before it.
  {
    files: ['src/dashboard/page/**/*.js'],
    languageOptions: {
      globals: Object.fromEntries(BROWSER_GLOBALS.map((name) => [name, 'readonly'])),
    },
  },
);
