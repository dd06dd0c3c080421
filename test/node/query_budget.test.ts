import { collect, executeSql } from 'squirreling'
import { beforeAll, describe, expect, it } from 'vitest'
import { DB, DBConfigError, ExprError, SqlError } from '../../src/index.js'
import { DEFAULT_QUERY_LIMITS, QueryLimitError } from '../../src/query/index.js'
import { type Bucket, type BucketListOptions, type BucketPutOptions, type BucketRange, MemoryBucket } from '../../src/storage/index.js'
import { TailEvents } from '../../src/tail/index.js'
import { makeEvents } from '../helpers/events.js'

const HOUR = 3_600_000
const T0 = Date.parse('2024-01-15T00:00:00Z')
const NOW = T0 + 25 * HOUR
const sleep = (ms: number) => new Promise(r => setTimeout(r, ms))

/** A MemoryBucket whose reads take `delay` ms, as a slow R2 would. */
class SlowBucket implements Bucket {
  delay = 0
  constructor(readonly inner: Bucket = new MemoryBucket()) {}
  async get(key: string, options?: { range?: BucketRange }) { await sleep(this.delay); return this.inner.get(key, options) }
  async head(key: string) { await sleep(this.delay); return this.inner.head(key) }
  async list(options?: BucketListOptions) { await sleep(this.delay); return this.inner.list(options) }
  async put(key: string, value: string | ArrayBuffer | ArrayBufferView, options?: BucketPutOptions) { return this.inner.put(key, value, options) }
  async delete(keys: string | string[]) { return this.inner.delete(keys) }
}

/** The error a promise rejects with, for asserting on its fields. */
async function failure(p: PromiseLike<unknown>): Promise<QueryLimitError> {
  try {
    await p
  } catch (e) {
    return e as QueryLimitError
  }
  throw new Error('expected the query to fail')
}

const events = makeEvents(300, { start: T0, spanMs: 24 * HOUR, seed: 5 })

describe('find() runs under a budget', () => {
  const bucket = new SlowBucket()
  const db = DB({ TailEvents }, { storage: bucket, now: () => NOW, query: { maxRows: 100 } })
  beforeAll(async () => {
    await db.TailEvents.bulkCreate(events.slice(0, 200))
    await db.compact()
    await db.TailEvents.bulkCreate(events.slice(200))
  })

  it('an array of more than maxRows rows is refused with the limit named; streaming the same rows is not', async () => {
    const e = await failure(db.TailEvents.find())
    expect(e).toBeInstanceOf(QueryLimitError)
    expect(e).toMatchObject({ name: 'QueryLimitError', limit: 'maxRows', value: 100, query: 'find' })
    expect(e.message).toMatch(/maxRows = 100 rows/)
    expect(e.message).toMatch(/find\(filter, \{ maxRows \}\)/)
    expect(e.message).toMatch(/DB\(schema, \{ query: \{ maxRows \} \}\)/)
    let n = 0
    for await (const _ of db.TailEvents.find()) n++
    expect(n).toBe(300)
    // Per call, the DB's default is overridden.
    expect((await db.TailEvents.find({}, { maxRows: 300 })).length).toBe(300)
    await expect(db.TailEvents.find({}, { maxRows: 299 })).rejects.toThrow(QueryLimitError)
  })

  it('a sort holds only skip + limit rows; without a limit it holds every match and stops at maxRows', async () => {
    const top = await db.TailEvents.find({}, { sort: { eventTimestamp: -1 }, limit: 10 })
    expect((await db.TailEvents.find({}, { sort: { eventTimestamp: -1 }, skip: 40, limit: 60 })).length).toBe(60)
    expect(top.map(r => +r.eventTimestamp)).toEqual(events.map(e => +e.eventTimestamp!).sort((a, b) => b - a).slice(0, 10))
    const e = await failure((async () => { for await (const _ of db.TailEvents.find({}, { sort: { eventTimestamp: 1 } })) break })())
    expect(e).toMatchObject({ limit: 'maxRows', value: 100 })
    const within = await db.TailEvents.find({ scriptName: 'api-worker' }, { sort: { eventTimestamp: 1 }, maxRows: Infinity })
    expect(within.length).toBe(events.filter(x => x.scriptName === 'api-worker').length)
  })

  it('a query that works longer than timeoutMs stops with the limit named', async () => {
    bucket.delay = 30
    try {
      const started = Date.now()
      const e = await failure(db.TailEvents.find({}, { timeoutMs: 20 }))
      expect(e).toMatchObject({ limit: 'timeoutMs', value: 20 })
      expect(e.message).toMatch(/ran longer than timeoutMs = 20 ms/)
      // It stops at the first row past the deadline, not after reading everything.
      expect(Date.now() - started).toBeLessThan(2_000)
    } finally {
      bucket.delay = 0
    }
  })

  it('the time a for await caller spends between rows is not the query\'s', async () => {
    let n = 0
    const started = Date.now()
    for await (const _ of db.TailEvents.find({}, { limit: 20, timeoutMs: 400 })) {
      await sleep(30)
      n++
    }
    expect(n).toBe(20)
    expect(Date.now() - started).toBeGreaterThan(600)
  })

  it('limits are checked where they are set', () => {
    expect(() => DB({ TailEvents }, { storage: new MemoryBucket(), query: { timeoutMs: 0 } })).toThrow(DBConfigError)
    expect(() => DB({ TailEvents }, { storage: new MemoryBucket(), query: { timeoutMs: 0 } })).toThrow(/query\.timeoutMs must be a positive integer/)
    expect(() => DB({ TailEvents }, { storage: new MemoryBucket(), query: { maxRowz: 5 } as never })).toThrow(/query\.maxRowz is not a query limit/)
    expect(() => db.TailEvents.find({}, { maxRows: -1 })).toThrow(ExprError)
    expect(() => db.TailEvents.find({}, { timeoutMs: 1.5 })).toThrow(/timeoutMs must be a positive integer/)
    expect(() => db.sql.with({ maxJoinPairs: Number.NaN })).toThrow(SqlError)
    expect(DEFAULT_QUERY_LIMITS).toEqual({ timeoutMs: 30_000, maxRows: 100_000, maxJoinPairs: 1_000_000 })
  })
})

