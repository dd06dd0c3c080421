import { Miniflare } from 'miniflare'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DB } from '../../src/index.js'
import { loadManifest } from '../../src/manifest/index.js'
import type { Bucket } from '../../src/storage/index.js'
import { TailEvents, type TraceItemLike, WorkerErrors, WorkerLogs, WorkerRequests, traceItemToTailEvent } from '../../src/tail/index.js'
import { bundleTailWorker } from '../helpers/bundle.js'
import { downloadObjects, duck, fileList } from '../helpers/duckdb.js'
import { canonical } from '../helpers/rows.js'

/** A producer worker: logs, errors, throws on /throw, answers 503 on /busy, runs a cron. */
const PRODUCER = `
export default {
  async fetch(request) {
    const url = new URL(request.url)
    console.log('handling', url.pathname, { q: url.search })
    if (url.pathname === '/throw') { console.error('about to fail'); throw new TypeError('boom ' + url.search) }
    if (url.pathname === '/busy') { console.warn('shedding load'); return new Response('busy', { status: 503 }) }
    return new Response('ok')
  },
  async scheduled(controller) { console.info('cron', controller.cron) },
}`

/** A second consumer that records the raw TraceItems, the independent record of what was sent. */
const RECORDER = `
export default {
  async tail(events, env) { await env.SINK.fetch('http://sink/', { method: 'POST', body: JSON.stringify(events) }) },
}`

