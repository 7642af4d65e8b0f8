import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // Tests import the built package, exactly as users do: the worker entry resolves from dist.
    alias: [
      { find: /^taskloom$/, replacement: new URL('./dist/index.js', import.meta.url).pathname },
      { find: /^taskloom\/worker$/, replacement: new URL('./dist/worker.js', import.meta.url).pathname },
      { find: /^taskloom\/actions$/, replacement: new URL('./dist/actions/index.js', import.meta.url).pathname },
      { find: /^taskloom\/distributed$/, replacement: new URL('./dist/distributed/index.js', import.meta.url).pathname },
    ],
  },
  test: {
    include: ['test/**/*.test.ts'],
    // The load test runs on its own: `npm run test:load`.
    exclude: ['test/load/**', 'node_modules/**'],
    pool: 'forks',
    // In watch mode, tsc --watch keeps dist built (test/watch-build.ts). Vitest follows the dist
    // files the tests import, but not those only worker threads load: a change there reruns all.
    globalSetup: ['./test/watch-build.ts'],
    forceRerunTriggers: [...configDefaults.forceRerunTriggers, '**/dist/workers/**'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
});