describe('SQL runs under a budget', () => {
  const db = DB({ TailEvents, A: { t: 'timestamp!', k: 'string?', v: 'int?' }, B: { t: 'timestamp!', k: 'string?', w: 'int?' } }, { storage: new MemoryBucket(), now: () => NOW })
  const as = Array.from({ length: 40 }, (_, i) => ({ t: new Date(T0 + i * 60_000), k: `k${i % 7}`, v: i % 5 === 0 ? null : (i * 37) % 11 }))
  const bs = Array.from({ length: 30 }, (_, i) => ({ t: new Date(T0 + i * 90_000), k: `k${i % 4}`, w: i }))
  beforeAll(async () => {
    await db.TailEvents.bulkCreate(events.slice(0, 200))
    await db.A.bulkCreate(as.slice(0, 25))
    await db.B.bulkCreate(bs)
    await db.compact()
    await db.TailEvents.bulkCreate(events.slice(200))
    await db.A.bulkCreate(as.slice(25))
  })

  it('grouping, sorting and returning rows count the rows they hold', async () => {
    const small = db.sql.with({ maxRows: 100 })
    // The row engine's GROUP BY holds every input row (it groups in memory).
    const e = await failure(small`SELECT scriptName, COUNT(*) AS n FROM TailEvents GROUP BY scriptName, JSON_VALUE(event, '$.cron')`)
    expect(e).toMatchObject({ name: 'QueryLimitError', limit: 'maxRows', value: 100, query: 'sql' })
    expect(e.message).toMatch(/db\.sql\.with\(\{ maxRows \}\)/)
    // The columnar path holds one entry per group: 3 groups pass, 300 (one per event) do not.
    const few = await small.explain`SELECT scriptName, COUNT(*) AS n FROM TailEvents GROUP BY scriptName`
    expect(few.scans[0]!.path).toBe('columnar')
    expect(few.rows.reduce((s, r) => s + (r.n as number), 0)).toBe(300)
    await expect(small`SELECT eventTimestamp, COUNT(*) AS n FROM TailEvents GROUP BY eventTimestamp`).rejects.toThrow(/maxRows = 100/)
    await expect(small`SELECT scriptName FROM TailEvents ORDER BY scriptName LIMIT 5`).rejects.toThrow(/maxRows = 100/)
    // A listing by time holds only the rows it returns (a scan read in time order, stopped at the limit).
    const listing = await small.explain`SELECT scriptName FROM TailEvents ORDER BY eventTimestamp LIMIT 5`
    expect(listing.rows).toHaveLength(5)
    expect(listing.scans.map(s => s.path)).toEqual(['sorted'])
    await expect(small`SELECT scriptName FROM TailEvents`).rejects.toThrow(QueryLimitError)
    // Streaming shapes hold nothing: a LIMIT without ORDER BY, a bare COUNT(*).
    expect((await small`SELECT scriptName FROM TailEvents LIMIT 50`).length).toBe(50)
    expect(await small`SELECT COUNT(*) AS n FROM TailEvents`).toEqual([{ n: 300 }])
    // The defaults let all of it through, and `with` layers.
    const groups = await db.sql`SELECT scriptName, COUNT(*) AS n FROM TailEvents GROUP BY scriptName`
    expect(groups.reduce((s, r) => s + (r.n as number), 0)).toBe(300)
    expect((await small.with({ maxRows: 300 })`SELECT scriptName FROM TailEvents`).length).toBe(300)
  })

  it('a nested-loop join stops before comparing more than maxJoinPairs pairs; a hash join compares only matches', async () => {
    const e = await failure(db.sql.with({ maxJoinPairs: 1_000 })`SELECT COUNT(*) AS n FROM A a JOIN B b ON a.t < b.t`)
    expect(e).toMatchObject({ limit: 'maxJoinPairs', value: 1_000 })
    expect(e.message).toMatch(/join on an equality/)
    const want = as.reduce((n, a) => n + bs.filter(b => +a.t < +b.t).length, 0)
    expect(await db.sql.with({ maxJoinPairs: 1_200 })`SELECT COUNT(*) AS n FROM A a JOIN B b ON a.t < b.t`).toEqual([{ n: want }])
    const eq = as.reduce((n, a) => n + bs.filter(b => a.k === b.k).length, 0)
    expect(await db.sql.with({ maxJoinPairs: 1 })`SELECT COUNT(*) AS n FROM A a JOIN B b ON a.k = b.k`).toEqual([{ n: eq }])
  })

  it('answers are the engine\'s own: the same rows as squirreling over the same data', async () => {
    const tables = {
      A: (await db.A.find()).map(r => ({ ...r })),
      B: (await db.B.find()).map(r => ({ ...r })),
    }
    const queries = [
      'SELECT k, COUNT(*) AS n, SUM(v) AS s FROM A GROUP BY k HAVING COUNT(*) > 5 ORDER BY k',
      'SELECT a.k, b.w FROM A a JOIN B b ON a.k = b.k AND a.t < b.t ORDER BY a.t, b.w',
      'SELECT a.k, b.w FROM A a LEFT JOIN B b ON a.k = b.k ORDER BY a.t, b.w',
      'WITH x AS (SELECT k, MAX(v) AS m FROM A GROUP BY k) SELECT x.k, x.m, b.w FROM x JOIN B b ON x.k = b.k ORDER BY x.k, b.w',
      'SELECT DISTINCT k FROM A ORDER BY k',
      'SELECT k FROM A UNION SELECT k FROM B ORDER BY k',
      'SELECT k FROM A INTERSECT SELECT k FROM B',
      'SELECT k, ROW_NUMBER() OVER (PARTITION BY k ORDER BY t) AS r FROM A ORDER BY k, r',
      'SELECT k, (SELECT COUNT(*) FROM B b WHERE b.k = a.k) AS c FROM A a ORDER BY t',
      'SELECT k, v FROM A WHERE v IN (SELECT w FROM B) ORDER BY t LIMIT 7 OFFSET 2',
    ]
    for (const q of queries) {
      const ours = await db.sql([q] as unknown as TemplateStringsArray)
      const theirs = await collect(executeSql({ tables, query: q }))
      expect(ours, q).toEqual(theirs)
      expect(ours.length, q).toBeGreaterThan(0)
    }
  })

  it('a 3,000 × 3,000 self-join stops at the time budget (it ran 70 s before)', async () => {
    const big = DB({ TailEvents }, { storage: new MemoryBucket(), now: () => NOW })
    const many = makeEvents(3000, { start: T0, spanMs: 24 * HOUR, seed: 9 })
    for (let i = 0; i < many.length; i += 1000) await big.TailEvents.bulkCreate(many.slice(i, i + 1000))
    await big.compact()
    const sql = big.sql.with({ timeoutMs: 1_000, maxJoinPairs: Infinity, maxRows: Infinity })
    for (const join of [
      sql`SELECT COUNT(*) AS n FROM TailEvents a JOIN TailEvents b ON a.eventTimestamp < b.eventTimestamp`,
      sql`SELECT COUNT(*) AS n FROM TailEvents a JOIN TailEvents b ON a.scriptName = b.scriptName`,
    ]) {
      const started = Date.now()
      const e = await failure(join)
      expect(e).toMatchObject({ limit: 'timeoutMs', value: 1_000 })
      expect(Date.now() - started).toBeLessThan(3_000)
    }
    // The pair count stops it too, before the work, at the same row on every run and runtime
    // (under the default of 1,000,000 pairs it stops after a third of the left side: 5.7 s of CPU).
    const started = Date.now()
    const e = await failure(big.sql.with({ maxJoinPairs: 30_000 })`SELECT COUNT(*) AS n FROM TailEvents a JOIN TailEvents b ON a.eventTimestamp < b.eventTimestamp`)
    expect(e).toMatchObject({ limit: 'maxJoinPairs', value: 30_000 })
    expect(Date.now() - started).toBeLessThan(2_000)
  })
})

