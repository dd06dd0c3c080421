import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { readFileSync } from 'node:fs'
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api'
import { type ExprNode, parseSql } from 'squirreling'
import { wherePushdown } from '../../src/query/index.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DB, SqlError } from '../../src/index.js'
import { compileCollection, normalizeRow, toPublicRow } from '../../src/schema/index.js'
import { MemoryBucket } from '../../src/storage/index.js'
import { TailEvents, type TailEvent, type TraceItemLike, WorkerErrors, WorkerLogs, WorkerRequests, traceItemToTailEvent } from '../../src/tail/index.js'
import { makeEvents } from '../helpers/events.js'
import { ORDER_KEYS, SPEC_QUERIES } from '../helpers/spec_sql.js'

const HOUR = 3_600_000
const T0 = Date.parse('2024-01-15T00:00:00Z')
const NOW = T0 + 30 * HOUR
const schema = compileCollection('TailEvents', TailEvents)
const recorded = JSON.parse(readFileSync(new URL('../fixtures/trace-items.json', import.meta.url), 'utf8')) as TraceItemLike[]

const inputs = [
  ...recorded.map((item, i) => traceItemToTailEvent({ ...item, scriptName: `recorded-${i % 2}`, eventTimestamp: NOW - ((i * 1_234_567) % (26 * HOUR)) })),
  ...makeEvents(1500, { start: T0, spanMs: 30 * HOUR, seed: 31 }),
]
type Ev = TailEvent & Record<string, unknown>
const pub = inputs.map(e => { const n = normalizeRow(schema, e); if (!n.ok) throw new Error(n.reason); return toPublicRow(schema, n.row) as Ev })
const req = (e: Ev) => (e.event as { request?: { url?: string; method?: string; cf?: { colo?: string; country?: string } } } | null)?.request
const resp = (e: Ev) => (e.event as { response?: { status?: number } } | null)?.response

function plain(v: unknown): unknown {
  if (v === null || v === undefined) return null
  if (v instanceof Date) return v.getTime()
  if (typeof v === 'bigint') return Number(v)
  if (Array.isArray(v)) return v.map(plain)
  if (typeof v === 'object') {
    const o = v as Record<string, unknown> & { micros?: bigint }
    if (typeof o.micros === 'bigint') return Number(o.micros / 1000n)
    const s = String(v)
    if (s !== '[object Object]' && !Number.isNaN(Number(s))) return Number(s)
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, plain(x)]))
  }
  return v
}
const norm = (rows: Record<string, unknown>[]) => rows.map(r => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, plain(v)])))
const rounded = (v: unknown) => (typeof v === 'number' ? Number(v.toPrecision(12)) : v)
const key = (r: Record<string, unknown>) => JSON.stringify(Object.keys(r).sort().map(k => [k, rounded(r[k])]))

