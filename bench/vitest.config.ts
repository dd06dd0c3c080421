import { defineConfig } from 'vitest/config'

/** `npm run bench`: the benchmark suite, run beside DuckDB on the same data, reported as ratios. */
export default defineConfig({
  test: {
    name: 'bench',
    include: ['bench/**/*.bench.ts'],
    environment: 'node',
    testTimeout: 600_000,
    hookTimeout: 600_000,
    fileParallelism: false,
  },
})
