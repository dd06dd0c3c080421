import { readFileSync } from 'node:fs'
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DB } from '../../src/index.js'
import { loadManifest } from '../../src/manifest/index.js'
import {
  type FindContext, type ReadTarget, type SqlResult, collectionTarget, rewriteIntervals, runSql,
} from '../../src/query/index.js'
import { compileCollection } from '../../src/schema/index.js'
import { MemoryBucket } from '../../src/storage/index.js'
import {
  TailEvents, type TraceItemLike, WorkerErrors, WorkerLogs, WorkerRequests, traceItemToTailEvent,
} from '../../src/tail/index.js'
import { comparableRows, downloadObjects, fileList } from '../helpers/duckdb.js'
import { makeEvents } from '../helpers/events.js'
import { SPEC_QUERIES } from '../helpers/spec_sql.js'

/**
 * The columnar path against the row engine (squirreling) and DuckDB: every aggregate query of
 * the suite plus seeded random aggregate queries, over the same Parquet files (and, for the two
 * paths, a WAL tail too). Results must be identical between the paths, row for row and in the
 * same order, and equal to DuckDB's up to floating-point rounding.
 */

const HOUR = 3_600_000
const T0 = Date.parse('2024-01-15T00:00:00Z')
const NOW = T0 + 30 * HOUR
const recorded = JSON.parse(readFileSync(new URL('../fixtures/trace-items.json', import.meta.url), 'utf8')) as TraceItemLike[]
const inputs = [
  ...recorded.map((item, i) => traceItemToTailEvent({ ...item, scriptName: `recorded-${i % 2}`, eventTimestamp: NOW - ((i * 1_234_567) % (26 * HOUR)) })),
  ...makeEvents(1500, { start: T0, spanMs: 30 * HOUR, seed: 31 }),
]
const SCHEMA = { TailEvents, WorkerLogs, WorkerErrors, WorkerRequests }
type Db = ReturnType<typeof DB<typeof SCHEMA>>

/** A DB over its own bucket, with a FindContext to call runSql with either path. */
function open() {
  const bucket = new MemoryBucket()
  const db = DB(SCHEMA, { storage: bucket, now: () => NOW })
  const ctx: FindContext = { bucket: async () => bucket, prefix: '', now: () => NOW, graceMs: 600_000, concurrency: 4 }
  const view = (name: keyof typeof SCHEMA) => (db[name] as unknown as { target: ReadTarget }).target
  const tables: Record<string, ReadTarget> = {
    TailEvents: collectionTarget(compileCollection('TailEvents', TailEvents)),
    WorkerRequests: view('WorkerRequests'), WorkerErrors: view('WorkerErrors'), WorkerLogs: view('WorkerLogs'),
  }
  const sql = (text: string, columnar = true) => runSql({ text: rewriteIntervals(text), params: [] }, tables, ctx, undefined, { columnar })
  return { bucket, db, sql }
}

async function load(db: Db, compactedUpTo: number): Promise<void> {
  for (let i = 0; i < compactedUpTo; i += 100) await db.TailEvents.bulkCreate(inputs.slice(i, Math.min(i + 100, compactedUpTo)))
  // Small row groups: a query crosses many batch boundaries.
  await db.compact({ rowGroupRows: 97, timeBudgetMs: 600_000 })
  for (let i = compactedUpTo; i < inputs.length; i += 100) await db.TailEvents.bulkCreate(inputs.slice(i, i + 100))
}

const normal = comparableRows
const sorted = (rows: Record<string, unknown>[]) => normal(rows).map(r => JSON.stringify(r)).sort()

// ---- random aggregate queries -------------------------------------------------------------