describe('SQL regular expressions cannot backtrack', () => {
  const db = DB({ R: { t: 'timestamp!', s: 'string?' } }, { storage: new MemoryBucket(), now: () => NOW })
  const values = ['a'.repeat(39) + '!', 'aaaa', 'Abc', 'a.c', 'line one\nline two', 'x(y)z', 'a'.repeat(5_000), null]
  beforeAll(async () => {
    await db.R.bulkCreate(values.map((s, i) => ({ t: T0 + i, s })))
  })

  it('REGEXP_MATCHES(x, \'(a+)+$\') over a 40-character value is fast', async () => {
    const started = Date.now()
    const rows = await db.sql`SELECT s FROM R WHERE REGEXP_MATCHES(s, '(a+)+$') ORDER BY t`
    expect(rows.map(r => r.s)).toEqual(['aaaa', 'a'.repeat(5_000)])
    expect(await db.sql`SELECT COUNT(*) AS n FROM R WHERE REGEXP_MATCHES(s, '^(a|a)*$')`).toEqual([{ n: 2 }])
    expect(Date.now() - started).toBeLessThan(1_000)
  })

  it('REGEXP_MATCHES keeps its name and meaning; what RE2 cannot run is refused with the reason', async () => {
    const rows = await db.sql`SELECT REGEXP_MATCHES(s, 'b') FROM R ORDER BY t`
    expect(rows.map(r => r.regexp_matches_s_b)).toEqual([false, false, true, false, false, false, false, null])
    await expect(db.sql`SELECT s FROM R WHERE REGEXP_MATCHES(s, '(a)\\1')`).rejects.toThrow(/REGEXP_MATCHES: .*backreferences/)
    await expect(db.sql`SELECT s FROM R WHERE REGEXP_MATCHES(s, '(a)\\1')`).rejects.toThrow(SqlError)
    await expect(db.sql`SELECT REGEXP_REPLACE(s, 'a+', 'b') AS r FROM R`).rejects.toThrow(/REGEXP_REPLACE is not supported/)
  })

  it('LIKE matches in linear time with the engine\'s meaning (any case), % spanning lines', async () => {
    const started = Date.now()
    expect(await db.sql`SELECT COUNT(*) AS n FROM R WHERE s LIKE '%a%a%a%a%a%a%a%b'`).toEqual([{ n: 0 }])
    expect(Date.now() - started).toBeLessThan(1_000)
    const like = async (p: string) => (await db.sql`SELECT s FROM R WHERE s LIKE ${p} ORDER BY t`).map(r => r.s)
    expect(await like('a%')).toEqual(['a'.repeat(39) + '!', 'aaaa', 'Abc', 'a.c', 'a'.repeat(5_000)])
    expect(await like('a_c')).toEqual(['Abc', 'a.c'])
    expect(await like('a.c')).toEqual(['a.c'])
    expect(await like('%one%two')).toEqual(['line one\nline two'])
    expect(await like('x(y)%')).toEqual(['x(y)z'])
    expect((await db.sql`SELECT s FROM R WHERE s NOT LIKE 'a%' ORDER BY t`).map(r => r.s)).toEqual(['line one\nline two', 'x(y)z', null])
    expect(Object.keys((await db.sql`SELECT s LIKE 'a%' FROM R LIMIT 1`)[0]!)).toEqual(['s_LIKE_a%'])
  })
})
