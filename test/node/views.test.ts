import { readFileSync } from 'node:fs'
import { beforeAll, describe, expect, it } from 'vitest'
import { DB } from '../../src/index.js'
import { compileCollection, normalizeRow, toPublicRow } from '../../src/schema/index.js'
import { loadManifest } from '../../src/manifest/index.js'
import { MemoryBucket, listAll } from '../../src/storage/index.js'
import { TailEvents, type TailEvent, type TraceItemLike, WorkerErrors, WorkerLogs, WorkerRequests, traceItemToTailEvent } from '../../src/tail/index.js'
import { makeEvents } from '../helpers/events.js'
import { floorDay, floorHour, groupBy, quantile, type Row } from '../helpers/reference.js'
import { canonical } from '../helpers/rows.js'
import { SPEC_SCHEMA } from '../helpers/spec_schema.js'

const HOUR = 3_600_000
const T0 = Date.parse('2024-01-15T00:00:00Z')
const schema = compileCollection('TailEvents', TailEvents)
const recorded = JSON.parse(readFileSync(new URL('../fixtures/trace-items.json', import.meta.url), 'utf8')) as TraceItemLike[]

type Ev = TailEvent & Row
const inputs = [
  ...recorded.map((item, i) => traceItemToTailEvent({ ...item, scriptName: `recorded-${i % 2}`, wallTime: 7 * i, eventTimestamp: T0 + ((i * 2_345_678) % (30 * HOUR)) })),
  ...makeEvents(1500, { start: T0, spanMs: 30 * HOUR, seed: 21 }).map(e => ({ ...e, duration: e.wallTime })),
]
const pub = inputs.map(e => { const n = normalizeRow(schema, e); if (!n.ok) throw new Error(n.reason); return toPublicRow(schema, n.row) as Ev })

const req = (e: Ev) => (e.event as { request?: { url?: string; method?: string; cf?: { colo?: string; country?: string } } } | null)?.request
const resp = (e: Ev) => (e.event as { response?: { status?: number } } | null)?.response
const workerErrors = pub.filter(e => e.outcome !== 'ok' || e.exceptions.length > 0).map(e => ({
  scriptName: e.scriptName, outcome: e.outcome, exceptionName: e.exceptions[0]?.name ?? null, exceptionMessage: e.exceptions[0]?.message ?? null,
  url: req(e)?.url ?? null, status: resp(e)?.status ?? null, colo: req(e)?.cf?.colo ?? null, timestamp: e.eventTimestamp,
}))
const workerRequests = pub.filter(e => e.event !== null && e.event !== undefined).map(e => ({
  scriptName: e.scriptName, method: req(e)?.method ?? null, url: req(e)?.url ?? null, status: resp(e)?.status ?? null, outcome: e.outcome,
  colo: req(e)?.cf?.colo ?? null, country: req(e)?.cf?.country ?? null, timestamp: e.eventTimestamp,
}))
const workerLogs = pub.flatMap(e => e.logs.map(l => ({ scriptName: e.scriptName, level: l.level, message: l.message, timestamp: l.timestamp, colo: req(e)?.cf?.colo ?? null })))