interface TableShape {
  name: string
  time: string
  cats: Record<string, string[]>
  nums: string[]
  nonNull: string[]
}
const SCRIPTS = ['api-worker', 'auth-worker', 'webhook-worker', 'recorded-0', 'nope']
const COLOS = ['LHR', 'DFW', 'SJC', 'NRT', 'FRA']
const SHAPES: TableShape[] = [
  {
    name: 'WorkerRequests', time: 'timestamp', nums: ['status'], nonNull: ['scriptName', 'outcome'],
    cats: { scriptName: SCRIPTS, outcome: ['ok', 'exception'], method: ['GET', 'POST'], colo: COLOS, country: ['GB', 'US'], status: [] },
  },
  {
    name: 'TailEvents', time: 'eventTimestamp', nums: ['status', 'cpuTime', 'wallTime'], nonNull: ['scriptName', 'outcome'],
    cats: { scriptName: SCRIPTS, outcome: ['ok', 'exception'], method: ['GET', 'POST'], colo: COLOS, exceptionName: ['Error', 'TypeError'] },
  },
  {
    name: 'WorkerErrors', time: 'timestamp', nums: ['status'], nonNull: ['scriptName', 'outcome'],
    cats: { scriptName: SCRIPTS, outcome: ['exception'], exceptionName: ['Error', 'TypeError'], colo: COLOS },
  },
]

function queryArb(t: TableShape): fc.Arbitrary<{ sql: string; ordered: boolean }> {
  const catNames = Object.keys(t.cats)
  const lit = (c: string) => fc.constantFrom(...(t.cats[c]!.length ? t.cats[c]! : ['x'])).map(v => `'${v}'`)
  const pred: fc.Arbitrary<string> = fc.oneof(
    fc.integer({ min: 1, max: 32 }).map(h => `${t.time} > NOW() - INTERVAL '${h} hours'`),
    fc.tuple(fc.integer({ min: 2, max: 30 }), fc.integer({ min: 0, max: 2 })).map(([h, k]) => `${t.time} >= NOW() - INTERVAL '${h} hours' AND ${t.time} < NOW() - INTERVAL '${k} hours'`),
    fc.constantFrom(...catNames.filter(c => t.cats[c]!.length)).chain(c => lit(c).map(v => `${c} = ${v}`)),
    fc.constantFrom(...catNames.filter(c => t.cats[c]!.length)).chain(c => fc.array(lit(c), { minLength: 1, maxLength: 3 }).map(vs => `${c} IN (${vs.join(', ')})`)),
    fc.constantFrom(...catNames, ...t.nums).chain(c => fc.constantFrom(`${c} IS NULL`, `${c} IS NOT NULL`)),
    fc.tuple(fc.constantFrom(...t.nums), fc.constantFrom('>=', '<', '=', '!='), fc.constantFrom(0, 200, 500, 503)).map(([c, op, k]) => `${c} ${op} ${k}`),
    fc.constantFrom(...t.nonNull).chain(c => lit(c).map(v => `NOT (${c} = ${v})`)),
  )
  const where = fc.oneof(
    fc.constant(''),
    fc.array(pred, { minLength: 1, maxLength: 3 }).map(ps => `WHERE ${ps.join(' AND ')}`),
    fc.tuple(pred, pred).map(([a, b]) => `WHERE (${a}) OR (${b})`),
  )
  const num = fc.constantFrom(...t.nums)
  const anyCol = fc.constantFrom(...catNames, ...t.nums, t.time)
  const agg: fc.Arbitrary<string> = fc.oneof(
    fc.constant('COUNT(*)'),
    anyCol.map(c => `COUNT(${c})`),
    fc.constantFrom(...catNames).map(c => `COUNT(DISTINCT ${c})`),
    num.map(c => `SUM(${c})`), num.map(c => `AVG(${c})`),
    anyCol.map(c => `MIN(${c})`), anyCol.map(c => `MAX(${c})`),
    num.map(c => `MEDIAN(${c})`),
    fc.tuple(fc.constantFrom(0, 0.1, 0.5, 0.95, 1), num).map(([f, c]) => `PERCENTILE_CONT(${f}) WITHIN GROUP (ORDER BY ${c})`),
    pred.map(p => `SUM(CASE WHEN ${p} THEN 1 ELSE 0 END)`),
    pred.map(p => `AVG(CASE WHEN ${p} THEN 1 ELSE 0 END)`),
    pred.map(p => `ROUND(SUM(CASE WHEN ${p} THEN 1 ELSE 0 END) * 100.0 / COUNT(*), 2)`),
    pred.map(p => `COUNT(*) FILTER (WHERE ${p})`),
    num.map(c => `SUM(${c} * 2 + 1)`),
  )
  return fc.record({
    keys: fc.subarray(catNames, { maxLength: 2 }),
    aggs: fc.array(agg, { minLength: 1, maxLength: 3 }),
    where,
    having: fc.option(fc.integer({ min: 0, max: 30 }), { nil: undefined }),
    dirs: fc.array(fc.constantFrom('ASC NULLS FIRST', 'DESC NULLS LAST', 'ASC NULLS LAST', 'DESC NULLS FIRST'), { minLength: 2, maxLength: 2 }),
    byCount: fc.boolean(),
    limit: fc.option(fc.integer({ min: 1, max: 8 }), { nil: undefined }),
  }).map(q => {
    const select = [...q.keys.map((k, i) => `${k} AS k${i}`), ...q.aggs.map((a, i) => `${a} AS a${i}`)]
    const grouped = q.keys.length > 0
    const parts = [`SELECT ${select.join(', ')} FROM ${t.name}`, q.where]
    if (grouped) parts.push(`GROUP BY ${q.keys.join(', ')}`)
    if (q.having !== undefined) parts.push(`HAVING COUNT(*) > ${q.having}`)
    // Ordered by every key (unique per group) so the order, and any LIMIT, is one answer.
    const ordered = grouped
    if (grouped) {
      const terms = q.keys.map((_, i) => `k${i} ${q.dirs[i]}`)
      parts.push(`ORDER BY ${q.byCount ? 'COUNT(*) DESC, ' : ''}${terms.join(', ')}`)
      if (q.limit !== undefined) parts.push(`LIMIT ${q.limit}`)
    }
    return { sql: parts.filter(Boolean).join(' '), ordered }
  })
}

