import { readFileSync } from 'node:fs'
import { beforeAll, describe, expect, it } from 'vitest'
import { DB } from '../../src/index.js'
import { compileCollection, normalizeRow, toPublicRow } from '../../src/schema/index.js'
import { CountingBucket, MemoryBucket } from '../../src/storage/index.js'
import { TailEvents, type TailEvent, type TraceItemLike, traceItemToTailEvent } from '../../src/tail/index.js'
import { makeEvents } from '../helpers/events.js'
import { canonical } from '../helpers/rows.js'

const HOUR = 3_600_000
const T0 = Date.parse('2024-01-15T00:00:00Z')
const schema = compileCollection('TailEvents', TailEvents)
const recorded = JSON.parse(readFileSync(new URL('../fixtures/trace-items.json', import.meta.url), 'utf8')) as TraceItemLike[]

type Ev = TailEvent & Record<string, unknown>
const publicForm = (e: unknown) => {
  const n = normalizeRow(schema, e)
  if (!n.ok) throw new Error(n.reason)
  return toPublicRow(schema, n.row) as Ev
}

// Real runtime TraceItems moved into the test day, plus generated ones shaped like them.
const inputs = [
  ...recorded.map((item, i) => traceItemToTailEvent({ ...item, scriptName: `recorded-${i % 3}`, eventTimestamp: T0 + (i * 7_919_000) % (24 * HOUR) })),
  ...makeEvents(1500, { start: T0, spanMs: 24 * HOUR, seed: 11 }),
]
const all = inputs.map(publicForm)

const url = (e: Ev) => (e.event as { request?: { url?: string } } | null)?.request?.url
const status = (e: Ev) => (e.event as { response?: { status?: number } } | null)?.response?.status
const t = (e: Ev) => e.eventTimestamp.getTime()

/** Each filter beside a hand-written predicate over the public rows: the reference. */
const CASES: [string, Record<string, unknown>, (e: Ev) => boolean][] = [
  ['everything', {}, () => true],
  ['equality', { scriptName: 'api-worker' }, e => e.scriptName === 'api-worker'],
  ['$ne', { outcome: { $ne: 'ok' } }, e => e.outcome !== 'ok'],
  ['time range with Dates', { eventTimestamp: { $gte: new Date(T0 + 5 * HOUR), $lt: new Date(T0 + 7 * HOUR) } }, e => t(e) >= T0 + 5 * HOUR && t(e) < T0 + 7 * HOUR],
  ['$gt / $lte', { eventTimestamp: { $gt: new Date(T0 + 23 * HOUR), $lte: new Date(T0 + 24 * HOUR) } }, e => t(e) > T0 + 23 * HOUR && t(e) <= T0 + 24 * HOUR],
  ['$in', { scriptName: { $in: ['auth-worker', 'recorded-1'] } }, e => ['auth-worker', 'recorded-1'].includes(e.scriptName)],
  ['$nin', { scriptName: { $nin: ['auth-worker', 'api-worker'] } }, e => !['auth-worker', 'api-worker'].includes(e.scriptName)],
  ['dotted path into variant', { 'event.request.method': 'POST' }, e => (e.event as { request?: { method?: string } } | null)?.request?.method === 'POST'],
  ['nested numeric comparison', { 'event.response.status': { $gte: 500 } }, e => (status(e) ?? -1) >= 500],
  ['array index path $exists', { 'exceptions.0': { $exists: true } }, e => e.exceptions.length > 0],
  ['$exists false', { 'event.response': { $exists: false } }, e => (e.event as { response?: unknown } | null)?.response === undefined],
  ['array fan-out', { 'logs.level': 'error' }, e => e.logs.some(l => l.level === 'error')],
  ['$regex', { 'event.request.url': { $regex: '/users\\b' } }, e => /\/users\b/.test(url(e) ?? '')],
  ['RegExp literal with flags', { 'exceptions.0.message': /BOOM [0-2]$/i }, e => /boom [0-2]$/i.test(e.exceptions[0]?.message ?? '')],
  ['$or', { $or: [{ outcome: 'exception' }, { 'event.response.status': 503 }] }, e => e.outcome === 'exception' || status(e) === 503],
  ['$and', { $and: [{ scriptName: 'api-worker' }, { 'event.request.cf.colo': 'LHR' }] }, e => e.scriptName === 'api-worker' && (e.event as { request?: { cf?: { colo?: string } } } | null)?.request?.cf?.colo === 'LHR'],
  ['$nor', { $nor: [{ outcome: 'ok' }, { scriptName: 'auth-worker' }] }, e => !(e.outcome === 'ok' || e.scriptName === 'auth-worker')],
  ['field $not', { cpuTime: { $not: { $gt: 4 } } }, e => !((e.cpuTime ?? -Infinity) > 4)],
  ['$expr', { $expr: { $gt: ['$wallTime', { $multiply: ['$cpuTime', 10] }] } }, e => e.wallTime !== null && e.cpuTime !== null && e.wallTime! > e.cpuTime! * 10],
  ['$expr $cond', { $expr: { $eq: [{ $cond: [{ $ne: ['$outcome', 'ok'] }, 1, 0] }, 1] } }, e => e.outcome !== 'ok'],
  ['equality with null', { dispatchNamespace: null }, e => e.dispatchNamespace === null || e.dispatchNamespace === undefined],
  ['array equality element', { 'exceptions.name': 'TypeError' }, e => e.exceptions.some(x => x.name === 'TypeError')],
  ['no match', { scriptName: 'nobody' }, () => false],
]

