import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    // Files run in parallel, each in its own database; 2 cores here.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