/** Aggregate queries of the existing SQL suite (test/node/sql.test.ts) and the docs. */
const SUITE = [
  SPEC_QUERIES.errorRates!, SPEC_QUERIES.topEndpoints!, SPEC_QUERIES.geoBreakdown!,
  `SELECT COUNT(*) AS n FROM TailEvents`,
  `SELECT COUNT(*) AS n FROM TailEvents WHERE scriptName = 'api-worker'`,
  `SELECT COUNT(*) AS n FROM TailEvents WHERE scriptName IN ('api-worker', 'x') OR ('1'='1')`,
  `SELECT COUNT(*) AS n FROM TailEvents WHERE eventTimestamp > NOW() - INTERVAL 1 HOUR`,
  `SELECT COUNT(*) AS n FROM WorkerLogs`,
  `SELECT outcome, COUNT(*) AS n FROM WorkerRequests GROUP BY outcome ORDER BY n DESC`,
  `SELECT scriptName, COUNT(*) AS total, ROUND(SUM(CASE WHEN outcome != 'ok' THEN 1 ELSE 0 END) * 100.0 / COUNT(*), 2) AS error_rate
     FROM WorkerRequests WHERE timestamp > NOW() - INTERVAL '1 hour' GROUP BY scriptName ORDER BY error_rate DESC`,
  `SELECT scriptName, status, COUNT(*) AS n FROM TailEvents WHERE status >= 500 GROUP BY scriptName, status ORDER BY n DESC`,
  `SELECT colo, MEDIAN(status) AS p50, PERCENTILE_CONT(0.95) WITHIN GROUP (ORDER BY status) AS p95, COUNT(DISTINCT scriptName) AS scripts
     FROM WorkerRequests GROUP BY colo HAVING COUNT(*) > 10 ORDER BY colo`,
  `SELECT MIN(timestamp) AS first, MAX(timestamp) AS last, COUNT(*) AS n FROM WorkerErrors WHERE exceptionName IS NOT NULL`,
]

