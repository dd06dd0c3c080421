import fc from 'fast-check'
import { parquetMetadataAsync } from 'hyparquet'
import { describe, expect, it } from 'vitest'
import { DB } from '../../src/index.js'
import { writeDataFile } from '../../src/compactor/index.js'
import { STAT_STRING_UNITS, lowerBound, upperBound } from '../../src/compactor/string_bounds.js'
import { compareStrings } from '../../src/expr/index.js'
import { readFileRowGroups } from '../../src/query/parquet_reader.js'
import { compileCollection, normalizeRow } from '../../src/schema/index.js'
import { MemoryBucket } from '../../src/storage/index.js'
import { TailEvents, type TailEventInput } from '../../src/tail/index.js'

const HOUR = 3_600_000
const T0 = Date.parse('2024-01-15T00:00:00Z')
const schema = compileCollection('TailEvents', TailEvents)

/** Characters that sit at the edges of the orderings: the surrogate block, U+FFFF, U+10FFFF. */
const edgy = fc.constantFrom('a', 'z', '\u007f', '\u00ff', '\ud7ff', '\ue000', '\uffff', '\u{10000}', '\u{1f600}', '\u{10ffff}', '\ud800', '\udfff')
const text = fc.array(fc.oneof(edgy, fc.string({ unit: 'grapheme', maxLength: 3 }), fc.string({ unit: 'binary', maxLength: 3 })), { maxLength: 60 }).map(a => a.join(''))

/** No lone surrogate (String.prototype.isWellFormed, which this TypeScript target lacks). */
const wellFormed = (s: string) => !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s)

function event(i: number, over: { url?: string; message?: string; request?: unknown } = {}): TailEventInput {
  return {
    scriptName: 'w', outcome: over.message ? 'exception' : 'ok', eventTimestamp: new Date(T0 + 1000 + i * 1000),
    event: { request: over.request ?? { url: over.url ?? `https://example.com/${i}`, method: 'GET' } },
    logs: [], exceptions: over.message ? [{ name: 'Error', message: over.message, timestamp: T0 }] : [],
    diagnosticsChannelEvents: [], scriptTags: [],
  } as TailEventInput
}

describe('string bounds for statistics', () => {
  it('a lower bound is a prefix, an upper bound sorts at or after the value, both short', () => {
    fc.assert(fc.property(text, fc.integer({ min: 1, max: 40 }), (s, limit) => {
      const lo = lowerBound(s, limit)
      const hi = upperBound(s, limit)
      expect(s.startsWith(lo)).toBe(true)
      expect(lo.length).toBeLessThanOrEqual(limit)
      if (s.length <= limit) expect([lo, hi]).toEqual([s, s])
      if (hi === null) return
      expect(hi.length).toBeLessThanOrEqual(limit + 1)
      expect(compareStrings(hi, s)).toBeGreaterThanOrEqual(0)
      // A pair is never split: the bound is well formed wherever the value is.
      if (wellFormed(s)) expect(wellFormed(hi) && wellFormed(lo)).toBe(true)
    }), { seed: 16, numRuns: 3000 })
  })

  it('bounds every string that shares the truncated prefix, whatever follows it', () => {
    fc.assert(fc.property(text, text, fc.integer({ min: 1, max: 20 }), (s, tail, limit) => {
      fc.pre(s.length > limit)
      const hi = upperBound(s, limit)
      const other = s.slice(0, limit) + tail
      if (hi !== null) expect(compareStrings(hi, other)).toBeGreaterThan(0)
      expect(compareStrings(lowerBound(s, limit), other)).toBeLessThanOrEqual(0)
    }), { seed: 17, numRuns: 3000 })
  })

  it('carries over characters with no successor, and gives none when nothing is left', () => {
    expect(upperBound('ab\u{10ffff}\u{10ffff}cd', 4)).toBe('ac')
    expect(upperBound('a\ud7ffxx', 2)).toBe('a\ue000')
    expect(upperBound('a\uffffxx', 2)).toBe('a\u{10000}')
    expect(upperBound('a\u{1f600}xx', 2)).toBe('b') // the cut would split the pair
    expect(upperBound('a\u{1f600}xx', 3)).toBe('a\u{1f601}')
    expect(upperBound('\u{10ffff}'.repeat(40), 8)).toBeNull()
    expect(upperBound('\udc00'.repeat(10), 4)).toBeNull()
  })
})

