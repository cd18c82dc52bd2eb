/** The test set StrykerJS runs against each mutant (npm run mutate): the fast unit tests. */
import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

export default defineConfig({
  test: {
    ...base.test,
    include: ['tests/unit/**/*.test.ts'],
    exclude: ['tests/unit/handler-cold-start.test.ts'],
  },
});