const REFERENCE: Record<string, () => Row[]> = {
  WorkerLogs: () => workerLogs,
  WorkerErrors: () => workerErrors,
  WorkerRequests: () => workerRequests,
  EndpointMetrics: () => [...groupBy(workerRequests, r => [r.scriptName, r.method, floorHour(r.timestamp).getTime()]).values()].map(g => ({
    scriptName: g.key[0], method: g.key[1], hour: new Date(g.key[2] as number), requestCount: g.rows.length,
    errorRate: g.rows.filter(r => r.outcome !== 'ok').length / g.rows.length,
  })),
  ColoErrors: () => [...groupBy(workerErrors, r => [r.colo, floorHour(r.timestamp).getTime()]).values()].map(g => ({
    colo: g.key[0], hour: new Date(g.key[1] as number), errorCount: g.rows.length, uniqueScripts: new Set(g.rows.map(r => r.scriptName)).size,
  })),
  ErrorPatterns: () => [...groupBy(workerErrors, r => [r.scriptName, r.exceptionName, r.exceptionMessage]).values()].map(g => ({
    scriptName: g.key[0], exceptionName: g.key[1], exceptionMessage: g.key[2], occurrences: g.rows.length,
    firstSeen: new Date(Math.min(...g.rows.map(r => r.timestamp.getTime()))), lastSeen: new Date(Math.max(...g.rows.map(r => r.timestamp.getTime()))),
    affectedColos: new Set(g.rows.map(r => r.colo).filter(c => c !== null)).size,
  })),
  StatusCodes: () => [...groupBy(workerRequests, r => [r.scriptName, r.status, floorDay(r.timestamp).getTime()]).values()].map(g => ({
    scriptName: g.key[0], status: g.key[1], day: new Date(g.key[2] as number), count: g.rows.length,
  })),
  DailyMetrics: () => [...groupBy(workerRequests, r => [floorDay(r.timestamp).getTime()]).values()].map(g => ({ day: new Date(g.key[0] as number) })),
  OnlyErrors: () => pub.filter(e => e.outcome !== 'ok'),
}

describe('the spec views, maintained across compaction passes, against plain-JS references', () => {
  const bucket = new MemoryBucket()
  const clock = { now: T0 + 31 * HOUR }
  const db = DB(SPEC_SCHEMA, { storage: bucket, now: () => clock.now, compaction: { maxL0Files: 3 } })

  beforeAll(async () => {
    // Data arrives in waves with passes between them; the last wave stays in the WAL.
    const waves = [0, 400, 800, 1200, inputs.length]
    for (let w = 0; w < waves.length - 1; w++) {
      const wave = inputs.slice(waves[w], waves[w + 1])
      for (let i = 0; i < wave.length; i += 50) await db.TailEvents.bulkCreate(wave.slice(i, i + 50))
      if (w < waves.length - 2) { await db.compact(); clock.now += 10 * 60_000 }
    }
    const st = await db.status()
    expect(st.collections.TailEvents!.wal.segments).toBeGreaterThan(0)
  })

  it.each(['WorkerLogs', 'WorkerErrors', 'WorkerRequests', 'ColoErrors', 'ErrorPatterns', 'StatusCodes', 'OnlyErrors'])('%s (streaming: Parquet + WAL tail) equals its reference', async name => {
    const got = await (db as unknown as Record<string, { find(): Promise<Row[]> }>)[name]!.find()
    const want = REFERENCE[name]!()
    expect(got.length).toBe(want.length)
    expect(canonical(got)).toEqual(canonical(want))
  })

  it('scheduled views show what their last refresh made current; refresh() brings them up to date', async () => {
    // The first pass refreshed them (never refreshed = due); later waves stay pending until the next hour.
    const before = await db.EndpointMetrics.find()
    const sum = (rows: Row[]) => rows.reduce((n, r) => n + (r.requestCount as number), 0)
    expect(sum(before)).toBeLessThan(workerRequests.length)
    await db.refresh('EndpointMetrics')
    const after = await db.EndpointMetrics.find()
    expect(canonical(after)).toEqual(canonical(REFERENCE.EndpointMetrics!()))
    await db.refresh('DailyMetrics')
    expect(canonical(await db.DailyMetrics.find())).toEqual(canonical(REFERENCE.DailyMetrics!()))
  })

  it('RequestLatency percentiles stay within the sketch\'s 1% relative error of the exact values', async () => {
    await db.refresh('RequestLatency')
    const rows = await db.RequestLatency.find()
    const groups = groupBy(pub.filter(e => req(e) !== undefined), e => [e.scriptName, floorHour(e.eventTimestamp).getTime()])
    expect(rows.length).toBe(groups.size)
    for (const row of rows) {
      const g = groups.get(JSON.stringify([row.scriptName, (row.hour as Date).getTime()]))!
      expect(row.requestCount).toBe(g.rows.length)
      const durations = g.rows.map(e => e.duration).filter((d): d is number => typeof d === 'number')
      for (const [name, q] of [['p50', 0.5], ['p95', 0.95], ['p99', 0.99]] as const) {
        const exact = quantile(durations, q)!
        expect(Math.abs((row[name] as number) - exact)).toBeLessThanOrEqual(0.01 * Math.abs(exact) + 1e-9)
      }
    }
  })

  it('find() on views filters, prunes on their time field, and types rows', async () => {
    const since = new Date(T0 + 20 * HOUR)
    const q = db.WorkerErrors.find({ timestamp: { $gte: since } })
    const errors = await q
    expect(canonical(errors)).toEqual(canonical(workerErrors.filter(e => e.timestamp >= since)))
    expect(q.stats!.partitionsRead).toBeLessThan(q.stats!.partitionsConsidered)
    const api = await db.WorkerErrors.find({ scriptName: 'api-worker', outcome: 'exception' })
    expect(api.length).toBe(workerErrors.filter(e => e.scriptName === 'api-worker' && e.outcome === 'exception').length)
    const serverErrors = await db.WorkerRequests.find({ status: { $gte: 500 }, timestamp: { $gte: new Date('2024-01-15') } })
    expect(serverErrors.length).toBe(workerRequests.filter(r => (r.status ?? 0) >= 500).length)
    const errorLogs = await db.WorkerLogs.find({ level: 'error', scriptName: 'api-worker' })
    expect(errorLogs.length).toBe(workerLogs.filter(l => l.level === 'error' && l.scriptName === 'api-worker').length)
    await db.refresh('EndpointMetrics')
    const metrics = await db.EndpointMetrics.find({ scriptName: 'api-worker', hour: { $gte: new Date('2024-01-15T12:00:00Z') } })
    expect(canonical(metrics)).toEqual(canonical(REFERENCE.EndpointMetrics!().filter(r => r.scriptName === 'api-worker' && (r.hour as Date) >= new Date('2024-01-15T12:00:00Z'))))
    // Aggregated values can be filtered and sorted like fields.
    const busiest = await db.ColoErrors.find({ errorCount: { $gte: 2 } }, { sort: { errorCount: -1, hour: 1 }, limit: 3 })
    expect(busiest.map(r => r.errorCount)).toEqual(REFERENCE.ColoErrors!().map(r => r.errorCount as number).filter(n => n >= 2).sort((a, b) => b - a).slice(0, 3))
  })

  it('after more passes (merging partial states and row files) every view is unchanged', async () => {
    clock.now += 2 * HOUR
    await db.compact()
    await db.compact()
    for (const name of ['WorkerLogs', 'WorkerErrors', 'WorkerRequests', 'ColoErrors', 'ErrorPatterns', 'StatusCodes']) {
      const got = await (db as unknown as Record<string, { find(): Promise<Row[]> }>)[name]!.find()
      expect(canonical(got), name).toEqual(canonical(REFERENCE[name]!()))
    }
    const st = await db.status()
    expect(st.collections.TailEvents!.wal.segments).toBe(0)
  })
})

