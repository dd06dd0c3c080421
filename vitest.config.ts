import { cloudflareTest } from '@cloudflare/vitest-pool-workers'
import { defineConfig } from 'vitest/config'

/**
 * Two projects in one run: `workers` runs inside workerd (the real runtime, with a
 * local R2 binding from wrangler.toml); `node` runs DuckDB checks, the fs adapter,
 * Miniflare end-to-end runs with real producer workers, and the CLI.
 */
export default defineConfig({
  test: {
    projects: [
      {
        plugins: [cloudflareTest({ wrangler: { configPath: './wrangler.toml' } })],
        test: {
          name: 'workers',
          include: ['test/workers/**/*.test.ts'],
          deps: { optimizer: { ssr: { enabled: true, include: ['cron-parser', 'luxon'] } } },
        },
      },
      {
        test: { name: 'node', environment: 'node', include: ['test/node/**/*.test.ts'], testTimeout: 120_000, hookTimeout: 120_000 },
      },
    ],
  },
})