describe('file statistics stay bounded whatever the values', () => {
  it('24 events with a 1 MB exception message make a small manifest, and still prune', async () => {
    const db = DB({ TailEvents }, { storage: { type: 'memory' }, now: () => T0 + 3 * HOUR })
    const big = (i: number) => `${String(i).padStart(3, '0')} ${'x'.repeat(1_000_000)}`
    const events = Array.from({ length: 24 }, (_, i) => event(i, { message: big(i), url: `https://example.com/${'p'.repeat(200)}${i}` }))
    for (let i = 0; i < events.length; i += 4) {
      const r = await db.TailEvents.bulkCreate(events.slice(i, i + 4))
      expect(r.rejected).toEqual([])
    }
    await db.compact()
    const status = await db.status()
    expect(status.collections.TailEvents!.rows).toBe(24)
    // Before: two whole messages per file per column (the promoted exceptionMessage), ~100 MB.
    expect(status.manifestBytes).toBeLessThan(20_000)
    const hit = await db.TailEvents.find({ 'exceptions.0.message': big(7) })
    expect(hit.map(e => e.exceptions[0]!.message.slice(0, 3))).toEqual(['007'])
    const none = await db.TailEvents.find({ 'exceptions.0.message': { $gt: big(99) } })
    expect(none.length).toBe(0)
  })

  it('keeps no max for a column whose values have no short upper bound, and never prunes on it', async () => {
    const db = DB({ TailEvents }, { storage: { type: 'memory' }, now: () => T0 + 3 * HOUR })
    const top = '\u{10ffff}'.repeat(100)
    await db.TailEvents.bulkCreate([event(1, { url: top }), event(2, { url: 'a' })])
    await db.compact()
    for (const f of [{ 'event.request.url': top }, { 'event.request.url': { $gt: '\u{10ffff}'.repeat(50) } }, { 'event.request.url': { $gte: top } }]) {
      const got = await db.TailEvents.find(f)
      expect(got.length, JSON.stringify(f)).toBe(1)
    }
  })

  it('counts the rows a promoted column misses (misfits): another type, an array on the path, not a missing root', async () => {
    const bucket = new MemoryBucket()
    const rows = [
      event(0), event(1, { request: [{ url: 'https://in.an/array' }] }), event(2, { request: { url: 42 } }),
      event(3, { message: 'boom' }), { ...event(4), event: null }, { ...event(5), event: 'text' },
      { ...event(6), exceptions: [{ name: 7 }] }, { ...event(7), exceptions: [{ other: 1 }] },
      { ...event(8), exceptions: [[{ name: 'nested' }]] },
    ].map(e => normalizeRow(schema, e)).map(r => (r.ok ? r.row : expect.unreachable(r.reason)))
    const target = { prefix: '', collection: 'TailEvents', partition: 'dt=2024-01-15/hour=00', level: 0 as const, createdAt: T0, rowGroupRows: 4 }
    const file = (await writeDataFile(bucket, schema, rows, target))!
    // url: row 1 (an array on the path) and row 2 (a number); rows 4 and 5 have no request at all.
    expect(file.stats.url?.misfits).toBe(2)
    expect(file.stats.method?.misfits).toBe(0)
    // exceptionName: row 6 (a number); row 8's name is under an array inside the array (exceptions.0 is an
    // array: MongoDB-style fan-out reaches it); the rows without exceptions ([]) miss nothing.
    expect(file.stats.exceptionName?.misfits).toBe(2)
    expect(file.stats.status?.misfits).toBe(0)
  })
})

/** Values that share a long prefix and differ only after the truncation point, in both stores. */
const PREFIX = `https://example.com/${'segment/'.repeat(20)}`
const SUFFIXES = ['a', 'b', 'c', 'c0', 'd', '\uffff', '\u{1f600}', '\u{10ffff}', 'zzz']
const urls = [...SUFFIXES.map(s => PREFIX + s), 'https://a.example/x']
/** Filter values around the stored ones, and past them, including just-outside prefixes. */
const probes = [...urls, PREFIX, PREFIX + 'bb', PREFIX + 'e', PREFIX + '\u{10ffff}\u{10ffff}', PREFIX.slice(0, 70), PREFIX.slice(0, 70) + '~', 'https://example.com/']

