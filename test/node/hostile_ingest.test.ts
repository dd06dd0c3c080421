import { describe, expect, it } from 'vitest'
import { DB, MAX_SEGMENT_BYTES, MAX_SEGMENT_PARTITIONS, WalWriteError } from '../../src/index.js'
import { type Bucket, type BucketPutOptions, MemoryBucket, listAll } from '../../src/storage/index.js'
import { TailEvents } from '../../src/tail/index.js'
import { segmentKey } from '../../src/storage/index.js'
import { makeEvents } from '../helpers/events.js'

const T0 = Date.parse('2024-01-15T09:00:00Z')
const HOUR = 3_600_000

async function objects(bucket: Bucket, prefix: string): Promise<{ key: string; size: number }[]> {
  const out: { key: string; size: number }[] = []
  for await (const o of listAll(bucket, prefix)) out.push({ key: o.key, size: o.size })
  return out
}

async function text(bucket: Bucket, key: string): Promise<string> {
  return (await (await bucket.get(key))!.text())
}

/** Fails every PUT under `prefix` while `down`; with `storeFirst` the object is stored and only the response is lost. */
class Outage extends MemoryBucket {
  down = true
  constructor(private readonly prefix: string, private readonly storeFirst: boolean) { super() }
  override async put(key: string, value: string | ArrayBuffer | ArrayBufferView, options?: BucketPutOptions) {
    if (!this.down || !key.startsWith(this.prefix)) return super.put(key, value, options)
    if (this.storeFirst) await super.put(key, value, options)
    throw new Error('We encountered an internal error. Please try again. (10001)')
  }
}

const one = (i: number, extra: Record<string, unknown> = {}) => ({ ...makeEvents(1, { start: T0 + i, spanMs: 1, seed: i + 1 })[0]!, ...extra })

describe('bounded by construction: what one batch can make later passes and queries do', () => {
  it('a batch larger than a segment is split into segments of at most MAX_SEGMENT_BYTES; passes and find stay exact', async () => {
    const bucket = new MemoryBucket()
    const db = DB({ TailEvents }, { storage: bucket, now: () => T0 + 2 * HOUR })
    const padding = 'x'.repeat(4_000)
    const events = makeEvents(3_000, { start: T0, spanMs: 30 * 60_000 }).map(e => ({ ...e, event: { ...(e.event as object), padding } }))
    const r = await db.TailEvents.bulkCreate(events)
    expect(r.written).toBe(3_000)
    const segs = await objects(bucket, 'wal/')
    expect(segs.length).toBeGreaterThanOrEqual(3)
    expect(r.segments.sort()).toEqual(segs.map(s => s.key).sort())
    for (const s of segs) expect(s.size).toBeLessThanOrEqual(MAX_SEGMENT_BYTES)
    expect((await db.TailEvents.find({}, { project: { eventTimestamp: 1 } })).length).toBe(3_000)
    const pass = await db.compact()
    expect(pass.rowsCompacted).toBe(3_000)
    expect((await db.TailEvents.find({}, { project: { eventTimestamp: 1 } })).length).toBe(3_000)
  })

  it('a batch over hundreds of hours: segments span at most 24 partitions, a step commits at most 48', async () => {
    const bucket = new MemoryBucket()
    const commits: number[] = []
    // Count the files each manifest commit adds.
    const watched: Bucket = Object.assign(Object.create(bucket) as Bucket, {
      put: async (key: string, value: string | ArrayBuffer | ArrayBufferView, options?: BucketPutOptions) => {
        if (key === '_manifest.json') {
          const m = JSON.parse(value as string) as { collections: Record<string, { files: unknown[] }> }
          commits.push(m.collections.TailEvents?.files.length ?? 0)
        }
        return bucket.put(key, value, options)
      },
    })
    const now = T0 + 1_000 * HOUR
    const db = DB({ TailEvents }, { storage: watched, now: () => now })
    const events = Array.from({ length: 500 }, (_, i) => one(i, { eventTimestamp: new Date(T0 + i * HOUR) }))
    const r = await db.TailEvents.bulkCreate(events)
    expect(r.written).toBe(500)
    expect(r.segments.length).toBe(Math.ceil(500 / MAX_SEGMENT_PARTITIONS))
    for (const key of r.segments) {
      const hours = new Set(
        (await text(bucket, key)).trim().split('\n').map(l => Math.floor((JSON.parse(l) as { eventTimestamp: number }).eventTimestamp / HOUR)),
      )
      expect(hours.size).toBeLessThanOrEqual(MAX_SEGMENT_PARTITIONS)
    }
    // Every hour stays active, and the WAL is folded at once rather than held (holdWalMs 0).
    const pass = await db.compact({ quietAfterMs: 1e15, holdWalMs: 0 })
    expect(pass.rowsCompacted).toBe(500)
    const growth = commits.map((n, i) => n - (commits[i - 1] ?? 0))
    expect(Math.max(...growth)).toBeLessThanOrEqual(48)
    expect((await db.TailEvents.find({}, { project: { eventTimestamp: 1 } })).length).toBe(500)
  })

  it('an event over 1 MiB is rejected with the limit; the rest of its batch is stored', async () => {
    const db = DB({ TailEvents }, { storage: { type: 'memory' }, now: () => T0 })
    const r = await db.TailEvents.bulkCreate([one(1), one(2, { event: { blob: 'y'.repeat(1_100_000) } }), one(3)])
    expect(r.written).toBe(2)
    expect(r.rejected).toEqual([{ index: 1, reason: expect.stringMatching(/over the 1048576-byte limit for one event/) }])
  })
})