describe('columnar SQL against the row engine and DuckDB', () => {
  const compacted = open()
  const mixed = open()
  let duck: DuckDBConnection
  let instance: DuckDBInstance
  const randomQueries = SHAPES.flatMap((t, i) => fc.sample(queryArb(t), { seed: 1100 + i, numRuns: 40 }).map(q => ({ ...q, table: t.name })))

  beforeAll(async () => {
    await load(compacted.db, inputs.length)
    await load(mixed.db, 900)
    instance = await DuckDBInstance.create()
    duck = await instance.connect()
    // DuckDB reads the Parquet files the compacted store's manifest lists (typed columns only).
    const { manifest } = await loadManifest(compacted.bucket, '', 0)
    const typed: Record<string, string> = {
      TailEvents: 'scriptName, outcome, eventTimestamp, cpuTime, wallTime, url, method, status, colo, country, exceptionName, exceptionMessage',
      WorkerRequests: 'scriptName, method, url, status, outcome, colo, country, timestamp',
      WorkerErrors: 'scriptName, outcome, exceptionName, exceptionMessage, url, status, colo, timestamp',
      WorkerLogs: 'scriptName, level',
    }
    for (const [name, cols] of Object.entries(typed)) {
      const files = manifest.collections[name]!.files.map(f => f.key)
      expect(files.length).toBeGreaterThan(0)
      const paths = await downloadObjects(compacted.bucket, files)
      await duck.run(`CREATE VIEW ${name} AS SELECT ${cols} FROM read_parquet(${fileList(paths)})`)
    }
  }, 120_000)
  afterAll(() => { duck?.closeSync(); instance?.closeSync() })

  const oracle = async (sql: string) => {
    const at = new Date(NOW).toISOString().replace('T', ' ').replace('Z', '')
    return (await duck.runAndReadAll(sql.replaceAll('NOW()', `TIMESTAMP '${at}'`))).getRowObjects() as Record<string, unknown>[]
  }

  /** Both paths on one store: the same rows in the same order; the default path is the columnar one. */
  async function bothPaths(store: ReturnType<typeof open>, sql: string): Promise<SqlResult> {
    const fast = await store.sql(sql)
    const slow = await store.sql(sql, false)
    expect(fast.fallback, sql).toBeUndefined()
    expect(fast.scans.map(s => s.path), sql).toEqual(['columnar'])
    expect(slow.scans.every(s => s.path === 'rows'), sql).toBe(true)
    expect(normal(fast.rows), sql).toEqual(normal(slow.rows))
    expect(fast.rows, sql).toEqual(slow.rows)
    // Both read the same objects and rows.
    const reads = (r: SqlResult) => r.scans.map(s => [s.stats.filesRead, s.stats.rowGroupsRead, s.stats.segmentsRead])
    expect(reads(fast), sql).toEqual(reads(slow))
    return fast
  }

  it.each(SUITE.map((sql, i) => [i, sql] as const))('suite query %i: columnar = rows = DuckDB', async (_, sql) => {
    const fast = await bothPaths(compacted, sql)
    await bothPaths(mixed, sql)
    const theirs = await oracle(sql)
    if (/ORDER BY/.test(sql) && !/LIMIT/.test(sql)) {
      // Ties may be ordered differently by DuckDB: the multiset must match, and the sort key order.
      expect(sorted(fast.rows), sql).toEqual(sorted(theirs))
    } else if (!/LIMIT/.test(sql)) expect(sorted(fast.rows), sql).toEqual(sorted(theirs))
    else expect(fast.rows.length).toBe(theirs.length)
  })

  it(`${randomQueries.length} seeded random aggregate queries: columnar = rows = DuckDB`, async () => {
    let nonEmpty = 0
    for (const q of randomQueries) {
      const fast = await bothPaths(compacted, q.sql)
      await bothPaths(mixed, q.sql)
      const theirs = await oracle(q.sql)
      if (q.ordered) expect(normal(fast.rows), q.sql).toEqual(normal(theirs))
      else expect(sorted(fast.rows), q.sql).toEqual(sorted(theirs))
      if (fast.rows.length > 0 && Object.values(fast.rows[0]!).some(v => v !== null && v !== 0)) nonEmpty++
    }
    // The generator makes queries that find something, not only empty answers.
    expect(nonEmpty).toBeGreaterThan(randomQueries.length / 2)
  }, 300_000)

  it('a WAL-only store and a store with nothing at all answer on the columnar path too', async () => {
    const fresh = open()
    expect((await bothPaths(fresh, `SELECT COUNT(*) AS n, SUM(status) AS s FROM TailEvents`)).rows).toEqual([{ n: 0, s: null }])
    expect((await bothPaths(fresh, `SELECT scriptName, COUNT(*) AS n FROM TailEvents GROUP BY scriptName`)).rows).toEqual([])
    await fresh.db.TailEvents.bulkCreate(inputs.slice(0, 50))
    const r = await bothPaths(fresh, `SELECT outcome, COUNT(*) AS n FROM WorkerRequests GROUP BY outcome ORDER BY outcome`)
    expect(r.rows.reduce((n, x) => n + (x.n as number), 0)).toBe(inputs.slice(0, 50).filter(e => e.event != null).length)
    expect(r.scans[0]!.stats).toMatchObject({ filesRead: 0, segmentsRead: 1 })
  })
})

