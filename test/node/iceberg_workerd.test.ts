import { Miniflare } from 'miniflare'
import { describe, expect, it } from 'vitest'
import { bundleTailWorker } from '../helpers/bundle.js'
import { makeEvents } from '../helpers/events.js'

describe('Iceberg publishing inside workerd', () => {
  it('a worker bundled as wrangler deploys it (no nodejs_compat) publishes a table from a compaction pass', async () => {
    const modules = await bundleTailWorker('test/fixtures/iceberg-worker/wrangler.toml')
    const mf = new Miniflare({
      cf: false,
      workers: [{
        name: 'iceberg', modules, compatibilityDate: '2025-04-01',
        r2Buckets: ['PARQUEDB'],
      }],
    })
    try {
      const events = makeEvents(40, { start: Date.parse('2024-01-15T09:00:00Z'), spanMs: 3_600_000 })
        .map(e => ({ ...e, eventTimestamp: +e.eventTimestamp }))
      const res = await mf.dispatchFetch('http://localhost/', { method: 'POST', body: JSON.stringify(events) })
      const out = (await res.json()) as { published: number; metadata: Record<string, unknown> }
      expect(res.status).toBe(200)
      expect(out.published).toBe(1)
      expect(out.metadata).toMatchObject({ 'format-version': 2, location: 's3://parquedb-data/data/TailEvents' })
      const snap = (out.metadata.snapshots as { summary: Record<string, string>; 'manifest-list': string }[])[0]!
      expect(snap.summary['total-records']).toBe('40')
      expect(snap['manifest-list']).toMatch(/^s3:\/\/parquedb-data\/data\/TailEvents\/metadata\/snap-\d{15}-[a-z0-9]+\.avro$/)
    } finally {
      await mf.dispose()
    }
  })
})
