import { describe, expect, it } from 'vitest'
import { DB } from '../../src/index.js'
import { type FindContext, type ReadTarget, collectionTarget, rewriteIntervals, runSql } from '../../src/query/index.js'
import { compileCollection } from '../../src/schema/index.js'
import { MemoryBucket } from '../../src/storage/index.js'
import { TailEvents, WorkerErrors, WorkerLogs, WorkerRequests } from '../../src/tail/index.js'
import { makeEvents } from '../helpers/events.js'
import { comparableRows } from '../helpers/duckdb.js'
import { SPEC_QUERIES } from '../helpers/spec_sql.js'

/**
 * Listings (`ORDER BY <time> LIMIT n`) scan in time order and stop at the limit (path 'sorted'),
 * and answer exactly what the plain row engine answers over every row.
 */

const HOUR = 3_600_000
const T0 = Date.parse('2024-01-15T00:00:00Z')
const NOW = T0 + 12 * HOUR
const SCHEMA = { TailEvents, WorkerLogs, WorkerErrors, WorkerRequests }

async function store() {
  const bucket = new MemoryBucket()
  const db = DB(SCHEMA, { storage: bucket, now: () => NOW })
  // Distinct times, so a limit never cuts between rows that tie (either order would be correct).
  const events = makeEvents(3000, { start: T0, spanMs: 12 * HOUR, seed: 41 })
    .map((e, i) => ({ ...e, eventTimestamp: new Date(T0 + i * 14_000 + 7) }))
  for (let i = 0; i < 2400; i += 100) await db.TailEvents.bulkCreate(events.slice(i, i + 100))
  await db.compact({ rowGroupRows: 97, timeBudgetMs: 600_000 })
  // The last 600 stay in the WAL: a listing of the newest rows reads both.
  for (let i = 2400; i < events.length; i += 100) await db.TailEvents.bulkCreate(events.slice(i, i + 100))
  const ctx: FindContext = { bucket: async () => bucket, prefix: '', now: () => NOW, graceMs: 600_000, concurrency: 4 }
  const view = (name: keyof typeof SCHEMA) => (db[name] as unknown as { target: ReadTarget }).target
  const tables: Record<string, ReadTarget> = {
    TailEvents: collectionTarget(compileCollection('TailEvents', TailEvents)),
    WorkerRequests: view('WorkerRequests'), WorkerErrors: view('WorkerErrors'), WorkerLogs: view('WorkerLogs'),
  }
  return (text: string, fast = true) =>
    runSql({ text: rewriteIntervals(text), params: [] }, tables, ctx, undefined, { columnar: fast })
}

const LISTINGS = [
  SPEC_QUERIES.recentExceptions!,
  `SELECT scriptName, url, status, timestamp FROM WorkerRequests WHERE timestamp > NOW() - INTERVAL '6 hours'
   ORDER BY timestamp DESC LIMIT 25`,
  `SELECT * FROM WorkerRequests WHERE status >= 500 ORDER BY timestamp LIMIT 10 OFFSET 5`,
  `SELECT upper(scriptName) AS s, url AS u, timestamp AS t FROM WorkerRequests WHERE colo IN ('LHR', 'SJC')
   ORDER BY t DESC LIMIT 40`,
  `SELECT scriptName, eventTimestamp FROM TailEvents ORDER BY eventTimestamp DESC LIMIT 7`,
  `SELECT scriptName, timestamp FROM WorkerRequests WHERE scriptName = 'nope' ORDER BY timestamp DESC LIMIT 5`,
  `SELECT scriptName, timestamp FROM WorkerRequests ORDER BY timestamp DESC LIMIT 0`,
  `SELECT scriptName, timestamp FROM WorkerRequests WHERE timestamp < NOW() - INTERVAL '10 hours'
   ORDER BY timestamp DESC LIMIT 100000`,
]

describe('SQL listings read in time order and stop at the limit', () => {
  it('answer as the row engine does over every row, reading less', async () => {
    const sql = await store()
    for (const q of LISTINGS) {
      const fast = await sql(q)
      const rows = await sql(q, false)
      expect(comparableRows(fast.rows), q).toEqual(comparableRows(rows.rows))
      // LIMIT 0 scans nothing on either path.
      expect(fast.scans.map(s => s.path), q).toEqual(rows.scans.map(() => 'sorted'))
      expect(rows.scans.map(s => s.path), q).toEqual(q.endsWith('LIMIT 0') ? [] : ['rows'])
      const scanned = (r: typeof fast) => r.scans.reduce((n, s) => n + s.stats.rowsRead, 0)
      expect(scanned(fast), q).toBeLessThanOrEqual(scanned(rows))
    }
    // The newest rows of the whole table: a few of the newest files and segments are read.
    const newest = LISTINGS[4]!
    const [fast, rows] = [await sql(newest), await sql(newest, false)]
    expect(fast.rows).toHaveLength(7)
    expect(fast.scans[0]!.stats.rowsRead).toBeLessThan(rows.scans[0]!.stats.rowsRead / 4)
  })

  it('a WHERE the scan cannot apply whole, or another ORDER BY, runs on the row engine', async () => {
    const sql = await store()
    for (const q of [
      // A log line's own time (a number) is not the view's time field (its event's, hidden).
      SPEC_QUERIES.debugLogs!,
      // The table is read again by a subquery, which needs every row, not the listing's newest few.
      `SELECT scriptName, timestamp, (SELECT COUNT(*) FROM WorkerRequests) AS n FROM WorkerRequests
       ORDER BY timestamp DESC LIMIT 3`,
      `SELECT scriptName, timestamp FROM WorkerRequests WHERE url LIKE '%api%' ORDER BY timestamp DESC LIMIT 5`,
      `SELECT scriptName, timestamp FROM WorkerRequests ORDER BY status DESC, timestamp DESC LIMIT 5`,
      `SELECT scriptName, timestamp FROM WorkerRequests ORDER BY timestamp DESC`,
    ]) {
      const fast = await sql(q)
      expect(fast.scans.every(s => s.path === 'rows'), q).toBe(true)
      expect(comparableRows(fast.rows), q).toEqual(comparableRows((await sql(q, false)).rows))
    }
  })
})
