import { env } from 'cloudflare:workers'
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { DB } from '../../src/index.js'
import { loadManifest } from '../../src/manifest/index.js'
import { readFileRowGroups } from '../../src/query/index.js'
import { TailEvents } from '../../src/tail/index.js'
import worker, { db } from '../../src/worker.js'
import { makeEvents } from '../helpers/events.js'
import { canonical } from '../helpers/rows.js'

const T0 = Date.parse('2024-01-15T09:00:00Z')

describe('engine inside workerd on an R2 binding', () => {
  it('bulkCreate → compact → Parquet in R2 → read back, exactly the input', async () => {
    const db = DB({ TailEvents }, { storage: { type: 'r2', bucket: env.PARQUEDB }, prefix: 'engine-1', now: () => T0 + 3 * 3_600_000 })
    const events = makeEvents(300, { start: T0, spanMs: 3 * 3_600_000 })
    for (let i = 0; i < 300; i += 60) expect((await db.TailEvents.bulkCreate(events.slice(i, i + 60))).written).toBe(60)
    const before = canonical(await db.TailEvents.find())
    expect(before.length).toBe(300)
    const pass = await db.compact()
    expect(pass).toMatchObject({ segmentsCompacted: 5, rowsCompacted: 300, filesWritten: 3 })
    expect(canonical(await db.TailEvents.find())).toEqual(before)
    const { manifest } = await loadManifest(env.PARQUEDB, 'engine-1/', 0)
    const file = manifest.collections.TailEvents!.files[0]!
    expect(file.key.startsWith('engine-1/data/TailEvents/dt=2024-01-15/hour=')).toBe(true)
    const schema = db.collections[0]!
    let rows = 0
    for await (const g of readFileRowGroups(env.PARQUEDB, schema, file)) rows += g.length
    expect(rows).toBe(file.rows)

    // find() in workerd: a pruned, filtered, sorted read over Parquet plus fresh WAL rows.
    await db.TailEvents.bulkCreate(makeEvents(40, { start: T0, spanMs: 3_600_000, seed: 2 }))
    const q = db.TailEvents.find(
      { eventTimestamp: { $gte: new Date(T0), $lt: new Date(T0 + 3_600_000) }, outcome: { $ne: 'ok' } },
      { sort: { eventTimestamp: -1 }, project: { outcome: 1, eventTimestamp: 1 } },
    )
    const got = await q
    const inputs = [...events, ...makeEvents(40, { start: T0, spanMs: 3_600_000, seed: 2 })]
    const want = inputs.filter(e => +new Date(e.eventTimestamp) < T0 + 3_600_000 && e.outcome !== 'ok').map(e => +new Date(e.eventTimestamp)).sort((a, b) => b - a)
    expect(got.map(r => +r.eventTimestamp)).toEqual(want)
    expect(q.stats).toMatchObject({ partitionsRead: 1, filesRead: 1, segmentsRead: 1 })
  })

  it('a module-scope DB with a lazily bound R2 binding (the deployable worker) handles tail, scheduled and admin', async () => {
    const now = Date.now()
    const items = [0, 1, 2].map(i => ({
      scriptName: null, outcome: i === 2 ? 'exception' : 'ok', eventTimestamp: now - i * 1000,
      event: { request: { url: `https://x/${i}`, method: 'GET', headers: {}, cf: { colo: 'LHR', country: 'GB' } }, response: { status: 200 } },
      logs: [{ level: 'log', message: ['hi', i], timestamp: now }], exceptions: i === 2 ? [{ name: 'Error', message: 'boom', timestamp: now, stack: '' }] : [],
      diagnosticsChannelEvents: [], cpuTime: 1, wallTime: 5, truncated: false, executionModel: 'stateless',
    }))
    const ctx = createExecutionContext()
    await worker.tail(items as unknown as TraceItem[], env as never, ctx)
    await waitOnExecutionContext(ctx)
    // The ready-made worker writes through the group-commit buffer: acknowledged in a shard, readable at once.
    expect((await env.PARQUEDB.list({ prefix: 'wal/TailEvents/' })).objects.length).toBe(0)
    expect((await db.TailEvents.find()).length).toBe(3)
    expect((await db.WorkerErrors.find()).map(e => e.url)).toEqual(['https://x/2'])
    expect(await db.flush()).toBe(1)
    const wal = await env.PARQUEDB.list({ prefix: 'wal/TailEvents/' })
    expect(wal.objects.length).toBe(1)

    const sctx = createExecutionContext()
    await worker.scheduled(createScheduledController({ scheduledTime: new Date(now), cron: '* * * * *' }), env as never, sctx)
    await waitOnExecutionContext(sctx)
    const { manifest } = await loadManifest(env.PARQUEDB, '', 0)
    expect(manifest.collections.TailEvents!.files.reduce((n, f) => n + f.rows, 0)).toBe(3)

    const withToken = { ...env, PARQUEDB_ADMIN_TOKEN: 's3cret' } as never
    const admin = (path: string, init: RequestInit = {}, token: string | null = 's3cret', e = withToken) =>
      worker.fetch(new Request(`https://w${path}`, { ...init, headers: token ? { authorization: `Bearer ${token}` } : {} }) as Parameters<typeof worker.fetch>[0], e)
    expect((await admin('/admin/status', {}, null)).status).toBe(401)
    expect((await admin('/admin/status', {}, 'nope')).status).toBe(401)
    const ok = await admin('/admin/status')
    expect(ok.status).toBe(200)
    const status = await ok.json() as { collections: { TailEvents: { rows: number } } }
    expect(status.collections.TailEvents.rows).toBe(3)
    const rc = await admin('/admin/recompact', { method: 'POST', body: JSON.stringify({ from: new Date(now - 3_600_000 * 2).toISOString() }) })
    expect(rc.status).toBe(200)
    const body = await rc.json() as { remaining: number; pass: { partitionsRecompacted: number } }
    expect(body.remaining).toBe(0)
    expect(body.pass.partitionsRecompacted).toBeGreaterThanOrEqual(1)
    const bad = await admin('/admin/recompact', { method: 'POST', body: '{"from":"yesterday"}' })
    expect(bad.status).toBe(400)
    expect(await bad.text()).toContain('from is not a date')
    expect((await admin('/admin/status', {}, 's3cret', env as never)).status).toBe(503)
    const sql = await admin('/admin/sql', { method: 'POST', body: JSON.stringify({ query: "SELECT exceptionName, url FROM WorkerErrors WHERE timestamp > NOW() - INTERVAL '1 hour'" }) })
    expect(sql.status).toBe(200)
    expect(((await sql.json()) as { rows: unknown[] }).rows).toEqual([{ exceptionName: 'Error', url: 'https://x/2' }])
    const badSql = await admin('/admin/sql', { method: 'POST', body: JSON.stringify({ query: 'SELECT nope FROM WorkerErrors' }) })
    expect(badSql.status).toBe(400)
    expect(await badSql.text()).toContain('Column \\"nope\\" not found')
  })
})