describe('scheduled refresh follows the injected clock', () => {
  it('refreshes exactly when the cron says a run was due, not before', async () => {
    const clock = { now: Date.parse('2024-01-15T10:20:00Z') }
    const db = DB({
      TailEvents,
      Hourly: { $from: 'TailEvents', $groupBy: [{ hour: '$eventTimestamp' }], $compute: { n: { $count: '*' } }, $refresh: { mode: 'scheduled', schedule: '0 * * * *' } },
    }, { storage: new MemoryBucket(), now: () => clock.now })
    const total = async () => (await db.Hourly.find()).reduce((n, r) => n + (r.n as number), 0)
    const add = async (n: number, seed: number) => db.TailEvents.bulkCreate(makeEvents(n, { start: Date.parse('2024-01-15T09:00:00Z'), spanMs: HOUR, seed }))

    await add(10, 1)
    expect((await db.compact()).viewsRefreshed).toBe(1) // never refreshed: due at once
    expect(await total()).toBe(10)
    await add(5, 2)
    clock.now = Date.parse('2024-01-15T10:59:59Z')
    expect((await db.compact()).viewsRefreshed).toBe(0) // next run is 11:00
    expect(await total()).toBe(10) // compacted, but pending until then
    clock.now = Date.parse('2024-01-15T11:00:00Z')
    expect((await db.compact()).viewsRefreshed).toBe(1)
    expect(await total()).toBe(15)
    await add(7, 3)
    clock.now = Date.parse('2024-01-15T11:30:00Z')
    expect((await db.compact()).viewsRefreshed).toBe(0)
    expect(await total()).toBe(15)
    expect((await db.status()).views.Hourly).toMatchObject({ refresh: 'scheduled', lastRefresh: new Date('2024-01-15T11:00:00Z'), pendingFiles: 1 })
    await db.refresh('Hourly') // forced: compacts the new rows and shows them now
    expect(await total()).toBe(22)
    expect((await db.status()).views.Hourly).toMatchObject({ lastRefresh: new Date('2024-01-15T11:30:00Z'), pendingFiles: 0, rebuilding: 0 })
    await expect(db.refresh('Nope')).rejects.toThrow(/no view named "Nope"/)
    // With a range, the view is rebuilt there from stored data first (same totals: it was exact).
    await db.refresh('Hourly', { from: Date.parse('2024-01-15T09:00:00Z'), to: Date.parse('2024-01-15T10:00:00Z') })
    expect(await total()).toBe(22)
    expect((await db.status()).views.Hourly!.rebuilding).toBe(0)
  })
})