describe('find() against an in-memory reference', () => {
  const bucket = new MemoryBucket()
  const clock = { now: T0 + 25 * HOUR }
  const db = DB({ TailEvents }, { storage: bucket, now: () => clock.now })

  beforeAll(async () => {
    // Half compacted into Parquet, half left in the WAL.
    const half = Math.floor(inputs.length / 2)
    for (let i = 0; i < half; i += 100) await db.TailEvents.bulkCreate(inputs.slice(i, Math.min(i + 100, half)))
    await db.compact()
    for (let i = half; i < inputs.length; i += 100) await db.TailEvents.bulkCreate(inputs.slice(i, i + 100))
    const s = await db.status()
    expect(s.collections.TailEvents!.rows).toBe(half)
    expect(s.collections.TailEvents!.wal.segments).toBeGreaterThan(0)
  })

  it.each(CASES)('%s', async (_name, filter, pred) => {
    const expected = all.filter(pred)
    const got = await db.TailEvents.find(filter)
    expect(got.length).toBe(expected.length)
    expect(canonical(got)).toEqual(canonical(expected))
  })

  it('every case still holds while compactions run underneath', async () => {
    clock.now += HOUR
    const runs = CASES.map(([, filter]) => db.TailEvents.find(filter).items)
    const [, ...results] = await Promise.all([db.compact({ maxL0Files: 2 }), ...runs])
    results.forEach((rows, i) => expect(canonical(rows), CASES[i]![0]).toEqual(canonical(all.filter(CASES[i]![2]))))
    expect((await db.status()).collections.TailEvents!.wal.segments).toBe(0)
  })

  it('sort (multi-key), skip, limit and project', async () => {
    const sorted = [...all].sort((a, b) => a.scriptName.localeCompare(b.scriptName) || t(b) - t(a))
    const got = await db.TailEvents.find({ outcome: 'ok' }, { sort: { scriptName: 1, eventTimestamp: -1 }, skip: 5, limit: 20, project: { scriptName: 1, eventTimestamp: 1, 'event.request.url': 1 } })
    const want = sorted.filter(e => e.outcome === 'ok').slice(5, 25).map(e => ({
      scriptName: e.scriptName, eventTimestamp: e.eventTimestamp, ...(url(e) ? { event: { request: { url: url(e) } } } : {}),
    }))
    expect(got).toEqual(want)
    const latest = await db.TailEvents.find({}, { sort: { eventTimestamp: -1 }, limit: 1 })
    expect(latest[0]!.eventTimestamp).toEqual(new Date(Math.max(...all.map(t))))
    const without = await db.TailEvents.find({ scriptName: 'api-worker' }, { project: { logs: 0, event: 0 }, limit: 3 })
    expect(without.every(r => !('logs' in r) && !('event' in r) && 'exceptions' in r)).toBe(true)
  })

  it('is a thenable query: await, .items, and for await (which streams and can stop early)', async () => {
    const q = db.TailEvents.find({ outcome: 'exception' })
    const viaAwait = await q
    const viaItems: TailEvent[] = await q.items
    const viaIter: TailEvent[] = []
    for await (const row of q) viaIter.push(row)
    expect(viaItems.length).toBe(viaAwait.length)
    expect(canonical(viaIter)).toEqual(canonical(viaAwait))
    let n = 0
    const early = db.TailEvents.find()
    for await (const _ of early) if (++n === 3) break
    expect(early.stats!.rowsReturned).toBe(3)
    expect(early.stats!.filesRead).toBeLessThan(early.stats!.filesConsidered)
  })

  it('rejects unknown operators and fields, naming them', () => {
    expect(() => db.TailEvents.find({ scriptName: { $like: 'a%' } })).toThrow(/unknown operator \$like on scriptName/)
    expect(() => db.TailEvents.find({ $where: 'x' })).toThrow(/unknown operator \$where/)
    expect(() => db.TailEvents.find({ $expr: { $frobnicate: [1] } })).toThrow(/unknown expression operator \$frobnicate/)
    expect(() => db.TailEvents.find({ scriptname: 'x' })).toThrow(/the filter names "scriptname", which TailEvents does not have/)
    expect(() => db.TailEvents.find({ $or: [{ $expr: { $gt: ['$cpuTme', 5] } }] })).toThrow(/the filter names "cpuTme"/)
    expect(() => db.TailEvents.find({}, { sort: { nope: 1 } })).toThrow(/sort names "nope"/)
    expect(() => db.TailEvents.find({}, { project: { a: 1, b: 0 } as never })).toThrow(/either includes fields/)
    expect(() => db.TailEvents.find({}, { limit: -1 })).toThrow(/limit must be a non-negative integer/)
  })
})