describe('end to end: real producer workers → tail worker → WAL → cron → Parquet', () => {
  let mf: Miniflare
  const recorded: TraceItemLike[] = []

  beforeAll(async () => {
    const [script, specScript] = await Promise.all([bundleTailWorker(), bundleTailWorker('examples/spec-tail-worker/wrangler.toml')])
    const producer = (name: string) => ({ name, modules: true, script: PRODUCER, compatibilityDate: '2025-04-01', tails: ['parquedb-tail', 'recorder', 'spec-tail'] })
    mf = new Miniflare({
      cf: false,
      workers: [
        producer('api-worker'),
        producer('auth-worker'),
        {
          name: 'parquedb-tail', modules: script, compatibilityDate: '2025-04-01', r2Buckets: ['PARQUEDB'], bindings: { PARQUEDB_ADMIN_TOKEN: 'e2e-token' },
          durableObjects: { PARQUEDB_BUFFER: { className: 'ParqueDBBuffer', useSQLite: true } },
        },
        // The spec's hand-written tail worker (examples/spec-tail-worker), into a bucket of its own.
        { name: 'spec-tail', modules: specScript, compatibilityDate: '2024-01-01', r2Buckets: { PARQUEDB: 'spec-bucket' } },
        {
          name: 'recorder', modules: true, script: RECORDER, compatibilityDate: '2025-04-01',
          serviceBindings: { SINK: async req => { recorded.push(...(JSON.parse(await req.text()) as TraceItemLike[])); return new Response(null, { status: 204 }) } },
        },
      ],
    })
  })
  afterAll(async () => { await mf?.dispose() })

  it('stores every TraceItem exactly as sent, compacts on the cron, and DuckDB reads the Parquet', async () => {
    const api = await mf.getWorker('api-worker')
    const auth = await mf.getWorker('auth-worker')
    let invocations = 0
    for (let i = 0; i < 12; i++) {
      const w = i % 2 ? auth : api
      const path = ['/', '/users', '/throw', '/busy'][i % 4]!
      try { await w.fetch(`https://${i % 2 ? 'auth' : 'api'}.example.com${path}?i=${i}`) } catch { /* /throw rejects */ }
      invocations++
    }
    await api.scheduled({ cron: '*/5 * * * *', scheduledTime: new Date() })
    invocations++

    const bucket = (await mf.getR2Bucket('PARQUEDB', 'parquedb-tail')) as unknown as Bucket
    const walCount = async () => (await bucket.list({ prefix: 'wal/TailEvents/' })).objects.length
    const walRows = async () => {
      let n = 0
      for (const o of (await bucket.list({ prefix: 'wal/TailEvents/' })).objects) n += (await (await bucket.get(o.key))!.text()).split('\n').filter(Boolean).length
      return n
    }
    // The worker writes through its group-commit buffer: the shards' alarms flush within maxWaitMs (5 s).
    for (let t = 0; (recorded.length < invocations || (await walRows()) < invocations) && t < 200; t++) await new Promise(r => setTimeout(r, 100))
    expect(recorded.length).toBe(invocations)
    expect(await walRows()).toBe(invocations)
    expect(await walCount()).toBeLessThan(invocations) // fewer segments than tail() calls: at most one per shard here

    const reader = DB({ TailEvents }, { storage: bucket })
    // The reference: the recorder's raw TraceItems through the same public transform.
    const expected = canonical(recorded.map(item => traceItemToTailEvent(item)).map(e => ({ ...e, eventTimestamp: new Date(e.eventTimestamp) })))
    expect(canonical(await reader.TailEvents.find())).toEqual(expected) // readable straight from the WAL

    const result = await (await mf.getWorker('parquedb-tail')).scheduled({ cron: '* * * * *', scheduledTime: new Date() })
    expect(result.outcome).toBe('ok')
    const { manifest } = await loadManifest(bucket, '', 0)
    const files = manifest.collections.TailEvents!.files
    expect(files.reduce((n, f) => n + f.rows, 0)).toBe(invocations)
    expect(canonical(await reader.TailEvents.find())).toEqual(expected) // and from Parquet, unchanged

    const paths = await downloadObjects(bucket, files.map(f => f.key))
    const from = `read_parquet(${fileList(paths)})`
    const types = await duck(`SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM ${from})`)
    const typeOf = Object.fromEntries(types.map(r => [r.column_name, r.column_type]))
    expect(typeOf).toMatchObject({ scriptName: 'VARCHAR', outcome: 'VARCHAR', eventTimestamp: 'TIMESTAMP', event: 'VARIANT', logs: 'VARIANT', exceptions: 'VARIANT', url: 'VARCHAR', status: 'BIGINT', cpuTime: 'BIGINT', truncated: 'BOOLEAN' })

    const rows = await duck(`SELECT epoch_ms(eventTimestamp) AS ts, outcome, url, method, colo, country, status, exceptionName, exceptionMessage, event::JSON::VARCHAR AS event, logs::JSON::VARCHAR AS logs FROM ${from} ORDER BY ts, url`)
    // A promoted value is stored once, in its column; inside the variant its place holds null (docs/formats.md).
    const withColumns = (row: Record<string, unknown>) => {
      const event = JSON.parse(row.event as string) as { request?: Record<string, unknown> & { cf?: Record<string, unknown> }; response?: Record<string, unknown> } | null
      if (row.url !== null) event!.request!.url = row.url
      if (row.method !== null) event!.request!.method = row.method
      if (row.colo !== null) event!.request!.cf!.colo = row.colo
      if (row.country !== null) event!.request!.cf!.country = row.country
      if (row.status !== null) event!.response!.status = Number(row.status)
      return event
    }
    expect(rows.length).toBe(invocations)
    const byUrl = new Map(recorded.map(r => [(r.event as { request?: { url: string } }).request?.url ?? 'scheduled', r]))
    for (const row of rows) {
      const item = byUrl.get((row.url as string | null) ?? 'scheduled')!
      expect(Number(row.ts)).toBe(item.eventTimestamp)
      expect(row.outcome).toBe(item.outcome)
      expect(withColumns(row)).toEqual(item.event)
      if (row.url !== null) expect(JSON.parse(row.event as string).request.url).toBeNull()
      // Layout 2 stores an empty array as a Parquet null (arrays are never null: null means empty).
      expect(JSON.parse((row.logs as string | null) ?? '[]')).toEqual(item.logs)
      const ex = (item.exceptions ?? []) as { name: string; message: string }[]
      expect(row.exceptionName).toBe(ex[0]?.name ?? null)
      expect(row.exceptionMessage).toBe(ex[0]?.message ?? null)
      const status = (item.event as { response?: { status: number } }).response?.status
      expect(row.status === null ? null : Number(row.status)).toBe(status ?? null)
    }
    // The spec's own tail() stores the same events (its fields; the engine fills the rest).
    const specBucket = (await mf.getR2Bucket('PARQUEDB', 'spec-tail')) as unknown as Bucket
    for (let t = 0; (await specBucket.list({ prefix: 'wal/TailEvents/' })).objects.length < invocations && t < 400; t++) await new Promise(r => setTimeout(r, 25))
    const specRows = await DB({ TailEvents }, { storage: specBucket }).TailEvents.find()
    const specFields = (e: object) => { const { scriptName, outcome, eventTimestamp, event, logs, exceptions, diagnosticsChannelEvents } = e as Record<string, unknown>; return { scriptName, outcome, eventTimestamp, event, logs, exceptions, diagnosticsChannelEvents } }
    expect(canonical(specRows.map(specFields))).toEqual(canonical(recorded.map(i => specFields({ ...traceItemToTailEvent(i) }))))

    // The spec's views, read from the spec's worker's bucket: the WAL tail through each view.
    const specDb = DB({ TailEvents, WorkerErrors, WorkerRequests, WorkerLogs }, { storage: specBucket })
    const errors = await specDb.WorkerErrors.find({ outcome: 'exception' })
    expect(errors.map(e => e.exceptionName).sort()).toEqual(recorded.filter(r => r.outcome === 'exception').map(r => (r.exceptions as { name: string }[])[0]!.name).sort())
    expect(errors.every(e => e.url?.includes('/throw'))).toBe(true)
    const busy = await specDb.WorkerRequests.find({ status: 503 })
    expect(busy.length).toBe(3)
    const warnings = await specDb.WorkerLogs.find({ level: 'warn' })
    expect(warnings.map(w => w.message)).toEqual([['shedding load'], ['shedding load'], ['shedding load']])

    const outcomes = await duck(`SELECT outcome, count(*)::INTEGER AS n FROM ${from} GROUP BY outcome ORDER BY outcome`)
    expect(outcomes).toEqual([{ outcome: 'exception', n: 3 }, { outcome: 'ok', n: invocations - 3 }])
  })
})