describe('rebuild ranges for every bucket size', () => {
  it.each(['minute', 'hour', 'day', 'week', 'month'] as const)('%s buckets: recompact leaves the totals exact', async unit => {
    const clock = { now: Date.parse('2024-02-20T00:00:00Z') }
    const db = DB({ TailEvents, V: { $from: 'TailEvents', $groupBy: [{ [unit]: '$eventTimestamp' }], $compute: { n: { $count: '*' } } } }, { storage: new MemoryBucket(), now: () => clock.now })
    const events = makeEvents(300, { start: Date.parse('2024-01-28T00:00:00Z'), spanMs: 10 * 24 * HOUR, seed: 8 })
    await db.TailEvents.bulkCreate(events)
    await db.compact()
    const sum = async () => (await db.V.find()).reduce((n, r) => n + (r.n as number), 0)
    expect(await sum()).toBe(300)
    const r = await db.recompact({ from: Date.parse('2024-01-30T10:00:00Z'), to: Date.parse('2024-02-02T10:00:00Z') })
    expect(r.remaining).toBe(0)
    expect(await sum()).toBe(300)
    const buckets = await db.V.find()
    expect(new Set(buckets.map(b => +(b[unit] as Date))).size).toBe(buckets.length)
  })
})

describe('backfill and recompaction of views', () => {
  const pick = <K extends string>(names: K[]) => Object.fromEntries(names.map(n => [n, (SPEC_SCHEMA as Record<string, unknown>)[n]])) as Record<K, Record<string, unknown>>
  const read = (db: unknown, name: string) => (db as Record<string, { find(): Promise<Row[]> }>)[name]!.find()

  it('a view added to a store that already holds data covers the old data after the next pass', async () => {
    const bucket = new MemoryBucket()
    const clock = { now: T0 + 31 * HOUR }
    const before = DB({ TailEvents }, { storage: bucket, now: () => clock.now })
    for (let i = 0; i < inputs.length; i += 100) await before.TailEvents.bulkCreate(inputs.slice(i, i + 100))
    await before.compact()
    const names = ['WorkerErrors', 'WorkerRequests', 'ColoErrors', 'ErrorPatterns', 'StatusCodes'] as const
    const after = DB({ TailEvents, ...pick([...names]) }, { storage: bucket, now: () => clock.now })
    expect(await read(after, 'ColoErrors')).toEqual([]) // nothing derived yet: no WAL tail either
    const pass = await after.compact()
    expect(pass.partitionsRecompacted).toBeGreaterThan(0)
    for (const n of names) expect(canonical(await read(after, n)), n).toEqual(canonical(REFERENCE[n]!()))
    // Nothing more to do on the next pass: the definitions are recorded.
    expect((await after.compact()).partitionsRecompacted).toBe(0)
  })

  it('changing a view definition rebuilds it; recompact({ from, to }) rewrites collections with their views', async () => {
    const bucket = new MemoryBucket()
    const clock = { now: T0 + 31 * HOUR }
    const v1 = DB({ TailEvents, Errs: { $from: 'TailEvents', $filter: { outcome: 'exception' }, $select: { s: '$scriptName', t: '$eventTimestamp' } } }, { storage: bucket, now: () => clock.now })
    for (let i = 0; i < inputs.length; i += 100) await v1.TailEvents.bulkCreate(inputs.slice(i, i + 100))
    await v1.compact()
    expect((await v1.Errs.find()).length).toBe(pub.filter(e => e.outcome === 'exception').length)
    const v2 = DB({ TailEvents, Errs: { $from: 'TailEvents', $filter: { outcome: { $ne: 'ok' } }, $select: { s: '$scriptName', t: '$eventTimestamp', o: '$outcome' } } }, { storage: bucket, now: () => clock.now })
    await v2.compact()
    const rebuilt = await v2.Errs.find()
    expect(canonical(rebuilt)).toEqual(canonical(pub.filter(e => e.outcome !== 'ok').map(e => ({ s: e.scriptName, t: e.eventTimestamp, o: e.outcome }))))

    const r = await v2.recompact({ from: new Date(T0 + 5 * HOUR), to: new Date(T0 + 7 * HOUR), collections: ['TailEvents'] })
    expect(r.partitions.TailEvents).toEqual(['dt=2024-01-15/hour=05', 'dt=2024-01-15/hour=06'])
    expect(r.partitions.Errs!.length).toBeGreaterThan(0)
    expect(r.remaining).toBe(0)
    expect(canonical(await v2.Errs.find())).toEqual(canonical(rebuilt))
  })
})