describe('pruning', () => {
  /** Events with one script per hour, so file statistics can rule files out. */
  async function hourlyStore(days: number) {
    const raw = new MemoryBucket()
    const end = T0 + days * 24 * HOUR
    const db = DB({ TailEvents }, { storage: raw, now: () => end + HOUR })
    for (let h = 0; h < days * 24; h++) {
      const events = makeEvents(20, { start: T0 + h * HOUR, spanMs: HOUR, seed: h }).map(e => ({ ...e, scriptName: `worker-${h % 24}` }))
      await db.TailEvents.bulkCreate(events)
    }
    await db.compact()
    return { db, raw, end }
  }

  it('a one-hour query costs the same R2 operations over 1 day of data as over 30 days', async () => {
    const explains = []
    for (const days of [1, 30]) {
      const { db, end } = await hourlyStore(days)
      const from = new Date(end - 3 * HOUR)
      const q = db.TailEvents.find({ eventTimestamp: { $gte: from, $lt: new Date(from.getTime() + HOUR) } })
      const rows = await q
      expect(rows.length).toBe(20)
      explains.push({ days, ...q.stats! })
    }
    const [one, thirty] = explains
    expect(thirty!.partitionsConsidered).toBe(30 * 24)
    expect(one!.partitionsConsidered).toBe(24)
    for (const e of [one!, thirty!]) {
      expect(e.partitionsRead).toBe(1)
      expect(e.filesRead).toBe(1)
    }
    expect({ get: thirty!.ops.get, list: thirty!.ops.list, head: thirty!.ops.head }).toEqual({ get: one!.ops.get, list: one!.ops.list, head: one!.ops.head })
    expect(one!.ops).toMatchObject({ get: 2, list: 1, head: 0 }) // the manifest, one file; the WAL listing
  })

  it('equality on a column with statistics skips files whose min/max exclude it', async () => {
    const { db } = await hourlyStore(1)
    const q = db.TailEvents.find({ scriptName: 'worker-7' })
    const rows = await q
    expect(rows.length).toBe(20)
    expect(q.stats!.filesRead).toBe(1)
    expect(q.stats!.prunedOn).toEqual(['scriptName'])
    // A promoted path prunes through its typed column.
    const byUrl = db.TailEvents.find({ 'event.request.url': 'https://nowhere.example/' })
    expect(await byUrl).toEqual([])
    expect(byUrl.stats!.prunedOn).toEqual(['url'])
    expect(byUrl.stats!.filesRead).toBe(0)
  })

  it('a promoted path holding values of another type is never pruned away', async () => {
    const db = DB({
      E: { t: 'timestamp!', event: 'variant?', $promote: { code: { path: 'event.code', type: 'int' } } },
    }, { storage: new MemoryBucket(), now: () => T0 + 2 * HOUR })
    await db.E.bulkCreate([{ t: T0, event: { code: 7 } }, { t: T0 + 1, event: { code: 'E42' } }, { t: T0 + 2, event: { code: 1.5 } }, { t: T0 + 3, event: { code: 9 } }])
    const before = [await db.E.find({ 'event.code': 'E42' }), await db.E.find({ 'event.code': 1.5 }), await db.E.find({ 'event.code': { $lt: 7 } })]
    await db.compact()
    const after = [await db.E.find({ 'event.code': 'E42' }), await db.E.find({ 'event.code': 1.5 }), await db.E.find({ 'event.code': { $lt: 7 } })]
    expect(after.map(r => r.length)).toEqual([1, 1, 1])
    expect(canonical(after.flat())).toEqual(canonical(before.flat()))
    // Where every value fits, the statistics do prune.
    const fits = DB({ E: { t: 'timestamp!', event: 'variant?', $promote: { code: { path: 'event.code', type: 'int' } } } }, { storage: new MemoryBucket(), now: () => T0 + 2 * HOUR })
    await fits.E.bulkCreate([{ t: T0, event: { code: 7 } }, { t: T0 + 1, event: {} }])
    await fits.compact()
    const q = fits.E.find({ 'event.code': 3 })
    expect(await q).toEqual([])
    expect(q.stats!.filesRead).toBe(0)
  })

  it('strings order by code point, as Parquet statistics do (emoji after U+FFxx)', async () => {
    const db = DB({ S: { t: 'timestamp!', s: 'string?' } }, { storage: new MemoryBucket(), now: () => T0 + 2 * HOUR, compaction: { rowGroupRows: 2 } })
    const values = ['a', '\uFF5A', '😀', 'z', '\uE000', '\uFF00']
    await db.S.bulkCreate(values.map((s, i) => ({ t: T0 + i, s })))
    const before = [await db.S.find({ s: '\uFF5A' }), await db.S.find({ s: { $lt: '\uFF00' } }), await db.S.find({}, { sort: { s: 1 } })]
    await db.compact()
    const after = [await db.S.find({ s: '\uFF5A' }), await db.S.find({ s: { $lt: '\uFF00' } }), await db.S.find({}, { sort: { s: 1 } })]
    expect(after).toEqual(before)
    expect(after[0]!.length).toBe(1)
    expect(after[2]!.map(r => r.s)).toEqual(['a', 'z', '\uE000', '\uFF00', '\uFF5A', '😀'])
  })

  it('row groups inside a file are skipped by their statistics', async () => {
    const raw = new MemoryBucket()
    const db = DB({ TailEvents }, { storage: raw, now: () => T0 + 2 * HOUR, compaction: { rowGroupRows: 100 } })
    await db.TailEvents.bulkCreate(makeEvents(1000, { start: T0, spanMs: HOUR, seed: 3 }))
    await db.compact()
    const q = db.TailEvents.find({ eventTimestamp: { $gte: new Date(T0 + 30 * 60_000), $lt: new Date(T0 + 36 * 60_000) } })
    const rows = await q
    expect(rows.length).toBeGreaterThan(0)
    expect(q.stats!.rowGroupsConsidered).toBe(10)
    expect(q.stats!.rowGroupsRead).toBeLessThanOrEqual(2)
  })

  it('a projection reads only the needed columns from large files (ranged GETs)', async () => {
    const raw = new MemoryBucket()
    const counting = new CountingBucket(raw)
    const db = DB({ TailEvents }, { storage: counting, now: () => T0 + 2 * HOUR })
    const big = makeEvents(6000, { start: T0, spanMs: HOUR, seed: 5 }).map(e => ({ ...e, logs: [{ level: 'log', message: [Array.from({ length: 10 }, () => crypto.randomUUID()).join(' ')], timestamp: 0 }] }))
    for (let i = 0; i < big.length; i += 1000) await db.TailEvents.bulkCreate(big.slice(i, i + 1000))
    await db.compact({ maxBatchBytes: 64 << 20 })
    const files = (await db.status()).collections.TailEvents!
    expect(files.bytes).toBeGreaterThan(1 << 20)
    const narrow = db.TailEvents.find({ outcome: 'exception' }, { project: { scriptName: 1 } })
    const wide = db.TailEvents.find({ outcome: 'exception' })
    const [n, w] = [await narrow, await wide]
    expect(n.length).toBe(w.length)
    expect(n[0]).toEqual({ scriptName: w[0]!.scriptName })
    expect(narrow.stats!.ops.bytesRead).toBeLessThan(wide.stats!.ops.bytesRead / 5)
    // An $expr filter reads just the fields it names too.
    const sampled = db.TailEvents.find({ $expr: { $eq: [{ $mod: [{ $hash: '$eventTimestamp' }, 10] }, 0] } }, { project: { scriptName: 1 } })
    expect((await sampled).length).toBeGreaterThan(0)
    expect(sampled.stats!.ops.bytesRead).toBeLessThan(wide.stats!.ops.bytesRead / 5)
  })
})