describe('db.sql against DuckDB as the oracle', () => {
  const clock = { now: NOW }
  const db = DB({ TailEvents, WorkerLogs, WorkerErrors, WorkerRequests }, { storage: new MemoryBucket(), now: () => clock.now })
  let duck: DuckDBConnection
  let instance: DuckDBInstance

  beforeAll(async () => {
    const half = 800
    for (let i = 0; i < half; i += 100) await db.TailEvents.bulkCreate(inputs.slice(i, Math.min(i + 100, half)))
    await db.compact()
    for (let i = half; i < inputs.length; i += 100) await db.TailEvents.bulkCreate(inputs.slice(i, i + 100))

    // The same events, shaped by the spec's view definitions in plain JS, as DuckDB tables.
    const dir = await mkdtemp(join(tmpdir(), 'parquedb-sql-'))
    const iso = (ms: number) => new Date(ms).toISOString()
    const tables: Record<string, { rows: Record<string, unknown>[]; columns: Record<string, string> }> = {
      WorkerRequests: {
        rows: pub.filter(e => e.event !== null).map(e => ({ scriptName: e.scriptName, method: req(e)?.method ?? null, url: req(e)?.url ?? null, status: resp(e)?.status ?? null, outcome: e.outcome, colo: req(e)?.cf?.colo ?? null, country: req(e)?.cf?.country ?? null, timestamp: iso(+e.eventTimestamp) })),
        columns: { scriptName: 'VARCHAR', method: 'VARCHAR', url: 'VARCHAR', status: 'BIGINT', outcome: 'VARCHAR', colo: 'VARCHAR', country: 'VARCHAR', timestamp: 'TIMESTAMP' },
      },
      WorkerErrors: {
        rows: pub.filter(e => e.outcome !== 'ok' || e.exceptions.length > 0).map(e => ({ scriptName: e.scriptName, outcome: e.outcome, exceptionName: e.exceptions[0]?.name ?? null, exceptionMessage: e.exceptions[0]?.message ?? null, url: req(e)?.url ?? null, status: resp(e)?.status ?? null, colo: req(e)?.cf?.colo ?? null, timestamp: iso(+e.eventTimestamp) })),
        columns: { scriptName: 'VARCHAR', outcome: 'VARCHAR', exceptionName: 'VARCHAR', exceptionMessage: 'VARCHAR', url: 'VARCHAR', status: 'BIGINT', colo: 'VARCHAR', timestamp: 'TIMESTAMP' },
      },
      WorkerLogs: {
        // Log timestamps are epoch ms in ParqueDB (as the spec's LogEntry says); DuckDB gets them as TIMESTAMP so NOW() compares.
        rows: pub.flatMap(e => e.logs.map(l => ({ scriptName: e.scriptName, level: l.level, message: JSON.stringify(l.message), timestamp: iso(l.timestamp), colo: req(e)?.cf?.colo ?? null }))),
        columns: { scriptName: 'VARCHAR', level: 'VARCHAR', message: 'VARCHAR', timestamp: 'TIMESTAMP', colo: 'VARCHAR' },
      },
    }
    instance = await DuckDBInstance.create()
    duck = await instance.connect()
    for (const [name, t] of Object.entries(tables)) {
      const file = join(dir, `${name}.ndjson`)
      await writeFile(file, t.rows.map(r => JSON.stringify(r)).join('\n') + '\n')
      const cols = Object.entries(t.columns).map(([k, v]) => `${k}: '${v}'`).join(', ')
      await duck.run(`CREATE TABLE ${name} AS SELECT * FROM read_json('${file}', format = 'newline_delimited', columns = {${cols}})`)
    }
  })
  afterAll(() => { duck?.closeSync(); instance?.closeSync() })

  it.each(Object.keys(SPEC_QUERIES))('%s: same rows as DuckDB, ordered by the same keys', async name => {
    const sql = SPEC_QUERIES[name]!
    const ours = norm(await db.sql([sql] as unknown as TemplateStringsArray))
    const oracleSql = sql.replaceAll('NOW()', `TIMESTAMP '${new Date(NOW).toISOString().replace('T', ' ').replace('Z', '')}'`)
    const theirs = norm((await duck.runAndReadAll(oracleSql)).getRowObjects() as Record<string, unknown>[])
      .map(r => (name === 'debugLogs' ? { ...r, message: JSON.parse(r.message as string) as unknown } : r))
    expect(ours.length).toBe(theirs.length)
    expect(ours.length).toBeGreaterThan(0)
    const orderKeys = ORDER_KEYS[name]!
    expect(ours.map(r => orderKeys.map(k => rounded(r[k])))).toEqual(theirs.map(r => orderKeys.map(k => rounded(r[k]))))
    if (!/LIMIT/.test(sql)) expect(ours.map(key).sort()).toEqual(theirs.map(key).sort())
    else {
      // With LIMIT, rows tied on the sort key at the cut may differ; everything above the cut must match.
      const last = orderKeys.map(k => rounded(ours.at(-1)![k])).join()
      const above = (rows: Record<string, unknown>[]) => rows.filter(r => orderKeys.map(k => rounded(r[k])).join() !== last).map(key).sort()
      expect(above(ours)).toEqual(above(theirs))
    }
  })

  it('interpolated values are bound, never spliced: an injection attempt is inert', async () => {
    const evil = "api-worker' OR '1'='1"
    expect(await db.sql`SELECT COUNT(*) AS n FROM TailEvents WHERE scriptName = ${evil}`).toEqual([{ n: 0 }])
    const good = await db.sql`SELECT COUNT(*) AS n FROM TailEvents WHERE scriptName = ${'api-worker'}`
    expect(good[0]!.n).toBe(pub.filter(e => e.scriptName === 'api-worker').length)
    await expect(db.sql`SELECT scriptName FROM TailEvents LIMIT ${'1; SELECT 1'}`).rejects.toThrow(SqlError)
    const names = ['api-worker', "x') OR ('1'='1"]
    const listed = await db.sql`SELECT COUNT(*) AS n FROM TailEvents WHERE scriptName IN (${names})`
    expect(listed[0]!.n).toBe(good[0]!.n)
    const since = new Date(NOW - 2 * HOUR)
    const r = await db.sql.explain`SELECT COUNT(*) AS n FROM TailEvents WHERE eventTimestamp >= ${since}`
    expect(r.rows[0]!.n).toBe(pub.filter(e => +e.eventTimestamp >= +since).length)
    expect(r.scans[0]!.stats.timeRange.from).toEqual(since)
    expect(await db.sql`SELECT ${"'); DROP TABLE x; --"} AS v FROM TailEvents LIMIT 1`).toEqual([{ v: "'); DROP TABLE x; --" }])
  })

  it('nested fields: quoted dotted names for promoted paths, JSON_VALUE for any path', async () => {
    const rows = await db.sql`SELECT "event.request.url" AS u, JSON_VALUE(event, '$.request.cf.colo') AS c FROM TailEvents WHERE "event.response.status" = 503`
    const want = pub.filter(e => resp(e)?.status === 503)
    expect(rows.map(r => r.u).sort()).toEqual(want.map(e => req(e)?.url).sort())
    expect(rows.map(r => r.c).sort()).toEqual(want.map(e => req(e)?.cf?.colo).sort())
  })

  it('errors name the problem and where it is', async () => {
    await expect(db.sql`SELECT nope FROM WorkerLogs`).rejects.toThrow(/Column "nope" not found[^]*\(line 1, column \d+\)/)
    await expect(db.sql`SELECT * FROM Nope`).rejects.toThrow(/Table "Nope" not found/)
    await expect(db.sql`SELEC * FROM TailEvents`).rejects.toThrow(/line 1, column 1/)
    const e = await db.sql`SELECT scriptName\nFROM TailEvents\nWHERE = 1`.catch(x => x as SqlError)
    expect(e).toBeInstanceOf(SqlError)
    expect((e as SqlError).position).toMatchObject({ line: 3 })
  })
})