describe('corrupt WAL lines are quarantined once, never fatal', () => {
  it('null, numbers, arrays and broken JSON in a segment: find skips and counts them, a pass quarantines them once', async () => {
    const bucket = new MemoryBucket()
    const db = DB({ TailEvents }, { storage: bucket, now: () => T0 + HOUR })
    await db.TailEvents.bulkCreate([one(1), one(2)])
    const good = JSON.stringify((await db.TailEvents.find()).map(r => ({ ...r, eventTimestamp: (r.eventTimestamp as Date).getTime() }))[0])
    const key = segmentKey('', 'TailEvents', T0, T0, T0 + 5, 'corrupt1')
    await bucket.put(key, ['null', good, '42', '[1,2]', '{"scriptName": "cut off', '"str"'].join('\n') + '\n')

    const q = db.TailEvents.find()
    expect((await q).length).toBe(3)
    expect(q.stats!.walLinesSkipped).toBe(5)

    // The first pass dies at its manifest commit, after writing the quarantine copy; the next
    // pass does the work again and writes that copy once, not twice.
    const realPut = bucket.put.bind(bucket)
    bucket.put = async (k, v, o) => { if (k === '_manifest.json') throw new Error('injected: commit lost'); return realPut(k, v, o) }
    await expect(db.compact()).rejects.toThrow(/commit lost/)
    bucket.put = realPut
    const pass = await db.compact()
    expect(pass.rowsCompacted).toBe(3)
    const quarantine = await objects(bucket, 'quarantine/')
    expect(quarantine.map(o => o.key)).toEqual([`quarantine/TailEvents/wal-${key.split('/').pop()}`])
    const lines = (await text(bucket, quarantine[0]!.key)).trim().split('\n').map(l => JSON.parse(l) as { reason: string; event: unknown })
    expect(lines.map(l => l.event)).toEqual(['null', '42', '[1,2]', '{"scriptName": "cut off', '"str"'])
    expect(lines[0]!.reason).toMatch(/must be a JSON object, got null/)
    const after = db.TailEvents.find()
    expect((await after).length).toBe(3)
    expect(after.stats!.walLinesSkipped).toBe(0)
  })
})

