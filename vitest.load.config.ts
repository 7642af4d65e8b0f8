import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

// The load test alone, with a garbage collector it can call before it measures the heap.
export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: ['test/load/**/*.test.ts'],
    exclude: [],
    execArgv: ['--expose-gc'],
  },
});