describe('SQL pushdown never drops a row the WHERE keeps', () => {
  const T = Date.parse('2024-01-15T12:00:00Z')
  const db = DB({ A: { t: 'timestamp!', k: 'string?', status: 'int?' }, B: { t: 'timestamp!', status: 'int?' } }, { storage: new MemoryBucket(), now: () => T })
  beforeAll(async () => {
    await db.A.bulkCreate([{ t: T - 105 * 60_000, k: 'x', status: 500 }, { t: T - 10 * 60_000, k: 'y', status: 200 }])
    await db.B.bulkCreate([{ t: T - 60_000, status: 200 }])
    await db.compact()
  })

  it('a qualified outer column inside a subquery is not pushed into the inner table', async () => {
    const rows = await db.sql`SELECT k, (SELECT COUNT(*) FROM B b WHERE a.status = 500) AS c FROM A a ORDER BY k`
    expect(rows).toEqual([{ k: 'x', c: 1 }, { k: 'y', c: 0 }])
  })

  it('fractional intervals are spelled whole, and match the same rows pushed down or not', async () => {
    expect((await db.sql`SELECT k FROM A WHERE t > NOW() - INTERVAL '1.8 hours' ORDER BY k`).map(r => r.k)).toEqual(['x', 'y'])
    expect((await db.sql`SELECT k FROM A WHERE t > NOW() - INTERVAL '1.5 hours' ORDER BY k`).map(r => r.k)).toEqual(['y'])
    expect((await db.sql`SELECT k FROM A WHERE t > NOW() - INTERVAL '1 week' ORDER BY k`).map(r => r.k)).toEqual(['x', 'y'])
    expect((await db.sql`SELECT COUNT(*) AS n FROM A WHERE t < NOW() - INTERVAL '0.01 weeks'`)).toEqual([{ n: 1 }])
  })

  it('a fraction that is not exact in floating point (1.1 h = 3960.0000000000005 s) still becomes whole seconds', async () => {
    const db2 = DB({ A: { t: 'timestamp!', k: 'string?' } }, { storage: new MemoryBucket(), now: () => T })
    await db2.A.bulkCreate([{ t: T - 70 * 60_000, k: 'old' }, { t: T - 65 * 60_000, k: 'new' }])
    // 1.1 hours is 66 minutes: if the engine rounded it to 1 hour, 'new' would be dropped.
    expect((await db2.sql`SELECT k FROM A WHERE t > NOW() - INTERVAL '1.1 hours'`).map(r => r.k)).toEqual(['new'])
    await db2.compact()
    expect((await db2.sql`SELECT k FROM A WHERE t > NOW() - INTERVAL '1.1 hours'`).map(r => r.k)).toEqual(['new'])
  })

  it('the engine skips its own WHERE only when the pushed-down filter is exactly it', () => {
    const schemaA = compileCollection('A', { t: 'timestamp!', k: 'string?', status: 'int?' })
    const env = { now: T, params: [new Date(T)] }
    const fn = { apply: () => null, arguments: { min: 0, max: 1 } }
    const where = (sql: string) => (parseSql({ query: `SELECT * FROM A WHERE ${sql}`, functions: { NOW: fn, __PARAM: fn } }) as { where?: ExprNode }).where
    const complete = (sql: string) => wherePushdown(where(sql), schemaA, env).complete
    expect(complete("t > NOW() - INTERVAL 1 HOUR AND status >= 500 AND k = 'x'")).toBe(true)
    expect(complete("k IN ('x', 'y') AND status < 3")).toBe(true)
    expect(complete("k > 'x'")).toBe(false) // string order differs beyond U+FFFF
    expect(complete('t = __PARAM(0)')).toBe(false) // the engine compares Dates by identity
    expect(complete("status >= 500 OR k = 'x'")).toBe(false)
    expect(complete('a.status = 500')).toBe(false)
    // A scalar field holds its value or null, as SQL sees it; an array ([] is not NULL) is left to the engine.
    expect(complete('status IS NOT NULL AND k IS NULL')).toBe(true)
    expect(wherePushdown(where('status IS NOT NULL AND k IS NULL'), schemaA, env).filter)
      .toEqual({ $and: [{ status: { $exists: true } }, { k: { $exists: false } }] })
    const withArray = compileCollection('B', { t: 'timestamp!', tags: 'string[]' })
    expect(wherePushdown(where('tags IS NOT NULL'), withArray, env).complete).toBe(false)
    expect(wherePushdown(where("status >= 500 OR k = 'x'"), schemaA, env).filter).toEqual({})
  })

  it('COUNT(*) counts every row of collections and of views whose time column is hidden', async () => {
    const logs = DB({ TailEvents, WorkerLogs }, { storage: new MemoryBucket(), now: () => T })
    const events = makeEvents(50, { start: T - HOUR, spanMs: HOUR, seed: 4 })
    await logs.TailEvents.bulkCreate(events.slice(0, 30))
    await logs.compact()
    await logs.TailEvents.bulkCreate(events.slice(30))
    const r = await logs.sql.explain`SELECT COUNT(*) AS n FROM TailEvents`
    expect(r.rows).toEqual([{ n: 50 }])
    expect(r.scans[0]!.stats).toMatchObject({ rowsRead: 50, segmentsRead: 1, filesRead: 1 })
    expect(await logs.sql`SELECT COUNT(*) AS n FROM WorkerLogs`).toEqual([{ n: events.reduce((n, e) => n + (e.logs?.length ?? 0), 0) }])
  })

  it('comments do not confuse the INTERVAL rewrite', async () => {
    const rows = await db.sql`SELECT k -- what's this
      FROM A /* isn't it */ WHERE t > NOW() - INTERVAL '2 hours' ORDER BY k`
    expect(rows.map(r => r.k)).toEqual(['x', 'y'])
  })
})