describe('a batch reports stored exactly when it is stored; retries with its key store it once', () => {
  it('a failed quarantine write stores nothing; the retry with the error\'s key stores the batch once', async () => {
    const bucket = new Outage('quarantine/', false)
    const db = DB({ TailEvents }, { storage: bucket, now: () => T0 })
    const batch = [one(1), { scriptName: 'bad' }, one(2)] as unknown as ReturnType<typeof one>[]
    const err = await db.TailEvents.bulkCreate(batch).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(WalWriteError)
    expect((await objects(bucket, 'wal/')).length).toBe(0)
    bucket.down = false
    const r = await db.TailEvents.bulkCreate(batch, { idempotencyKey: (err as WalWriteError).idempotencyKey! })
    expect(r.written).toBe(2)
    expect((await db.TailEvents.find()).length).toBe(2)
  })

  it('every response lost: the error says so and carries the key; a retry with it is counted once, before and after compaction', async () => {
    const bucket = new Outage('wal/', true)
    let now = T0
    const db = DB({ TailEvents }, { storage: bucket, now: () => now })
    const batch = makeEvents(30, { start: T0, spanMs: 60_000 })
    const err = await db.TailEvents.bulkCreate(batch).catch((e: unknown) => e) as WalWriteError
    expect(err).toBeInstanceOf(WalWriteError)
    expect(err.message).toMatch(/retry with \{ idempotencyKey/)
    expect((await objects(bucket, 'wal/')).length).toBe(1) // stored, though unacknowledged
    bucket.down = false
    now += 1_000
    await db.TailEvents.bulkCreate(batch, { idempotencyKey: err.idempotencyKey! })
    expect((await objects(bucket, 'wal/')).length).toBe(2)
    expect((await db.TailEvents.find()).length).toBe(30)
    now += HOUR
    await db.compact()
    expect((await db.TailEvents.find()).length).toBe(30)
    // After compaction too: a third attempt with the same key adds nothing.
    now += 1_000
    await db.TailEvents.bulkCreate(batch, { idempotencyKey: err.idempotencyKey! })
    expect((await db.TailEvents.find()).length).toBe(30)
    await db.compact()
    expect((await db.TailEvents.find()).length).toBe(30)
    expect((await db.status()).collections.TailEvents!.wal.segments).toBe(0)
  })

  it('db.tail keys a batch by its content: the same TraceItems delivered twice are stored once', async () => {
    let now = T0
    const db = DB({ TailEvents }, { storage: { type: 'memory' }, now: () => now })
    const items = [1, 2, 3].map(i => ({
      scriptName: 'api', outcome: 'ok', eventTimestamp: T0 + i, event: { request: { url: `https://x/${i}`, method: 'GET' } },
      logs: [], exceptions: [], diagnosticsChannelEvents: [],
    }))
    await db.tail(items)
    now += 5_000
    await db.tail(items)
    expect((await db.TailEvents.find()).length).toBe(3)
    await db.tail([{ ...items[0]!, outcome: 'exception' }])
    expect((await db.TailEvents.find()).length).toBe(4)
  })
})

describe('values are stored so they read back equal, or rejected with a reason', () => {
  it('a bad value nested anywhere rejects its event with the reason; the batch\'s valid events are stored', async () => {
    const db = DB({ TailEvents }, { storage: { type: 'memory' }, now: () => T0 })
    const throwing = { get boom(): unknown { throw new Error('getter exploded') } }
    const r = await db.TailEvents.bulkCreate([
      one(1),
      one(2, { event: { when: new Date(NaN) } }),
      one(3, { logs: [{ level: 'log', message: ['x'], timestamp: new Date('nope') }] }),
      one(4, { event: throwing }),
      one(5, { event: { m: new Map([[1, 2]]) } }),
      one(6, { event: { s: new Set([1]) } }),
      one(7, { event: { n: 2n ** 70n + 1n } }),
      one(8, { event: { n: 10n ** 400n } }),
      one(9, { event: { s: 'ok \uD800 not' } }),
      one(10, { event: JSON.parse('{"__proto__": {"x": 1}}') as unknown }),
      one(11, { scriptName: 'lone \uDFFF' }),
      one(12),
    ])
    expect(r.written).toBe(2)
    const reasons = Object.fromEntries(r.rejected.map(x => [x.index, x.reason]))
    expect(reasons[1]).toMatch(/event: when: an invalid Date/)
    expect(reasons[2]).toMatch(/logs: \[0\]: timestamp: an invalid Date/)
    expect(reasons[3]).toMatch(/getter exploded/)
    expect(reasons[4]).toMatch(/cannot store a Map/)
    expect(reasons[5]).toMatch(/cannot store a Set/)
    expect(reasons[6]).toMatch(/BigInt 1180591620717411303425 is outside/)
    expect(reasons[7]).toMatch(/BigInt 1000.* is outside/)
    expect(reasons[8]).toMatch(/lone surrogate \(U\+D800\) at index 3/)
    expect(reasons[9]).toMatch(/__proto__/)
    expect(reasons[10]).toMatch(/scriptName: has a lone surrogate/)
    expect(Object.keys(reasons).length).toBe(10)
  })

  it('class instances are their own properties; host objects with their data in accessors are rejected', async () => {
    class Info { constructor(readonly url: string, readonly n: number) {} }
    const db = DB({ TailEvents }, { storage: { type: 'memory' }, now: () => T0 })
    const r = await db.TailEvents.bulkCreate([
      one(1, { event: { info: new Info('https://a', 2), boxed: Object('s') as unknown } }),
      one(2, { event: { headers: new Headers({ a: 'b' }) } }),
      one(3, { event: { bytes: new Uint8Array([1, 2]) } }),
    ])
    expect(r.rejected.map(x => x.index)).toEqual([1, 2])
    expect(r.rejected[0]!.reason).toMatch(/cannot store a Headers/)
    expect(r.rejected[1]!.reason).toMatch(/cannot store a Uint8Array/)
    expect((await db.TailEvents.find())[0]!.event).toEqual({ info: { url: 'https://a', n: 2 }, boxed: 's' })
  })

  it('db.tail batches that differ only in their rejected events are each quarantined', async () => {
    const bucket = new MemoryBucket()
    const db = DB({ TailEvents }, { storage: bucket, now: () => T0 })
    const bad = (message: string) => ({ scriptName: 'api', outcome: 'ok', eventTimestamp: T0, event: { m: new Map(), message } })
    await db.tail([bad('first')])
    await db.tail([bad('second')])
    expect((await objects(bucket, 'quarantine/')).length).toBe(2)
  })

  it('Errors, URLs, Dates and safe BigInts read back the same from the WAL and from Parquet', async () => {
    let now = T0
    const db = DB({ TailEvents }, { storage: { type: 'memory' }, now: () => now })
    const err = new TypeError('bad thing')
    const r = await db.TailEvents.bulkCreate([
      one(1, { exceptions: [err], event: { url: new URL('https://example.com/a?b=1'), at: new Date(T0), n: 12n, constructor: 'own' } }),
    ])
    expect(r.rejected).toEqual([])
    const [wal] = await db.TailEvents.find()
    expect(wal!.exceptions).toEqual([{ name: 'TypeError', message: 'bad thing', stack: err.stack }])
    expect(wal!.event).toEqual({ url: 'https://example.com/a?b=1', at: new Date(T0).toISOString(), n: 12, constructor: 'own' })
    now += HOUR
    await db.compact()
    const [parquet] = await db.TailEvents.find()
    expect(parquet).toEqual(wal)
  })
})

describe('a segment too large to load', () => {
  it('is skipped by reads (and counted), quarantined in place by a pass, kept by garbage collection, shown by status', async () => {
    const bucket = new MemoryBucket()
    let now = T0 + HOUR
    const db = DB({ TailEvents }, { storage: bucket, now: () => now })
    await db.TailEvents.bulkCreate([one(1)])
    const line = JSON.stringify({ scriptName: 'big', outcome: 'ok', eventTimestamp: T0, event: { pad: 'z'.repeat(17 << 20) } })
    const key = segmentKey('', 'TailEvents', T0, T0, T0, 'foreign1')
    await bucket.put(key, line + '\n')
    const q = db.TailEvents.find()
    expect((await q).length).toBe(1)
    expect(q.stats!.segmentsSkipped).toBe(1)
    await db.compact()
    now += 2 * HOUR
    await db.compact()
    expect((await db.status()).collections.TailEvents!.wal.quarantinedInPlace).toEqual([key])
    expect(await bucket.head(key)).not.toBeNull()
    expect((await db.TailEvents.find()).length).toBe(1)
  })
})

describe('projections over hostile rows', () => {
  it('a row holding its own __proto__ key (a hand-written segment) cannot pollute Object.prototype', async () => {
    const bucket = new MemoryBucket()
    const db = DB({ TailEvents }, { storage: bucket, now: () => T0 })
    const line = '{"scriptName":"x","outcome":"ok","eventTimestamp":' + T0 + ',"event":{"__proto__":{"a":1}},"logs":[],' +
      '"exceptions":[],"diagnosticsChannelEvents":[]}'
    await bucket.put(segmentKey('', 'TailEvents', T0, T0, T0, 'handmade1'), line + '\n')
    const rows = await db.TailEvents.find({}, { project: { 'event.__proto__.polluted': 1, scriptName: 1 } })
    expect(rows).toHaveLength(1)
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    const kept = await db.TailEvents.find({}, { project: { 'event.__proto__.a': 1 } })
    expect(Object.hasOwn((kept[0]!.event as object), '__proto__')).toBe(true)
    expect(({} as Record<string, unknown>).a).toBeUndefined()
    const hidden = await db.TailEvents.find({}, { project: { 'event.__proto__': 0 } })
    expect(hidden[0]!.event).toEqual({})
  })
})

describe('review findings', () => {
  it('a retry whose first segment is not in the current ingest step is consumed with it, never before', async () => {
    const bucket = new MemoryBucket()
    let now = T0
    const db = DB({ TailEvents }, { storage: bucket, now: () => now })
    await db.TailEvents.bulkCreate([one(1)])
    now += 1
    await db.TailEvents.bulkCreate([one(2)])
    now += 1
    const batch = [one(3), one(4), one(5)]
    await db.TailEvents.bulkCreate(batch, { idempotencyKey: 'k-1' })
    now += 1
    await db.TailEvents.bulkCreate(batch, { idempotencyKey: 'k-1' }) // the retry
    expect((await db.TailEvents.find()).length).toBe(5)
    now += 2 * HOUR
    await db.compact({ maxSegmentsPerBatch: 1 })
    expect((await db.TailEvents.find()).length).toBe(5)
    expect((await db.status()).collections.TailEvents!.wal.segments).toBe(0)
  })

  it('a foreign segment over more hours than a segment may hold reads the same (absent) before and after compaction', async () => {
    const bucket = new MemoryBucket()
    let now = T0 + 40 * HOUR
    const db = DB({ TailEvents }, { storage: bucket, now: () => now })
    await db.TailEvents.bulkCreate([one(1)])
    const good = JSON.parse(JSON.stringify({ ...one(0), eventTimestamp: T0 })) as Record<string, unknown>
    const lines = Array.from({ length: 30 }, (_, h) => JSON.stringify({ ...good, eventTimestamp: T0 + h * HOUR }))
    await bucket.put(segmentKey('', 'TailEvents', T0, T0, T0 + 29 * HOUR, 'spread1'), lines.join('\n') + '\n')
    const before = db.TailEvents.find()
    expect((await before).length).toBe(1)
    expect(before.stats!.segmentsSkipped).toBe(1)
    await db.compact()
    now += HOUR
    expect((await db.TailEvents.find()).length).toBe(1)
    const q = (await objects(bucket, 'quarantine/')).map(o => o.key)
    expect(q).toEqual(['quarantine/TailEvents/wal-' + segmentKey('', 'TailEvents', T0, T0, T0 + 29 * HOUR, 'spread1').split('/').pop()])
  })
})
