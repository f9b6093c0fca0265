import { defineConfig } from 'vitest/config';
import { testRedisUrl } from './test/helpers/urls.ts';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    // Files run in parallel, each in its own database; 2 cores here.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Every test file sees the Redis that global setup checked, including when REDIS_URL was unset.
    env: { REDIS_URL: testRedisUrl() },
  },
});