describe('views stay exact through schema and data surprises', () => {
  const T = Date.parse('2024-01-15T09:00:00Z')
  const ev = (i: number, event: unknown, extra: Record<string, unknown> = {}) => ({ scriptName: 'w', outcome: 'ok', eventTimestamp: new Date(T + i * 1000), event, ...extra })

  it('an aggregate added to a view reads old files (no such column) and is rebuilt; compaction never wedges', async () => {
    const bucket = new MemoryBucket()
    const clock = { now: T + 2 * HOUR }
    const v1 = DB({ TailEvents, V: { $from: 'TailEvents', $groupBy: ['scriptName'], $compute: { n: { $count: '*' } } } }, { storage: bucket, now: () => clock.now })
    await v1.TailEvents.bulkCreate([ev(1, null), ev(2, null)])
    await v1.compact()
    const v2 = DB({ TailEvents, V: { $from: 'TailEvents', $groupBy: ['scriptName'], $compute: { n: { $count: '*' }, w: { $sum: 'wallTime' } } } }, { storage: bucket, now: () => clock.now })
    await v2.TailEvents.bulkCreate([ev(3, null, { wallTime: 5 })])
    expect(await v2.V.find()).toEqual([{ scriptName: 'w', n: 3, w: 5 }]) // old file: empty state for w
    expect((await v2.compact()).done).toBe(true)
    expect(await v2.V.find()).toEqual([{ scriptName: 'w', n: 3, w: 5 }])
    // A collection that gains a field reads its old files too.
    const v3 = DB({ TailEvents, V: { $from: 'TailEvents', $groupBy: ['scriptName'], $compute: { n: { $count: '*' }, w: { $sum: 'wallTime' } } }, Extra: { t: 'timestamp!' } }, { storage: bucket, now: () => clock.now })
    expect((await v3.compact()).done).toBe(true)
  })

  it('a nested value of the wrong type for a typed view column becomes null instead of failing the write', async () => {
    const db = DB({ TailEvents, WorkerRequests }, { storage: new MemoryBucket(), now: () => T + 2 * HOUR })
    await db.TailEvents.bulkCreate([
      ev(1, { request: { url: 42, method: 'GET' }, response: { status: 'abc' } }),
      ev(2, { request: { url: 'https://x/', method: 'GET' }, response: { status: 200.5 } }),
      ev(3, { request: { url: 'https://y/', method: 'GET' }, response: { status: 2 ** 70 } }),
    ])
    expect((await db.compact()).rowsCompacted).toBe(3)
    const rows = await db.WorkerRequests.find({}, { sort: { timestamp: 1 }, project: { url: 1, status: 1 } })
    expect(rows).toEqual([{ url: null, status: null }, { url: 'https://x/', status: null }, { url: 'https://y/', status: null }])
  })

  it('object-valued keys group the same from the WAL and from Parquet', async () => {
    const db = DB({
      TailEvents,
      ByVersion: { $from: 'TailEvents', $groupBy: ['scriptName', 'scriptVersion'], $compute: { n: { $count: '*' }, d: { $countDistinct: 'scriptVersion' } } },
    }, { storage: new MemoryBucket(), now: () => T + 2 * HOUR })
    await db.TailEvents.bulkCreate([ev(1, null, { scriptVersion: { tag: 'v1', id: 'a' } })])
    await db.compact()
    await db.TailEvents.bulkCreate([ev(2, null, { scriptVersion: { tag: 'v1', id: 'a' } })])
    expect(await db.ByVersion.find()).toEqual([{ scriptName: 'w', scriptVersion: { id: 'a', tag: 'v1' }, n: 2, d: 1 }])
  })

  it('changing a source view rebuilds the views built on it; dropping and re-adding a view backfills it', async () => {
    const bucket = new MemoryBucket()
    const clock = { now: T + 2 * HOUR }
    const schema = (k: string) => ({
      TailEvents,
      V1: { $from: 'TailEvents', $filter: { outcome: k }, $select: { s: '$scriptName', t: '$eventTimestamp' } },
      V2: { $from: 'V1', $groupBy: ['s'], $compute: { n: { $count: '*' } } },
    })
    const a = DB(schema('ok'), { storage: bucket, now: () => clock.now })
    await a.TailEvents.bulkCreate([ev(1, null), ev(2, null, { outcome: 'exception' }), ev(3, null, { outcome: 'exception' })])
    await a.compact()
    expect(await a.V2.find()).toEqual([{ s: 'w', n: 1 }])
    const b = DB(schema('exception'), { storage: bucket, now: () => clock.now })
    await b.compact()
    expect(await b.V2.find()).toEqual([{ s: 'w', n: 2 }])
    // A deployment without V2 compacts new data; V2 comes back and must cover it.
    const without = DB({ TailEvents, V1: schema('exception').V1 }, { storage: bucket, now: () => clock.now })
    await without.TailEvents.bulkCreate([ev(4, null, { outcome: 'exception' })])
    await without.compact()
    await b.compact()
    expect(await b.V2.find()).toEqual([{ s: 'w', n: 3 }])
  })

  it('a view the schema drops keeps its files for droppedViewGraceMs, then they are deleted', async () => {
    const bucket = new MemoryBucket()
    const clock = { now: T + 2 * HOUR }
    const V = { $from: 'TailEvents', $select: { s: '$scriptName', t: '$eventTimestamp' } }
    const withV = DB({ TailEvents, V }, { storage: bucket, now: () => clock.now })
    await withV.TailEvents.bulkCreate([ev(1, null), ev(2, null)])
    await withV.compact()
    const viewKeys = async () => { const out: string[] = []; for await (const o of listAll(bucket, 'data/V/')) out.push(o.key); return out }
    expect((await viewKeys()).length).toBeGreaterThan(0)

    const without = DB({ TailEvents }, { storage: bucket, now: () => clock.now })
    await without.compact()
    clock.now += 6 * 86_400_000
    await without.compact()
    expect((await loadManifest(bucket, '', 0)).manifest.views?.V?.dropped).toBe(T + 2 * HOUR)
    expect((await viewKeys()).length).toBeGreaterThan(0)
    // Past the grace: out of the manifest, then deleted once the GC grace has passed too.
    clock.now += 86_400_000
    await without.compact()
    const m = (await loadManifest(bucket, '', 0)).manifest
    expect(m.views?.V).toBeUndefined()
    expect(m.collections.V).toBeUndefined()
    clock.now += 11 * 60_000
    await without.compact()
    expect(await viewKeys()).toEqual([])

    // Brought back, it is rebuilt from the source.
    await withV.compact()
    expect((await withV.V.find()).length).toBe(2)
  })
})