describe('which path runs', () => {
  it('db.sql runs the spec error-rate query columnar, and says why another query fell back', async () => {
    const db = DB(SCHEMA, { storage: new MemoryBucket(), now: () => NOW })
    await db.TailEvents.bulkCreate(makeEvents(300, { start: NOW - 2 * HOUR, spanMs: 2 * HOUR, seed: 5 }))
    await db.compact()
    const r = await db.sql.explain([SPEC_QUERIES.errorRates!] as unknown as TemplateStringsArray)
    expect(r.scans.map(s => s.path)).toEqual(['columnar'])
    expect(r.fallback).toBeUndefined()
    expect(r.scans[0]!.stats).toMatchObject({ filesRead: 1 })
    expect(r.rows.reduce((n, x) => n + (x.total as number), 0)).toBe(r.scans[0]!.stats.rowsMatched)
    const listing = await db.sql.explain([SPEC_QUERIES.recentExceptions!] as unknown as TemplateStringsArray)
    // Not an aggregate: squirreling runs it, over a scan read newest first (sql_listing.test.ts).
    expect(listing.scans.map(s => s.path)).toEqual(['sorted'])
    expect(listing.fallback).toMatch(/Sort|Project|Limit/)
    const variant = await db.sql.explain`SELECT COUNT(JSON_VALUE(event, '$.request.cf.city')) AS n FROM TailEvents`
    expect(variant.fallback).toMatch(/event/)
  })

  it('promoted columns are selectable by their names, equal to the nested values they come from', async () => {
    const db = DB(SCHEMA, { storage: new MemoryBucket(), now: () => NOW })
    const events = makeEvents(200, { start: NOW - HOUR, spanMs: HOUR, seed: 9 })
    await db.TailEvents.bulkCreate(events.slice(0, 120))
    await db.compact()
    await db.TailEvents.bulkCreate(events.slice(120))
    const rows = await db.sql`SELECT url, status, method, colo, "event.request.url" AS nested FROM TailEvents WHERE status = 503`
    const want = events.filter(e => (e.event as { response?: { status?: number } } | null)?.response?.status === 503)
    expect(rows.length).toBe(want.length)
    for (const r of rows) expect(r.url).toBe(r.nested)
    const grouped = await db.sql.explain`SELECT status, COUNT(*) AS n FROM TailEvents WHERE status IS NOT NULL GROUP BY status ORDER BY status`
    expect(grouped.scans[0]!.path).toBe('columnar')
    expect(grouped.rows.find(r => r.status === 503)?.n).toBe(want.length)
  })

  it('ORDER BY a timestamp orders by time on both paths (across a Sunday midnight, and within a second)', async () => {
    const db = DB({ A: { t: 'timestamp!', k: 'string!' } }, { storage: new MemoryBucket(), now: () => NOW })
    const at = (iso: string) => Date.parse(iso)
    // As text, "Mon Jan 15 ..." sorts before "Sun Jan 14 ...", and .900 ties with .100.
    await db.A.bulkCreate([
      { t: new Date(at('2024-01-15T01:00:00.100Z')), k: 'mon-a' }, { t: new Date(at('2024-01-14T23:00:00Z')), k: 'sun' },
      { t: new Date(at('2024-01-15T01:00:00.900Z')), k: 'mon-b' },
    ])
    expect((await db.sql`SELECT k FROM A ORDER BY t`).map(r => r.k)).toEqual(['sun', 'mon-a', 'mon-b'])
    expect((await db.sql`SELECT k FROM A ORDER BY t DESC`).map(r => r.k)).toEqual(['mon-b', 'mon-a', 'sun'])
    const grouped = await db.sql.explain`SELECT t, COUNT(*) AS n FROM A GROUP BY t ORDER BY t DESC`
    expect(grouped.scans[0]!.path).toBe('columnar')
    expect(grouped.rows.map(r => (r.t as Date).toISOString())).toEqual(['2024-01-15T01:00:00.900Z', '2024-01-15T01:00:00.100Z', '2024-01-14T23:00:00.000Z'])
  })
})