describe('SQL pushdown', () => {
  it('the spec query over the last hour reads the same objects over 1 day of data as over 30', async () => {
    const reads = []
    for (const days of [1, 30]) {
      const end = T0 + days * 24 * HOUR
      const db = DB({ TailEvents, WorkerRequests }, { storage: new MemoryBucket(), now: () => end })
      for (let h = 0; h < days * 24; h++) await db.TailEvents.bulkCreate(makeEvents(10, { start: T0 + h * HOUR, spanMs: HOUR, seed: h }))
      await db.compact()
      const r = await db.sql.explain([SPEC_QUERIES.errorRates!] as unknown as TemplateStringsArray)
      const ops = r.scans.reduce((o, s) => ({ get: o.get + s.stats.ops.get, list: o.list + s.stats.ops.list, head: o.head + s.stats.ops.head, files: o.files + s.stats.filesRead }), { get: 0, list: 0, head: 0, files: 0 })
      expect(r.rows.reduce((n, x) => n + (x.total as number), 0)).toBe(10)
      reads.push(ops)
    }
    expect(reads[1]).toEqual(reads[0])
    expect(reads[0]).toMatchObject({ files: 1, list: 1 })
  })

  it('LIMIT without ORDER BY stops reading early', async () => {
    const db = DB({ TailEvents }, { storage: new MemoryBucket(), now: () => T0 + 25 * HOUR })
    for (let h = 0; h < 24; h++) await db.TailEvents.bulkCreate(makeEvents(10, { start: T0 + h * HOUR, spanMs: HOUR, seed: h }))
    await db.compact()
    const r = await db.sql.explain`SELECT scriptName FROM TailEvents LIMIT 5`
    expect(r.rows.length).toBe(5)
    expect(r.scans[0]!.stats.filesRead).toBeLessThan(24)
  })
})