describe('pruning on truncated statistics never hides a row', () => {
  it('every filter returns the same rows from the WAL and from Parquet (file and row-group statistics)', async () => {
    const clock = { now: T0 + 20 * 60_000 }
    const db = DB({ TailEvents }, { storage: { type: 'memory' }, now: () => clock.now })
    // One URL per L0 file (a segment a batch), so the manifest's statistics are put to the test.
    for (let i = 0; i < urls.length; i++) await db.TailEvents.bulkCreate([event(i, { url: urls[i], message: urls[i] })])
    const filters: Record<string, unknown>[] = []
    for (const p of probes) {
      for (const path of ['event.request.url', 'exceptions.0.message']) {
        filters.push({ [path]: p }, { [path]: { $gt: p } }, { [path]: { $gte: p } }, { [path]: { $lt: p } }, { [path]: { $lte: p } })
        filters.push({ [path]: { $in: [p, PREFIX + 'q'] } }, { [path]: { $gt: p, $lt: PREFIX + '\u{1f600}' } })
      }
    }
    const ids = async (f: Record<string, unknown>) => (await db.TailEvents.find(f)).map(e => e.eventTimestamp.getTime()).sort()
    const before = await Promise.all(filters.map(ids))
    // The reference: the filter semantics over the rows in memory (code point order).
    const cmp = (a: string, b: string) => compareStrings(a, b)
    expect(before[filters.findIndex(f => JSON.stringify(f) === JSON.stringify({ 'event.request.url': { $gt: PREFIX + 'c' } }))]!.length)
      .toBe(urls.filter(u => cmp(u, PREFIX + 'c') > 0).length)
    const opts = { rowGroupRows: 1, maxSegmentsPerBatch: 1, maxL0Files: 100 }
    await db.compact(opts)
    const status = await db.status()
    expect(status.collections.TailEvents!.wal.segments).toBe(0)
    expect(status.collections.TailEvents!.files).toBe(urls.length)
    const after = await Promise.all(filters.map(ids))
    filters.forEach((f, i) => expect(after[i], JSON.stringify(f)).toEqual(before[i]))
    // Merged into one file of one-row groups: row-group statistics alone decide.
    clock.now += 2 * HOUR
    const pass = await db.compact(opts)
    expect(pass.partitionsMerged).toBe(1)
    expect((await db.status()).collections.TailEvents!.files).toBe(1)
    const merged = await Promise.all(filters.map(ids))
    filters.forEach((f, i) => expect(merged[i], JSON.stringify(f)).toEqual(before[i]))
    // Truncated bounds still prune: the short URL's row group is the only one read (trusting
    // only exact Parquet bounds read all ten), though the long ones are alike to 64 bytes.
    const q = db.TailEvents.find({ 'event.request.url': 'https://a.example/x' })
    expect((await q).length).toBe(1)
    expect([q.stats!.rowGroupsConsidered, q.stats!.rowGroupsRead]).toEqual([urls.length, 1])
  })

  // Strings over 64 units are cut by the engine as each group is written; shorter ones of over
  // 64 UTF-8 bytes ('é' × 40, emoji × 30) by hyparquet-writer itself, which rounds a max up too.
  it('Parquet row-group bounds are truncated to bounds, in the order filters compare strings', async () => {
    const bucket = new MemoryBucket()
    const values = [...urls, 'a'.repeat(63) + '\uffff' + 'b', 'é'.repeat(40), '\u{1f600}'.repeat(30), 'z'.repeat(63) + '\u{10ffff}' + 'q']
    let n = 0
    for (const v of values) {
      const n0 = normalizeRow(schema, event(n++, { url: v, message: v }))
      if (!n0.ok) throw new Error(n0.reason)
      const file = (await writeDataFile(bucket, schema, [n0.row], { prefix: '', collection: 'TailEvents', partition: 'dt=2024-01-15/hour=00', level: 0, createdAt: T0, rowGroupRows: 10 }))!
      const body = await (await bucket.get(file.key))!.arrayBuffer()
      const meta = await parquetMetadataAsync(body)
      for (const column of ['url', 'exceptionMessage']) {
        const chunk = meta.row_groups[0]!.columns.find(c => c.meta_data!.path_in_schema[0] === column)!
        const s = chunk.meta_data!.statistics!
        expect(typeof s.max_value).toBe('string')
        expect(new TextEncoder().encode(s.max_value as string).length).toBeLessThanOrEqual(64)
        expect(compareStrings(s.min_value as string, v)).toBeLessThanOrEqual(0)
        expect(compareStrings(s.max_value as string, v)).toBeGreaterThanOrEqual(0)
        // The manifest's statistics bound the value too, at most 65 UTF-16 units long.
        const m = file.stats[column]!
        expect(compareStrings(m.min as string, v)).toBeLessThanOrEqual(0)
        expect(compareStrings(m.max as string, v)).toBeGreaterThanOrEqual(0)
        expect((m.max as string).length).toBeLessThanOrEqual(STAT_STRING_UNITS + 1)
      }
      // The reader hands those bounds to the row-group filter, which keeps the group for the exact value.
      let seen: unknown
      for await (const _ of readFileRowGroups(bucket, schema, file, { keepRowGroup: stats => { seen = stats('url'); return true } })) void _
      expect(seen).toMatchObject({ min: expect.any(String), max: expect.any(String) })
    }
  })
})