describe('view definitions are checked at DB() time', () => {
  const bad: [Record<string, unknown>, RegExp][] = [
    [{ V: { $from: 'TailEvents', $select: { a: '$scriptName' }, $groupBy: ['a'] } }, /view V\.\$select: a view either selects/],
    [{ V: { $from: 'TailEvents', $unnest: 'scriptName' } }, /view V\.\$unnest: "scriptName" is not an array field/],
    [{ V: { $from: 'TailEvents', $groupBy: [{ fortnight: '$eventTimestamp' }], $compute: { n: { $count: '*' } } } }, /view V\.\$groupBy\[0\]: unknown time bucket "fortnight"/],
    [{ V: { $from: 'TailEvents', $groupBy: ['scriptName'], $compute: { n: { $median: 'x' } } } }, /view V\.\$compute\.n: unknown aggregate \$median/],
    [{ V: { $from: 'TailEvents', $groupBy: ['scriptName'], $compute: { p: { $percentile: ['duration', 2] } } } }, /\$percentile takes/],
    [{ V: { $from: 'TailEvents', $filter: { outcome: { $like: 'x' } } } }, /view V\.\$filter: unknown operator \$like/],
    // Misspelt fields are errors, not views of nulls.
    [{ V: { $from: 'TailEvents', $groupBy: ['scriptName'], $compute: { p50: { $percentile: ['durations', 0.5] } } } }, /view V\.\$compute\.p50: reads "durations", which TailEvents does not have; its fields: scriptName/],
    [{ V: { $from: 'TailEvents', $groupBy: ['scriptName'], $compute: { n: { $countDistinct: 'colos' } } } }, /view V\.\$compute\.n: reads "colos"/],
    [{ V: { $from: 'TailEvents', $groupBy: ['scriptNme'], $compute: { n: { $count: '*' } } } }, /view V\.\$groupBy\[0\]: reads "scriptNme"/],
    [{ V: { $from: 'TailEvents', $filter: { outcom: 'ok' } } }, /view V\.\$filter: reads "outcom"/],
    [{ V: { $from: 'TailEvents', $filter: { $expr: { $eq: [{ $mod: [{ $hash: '$eventTimestmp' }, 10] }, 0] } } } }, /view V\.\$filter: reads "eventTimestmp"/],
    [{ WorkerErrors, V: { $from: 'WorkerErrors', $select: { c: '$event.request.cf.colo' } } }, /view V\.\$select\.c: reads "event", which WorkerErrors does not have/],
    [{ V: { $from: 'TailEvents', $refresh: { mode: 'scheduled', schedule: 'every hour' } } }, /view V\.\$refresh: invalid cron schedule "every hour"/],
    [{ V: { $from: 'TailEvents', $wat: 1 } }, /view V\.\$wat: unknown key/],
    [{ A: { $from: 'TailEvents', $groupBy: ['scriptName'] }, B: { $from: 'A' } }, /view B\.\$from: A is an aggregating view/],
    [{ V: { $from: 'TailEvents', $groupBy: [{ hour: '$event.scheduledTime' }] } }, /view V\.\$groupBy\[0\]: time buckets are cut from TailEvents's time field: write \{ hour: '\$eventTimestamp' \}/],
    [{ WorkerLogs, V: { $from: 'WorkerLogs', $groupBy: [{ minute: '$timestamp' }] } }, /view V\.\$groupBy\[0\]: WorkerLogs has no visible time field/],
  ]
  it.each(bad)('%j', (views, message) => {
    expect(() => DB({ TailEvents, ...views }, { storage: { type: 'memory' } })).toThrow(message)
  })
})
