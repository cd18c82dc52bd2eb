/**
 * StrykerJS test sets for engineer "shapes" (not the project's mutate run): SHAPES_TESTS picks
 * the files, so a module's own tests can be mutation-scored quickly on a busy machine.
 */
import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

export default defineConfig({
  test: {
    ...base.test,
    include: (process.env.SHAPES_TESTS ?? 'tests/unit/event-shape.test.ts,tests/unit/handlers.test.ts').split(','),
  },
});
