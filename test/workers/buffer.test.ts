import { env } from 'cloudflare:workers'
import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { DB, type ParqueDBBuffer } from '../../src/index.js'
import { RETAIN_MS } from '../../src/ingest/index.js'
import type { Bucket } from '../../src/storage/index.js'
import { TailEvents } from '../../src/tail/index.js'
import { makeEvents } from '../helpers/events.js'

/** Each row by its time and its generator index (unique per event): compares what was stored, once each. */
const canonical = (rows: readonly { eventTimestamp: unknown; logs?: unknown }[]) =>
  rows.map(r => `${+new Date(r.eventTimestamp as string)}|${JSON.stringify(r.logs)}`).sort()

const T0 = Date.parse('2024-03-01T10:00:00Z')
const HOUR = 3_600_000

/** A DB writing through the buffer; maxWaitMs of an hour unless a test says otherwise, so only it flushes. */
function open(prefix: string, buffer: Record<string, number> = {}, storage: Bucket = env.PARQUEDB) {
  return DB({ TailEvents }, {
    storage, prefix,
    ingest: { buffer: { binding: env.PARQUEDB_BUFFER, shards: 2, maxWaitMs: HOUR, ...buffer } },
  })
}

const shard = (prefix: string, i: number) =>
  env.PARQUEDB_BUFFER.get(env.PARQUEDB_BUFFER.idFromName(`${prefix}/parquedb-shard-${i}`)) as
    DurableObjectStub<ParqueDBBuffer & Rpc.DurableObjectBranded>
const walKeys = async (prefix: string) =>
  (await env.PARQUEDB.list({ prefix: `${prefix}/wal/TailEvents/` })).objects.map(o => o.key)
/** Restarts a shard as a crash would: the next request builds a new object from its storage. */
async function restart(stub: ReturnType<typeof shard>) {
  await runInDurableObject(stub, (_o, state) => { state.abort('test restart') }).catch(() => {})
}

describe('group-commit buffer in workerd (real Durable Objects, local R2)', () => {
  it('stores each batch in a shard before answering, reads it at once, flushes one segment per shard', async () => {
    const db = open('buf-basic')
    const events = makeEvents(100, { start: T0, spanMs: HOUR })
    for (let i = 0; i < 100; i += 2) {
      const r = await db.TailEvents.bulkCreate(events.slice(i, i + 2))
      expect(r).toMatchObject({ written: 2, segment: null, segments: [] })
      expect(r.shard).toMatch(/^buf-basic\/parquedb-shard-[01]$/)
    }
    expect(await walKeys('buf-basic')).toEqual([]) // nothing in R2 yet: the shards hold it
    const want = canonical(events)
    expect(canonical(await db.TailEvents.find())).toEqual(want) // read-your-writes through the buffers
    const status = await db.status()
    expect(status.buffers).toMatchObject({ events: 100 })
    expect(status.buffers!.shards.map(s => s.events).reduce((a, b) => a + b)).toBe(100)
    expect(status.buffers!.shards.every(s => s.events > 0)).toBe(true) // load spread over both shards
    expect(status.buffers!.shards.map(s => s.shard)).toEqual(['buf-basic/parquedb-shard-0', 'buf-basic/parquedb-shard-1'])
    expect((await open('buf-unused').status()).buffers!.shards.map(s => [s.shard, s.events]))
      .toEqual([['buf-unused/parquedb-shard-0', 0], ['buf-unused/parquedb-shard-1', 0]])

    expect(await db.flush()).toBe(2)
    expect((await walKeys('buf-basic')).length).toBe(2) // 50 batches, 2 PUTs
    expect(canonical(await db.TailEvents.find())).toEqual(want) // flushed but retained: still once
    expect(canonical(await db.TailEvents.find({}, { buffers: false }))).toEqual(want)
    expect((await db.status()).buffers).toMatchObject({ events: 0, bytes: 0, oldestAgeMs: 0 })
    expect((await db.compact()).rowsCompacted).toBe(100)
    expect(canonical(await db.TailEvents.find())).toEqual(want) // compacted while retained: still once
    const within = await db.TailEvents.find({ eventTimestamp: { $lt: new Date(T0 + HOUR / 2) } })
    expect(canonical(within)).toEqual(canonical(events.filter(e => +e.eventTimestamp < T0 + HOUR / 2)))
  })

  it('skipping the buffers reads only what is flushed', async () => {
    const db = open('buf-skip')
    await db.TailEvents.bulkCreate(makeEvents(5, { start: T0, spanMs: HOUR }))
    expect((await db.TailEvents.find({}, { buffers: false })).length).toBe(0)
    expect((await db.TailEvents.find()).length).toBe(5)
    const explain = await db.TailEvents.find().explain()
    expect(explain.bufferedBatchesRead).toBe(1)
  })

  it('SQL reads the buffers too: an aggregate on the columnar path, a listing on the row path', async () => {
    const db = open('buf-sql')
    await db.TailEvents.bulkCreate(makeEvents(6, { start: T0, spanMs: HOUR }))
    const aggregate = await db.sql.explain`SELECT COUNT(*) AS n, COUNT(DISTINCT scriptName) AS s FROM TailEvents`
    expect(aggregate.scans.map(s => s.path)).toEqual(['columnar'])
    expect(aggregate.scans[0]!.stats.bufferedBatchesRead).toBe(1)
    expect(Number(aggregate.rows[0]!.n)).toBe(6)
    const listing = await db.sql`SELECT scriptName FROM TailEvents ORDER BY eventTimestamp`
    expect(listing).toHaveLength(6)
  })

  it('a shard whose storage was reset never repeats a segment id, so nothing it flushes is dropped', async () => {
    const db = open('buf-reset', { shards: 1 })
    const first = makeEvents(4, { start: T0, spanMs: HOUR, seed: 7 })
    await db.TailEvents.bulkCreate(first)
    await db.flush()
    await db.compact()
    // A new namespace on the same bucket, or a deleted and re-created class: the shard starts empty.
    await runInDurableObject(shard('buf-reset', 0), async (_o, state) => { await state.storage.deleteAll() })
    await restart(shard('buf-reset', 0))
    const second = makeEvents(3, { start: T0 + HOUR, spanMs: HOUR, seed: 8 })
    await db.TailEvents.bulkCreate(second)
    await db.flush()
    const pass = await db.compact()
    expect(pass.rowsCompacted).toBe(3)
    expect(canonical(await db.TailEvents.find())).toEqual(canonical([...first, ...second]))
  })

  it('a batch spanning more hours than a segment (1970 and 9999) goes to the WAL; the shard keeps working', async () => {
    const db = open('buf-span', { shards: 1 })
    const [a, b, c] = makeEvents(3, { start: T0, spanMs: HOUR, seed: 9 })
    const far = [{ ...a!, eventTimestamp: new Date(0) }, { ...b!, eventTimestamp: new Date('9999-12-31T00:00:00Z') }]
    const r = await db.TailEvents.bulkCreate(far)
    expect(r.written).toBe(2)
    expect(r.segments).toHaveLength(1) // straight to the WAL: a segment, not a shard
    expect(r.shard).toBeUndefined()
    await db.TailEvents.bulkCreate([c!])
    expect((await db.TailEvents.find()).length).toBe(3)
    expect(await db.flush()).toBe(1)
    expect((await db.TailEvents.find()).length).toBe(3)
  })

  it('a retried batch is stored once: in the buffer, after its flush, and after compaction', async () => {
    const db = open('buf-retry')
    const batch = makeEvents(4, { start: T0, spanMs: HOUR, seed: 7 })
    await db.TailEvents.bulkCreate(batch, { idempotencyKey: 'order-1' })
    await db.TailEvents.bulkCreate(batch, { idempotencyKey: 'order-1' })
    expect((await db.TailEvents.find()).length).toBe(4)
    await db.flush()
    await db.TailEvents.bulkCreate(batch, { idempotencyKey: 'order-1' })
    expect((await db.TailEvents.find()).length).toBe(4)
    await db.compact()
    await db.TailEvents.bulkCreate(batch, { idempotencyKey: 'order-1' })
    expect((await db.status()).buffers!.events).toBe(0)
    expect((await db.TailEvents.find()).length).toBe(4)
  })

  it('the same batch sent twice at once to a shard with no table yet is stored once', async () => {
    const db = open('buf-twice', { shards: 1 })
    const batch = makeEvents(3, { start: T0, spanMs: HOUR, seed: 12 })
    await Promise.all([1, 2, 3].map(() => db.TailEvents.bulkCreate(batch, { idempotencyKey: 'same' })))
    expect((await db.TailEvents.find()).length).toBe(3)
    expect((await db.status()).buffers!.events).toBe(3)
  })

  it('a flush that lands between a query\'s WAL listing and its buffer read is counted once', async () => {
    const db = open('buf-race')
    const events = makeEvents(30, { start: T0, spanMs: HOUR, seed: 3 })
    for (let i = 0; i < 30; i += 3) await db.TailEvents.bulkCreate(events.slice(i, i + 3))
    let flushes = 0
    // A bucket whose WAL LIST returns, and only then lets both shards flush, before the query asks them.
    const racing: Bucket = Object.assign(Object.create(env.PARQUEDB) as Bucket, {
      get: env.PARQUEDB.get.bind(env.PARQUEDB), head: env.PARQUEDB.head.bind(env.PARQUEDB),
      put: env.PARQUEDB.put.bind(env.PARQUEDB), delete: env.PARQUEDB.delete.bind(env.PARQUEDB),
      list: async (o?: R2ListOptions) => {
        const listed = await env.PARQUEDB.list(o)
        if (o?.prefix?.includes('/wal/')) flushes += await db.flush()
        return listed
      },
    })
    const reader = open('buf-race', {}, racing)
    expect(canonical(await reader.TailEvents.find())).toEqual(canonical(events))
    expect(flushes).toBe(2)
    // The next read lists the segments, and the shards still hold the batches (retained): once again.
    expect(canonical(await reader.TailEvents.find())).toEqual(canonical(events))
  })

  it('a shard restarted between the flush steps loses and duplicates nothing, whatever compaction does', async () => {
    const db = open('buf-crash', { shards: 1 })
    const events = makeEvents(15, { start: T0, spanMs: HOUR, seed: 5 })
    for (let i = 0; i < 15; i += 3) await db.TailEvents.bulkCreate(events.slice(i, i + 3))
    const want = canonical(events)
    // A stub breaks with its object; each step takes a new one (the restarted object).
    const stub = () => shard('buf-crash', 0)
    const exact = async () => expect(canonical(await db.TailEvents.find())).toEqual(want)

    // Step 1 (record the flush, its key fixed), then a crash.
    const key = await runInDurableObject(stub(), o => o.recordFlush(1).key) // the shard's first table
    await restart(stub())
    await exact()
    expect(await walKeys('buf-crash')).toEqual([])

    // Step 2's PUT lands, and the shard dies before it marks the flush stored.
    await runInDurableObject(stub(), async o => {
      const store = (o as unknown as { store: { records(w: string): { seq: number; key: string }[]; body(seq: number): string } }).store
      const [f] = store.records('unstored')
      expect(f!.key).toBe(key)
      await env.PARQUEDB.put(f!.key, store.body(f!.seq), { onlyIf: { etagDoesNotMatch: '*' } })
    })
    await restart(stub())
    await exact() // the segment is listed: its batches, still in the shard, are not counted again
    expect(await walKeys('buf-crash')).toEqual([key])

    // A compaction consumes the segment while the shard still holds the batches.
    expect((await db.compact()).rowsCompacted).toBe(15)
    await exact()

    // After the restart the alarm redoes step 2 under the same key: nothing stored twice.
    const more = makeEvents(3, { start: T0, spanMs: HOUR, seed: 6 })
    await db.TailEvents.bulkCreate(more)
    const all = canonical([...events, ...more])
    await restart(stub())
    expect(await runInDurableObject(stub(), o => o.putRecorded())).toBe(1)
    expect(await walKeys('buf-crash')).toEqual([key])
    expect(canonical(await db.TailEvents.find())).toEqual(all)

    // Step 3 after the retention, then another restart: the batches are gone from the shard, the rows stay once.
    await runInDurableObject(stub(), o => o.dropStored(Date.now() + RETAIN_MS + 1))
    await restart(stub())
    expect((await db.status()).buffers!.events).toBe(3)
    expect(canonical(await db.TailEvents.find())).toEqual(all)
    await db.flush()
    expect((await db.compact()).rowsCompacted).toBe(3)
    expect(canonical(await db.TailEvents.find())).toEqual(all)
    expect((await walKeys('buf-crash')).length).toBe(2)
  })

  it('flushes on maxEvents and on maxWaitMs through the alarm', async () => {
    const db = open('buf-alarm', { shards: 1, maxEvents: 6, maxWaitMs: 50 })
    const stub = shard('buf-alarm', 0)
    const segments = async (n: number) => {
      // The alarm runs on its own; runDurableObjectAlarm runs it now if it has not yet.
      for (let t = 0; (await walKeys('buf-alarm')).length < n && t < 100; t++) {
        await runDurableObjectAlarm(stub)
        await new Promise(r => setTimeout(r, 20))
      }
      return (await walKeys('buf-alarm')).length
    }
    await db.TailEvents.bulkCreate(makeEvents(5, { start: T0, spanMs: HOUR }))
    await new Promise(r => setTimeout(r, 20))
    await db.TailEvents.bulkCreate(makeEvents(1, { start: T0, spanMs: HOUR, seed: 8 }))
    expect(await segments(1)).toBe(1) // maxEvents (6) reached, or maxWaitMs for the first
    await db.TailEvents.bulkCreate(makeEvents(1, { start: T0, spanMs: HOUR, seed: 9 }))
    expect(await segments(2)).toBe(2) // maxWaitMs passed for the single event
    expect((await db.TailEvents.find()).length).toBe(7)
    const s = (await db.status()).buffers!.shards[0]!
    expect(s).toMatchObject({ events: 0, flushing: 0, flushedSegments: 2 })
    expect(s.rowsWritten).toBeGreaterThan(0)
  })

  it('an event costs one SQLite row written; a segment holds at most maxBytes; a flush drops whole tables', async () => {
    const db = open('buf-rows', { shards: 1, maxBytes: 8_000 })
    const stub = () => shard('buf-rows', 0)
    const rows = async () => (await db.status()).buffers!.shards[0]!.rowsWritten
    const events = makeEvents(40, { start: T0, spanMs: HOUR, seed: 11 })
    await db.TailEvents.bulkCreate(events.slice(0, 1)) // opens the shard's first table
    const before = await rows()
    for (let i = 1; i < 40; i++) await db.TailEvents.bulkCreate(events.slice(i, i + 1))
    // One row per append, plus a new table's few rows (its record, the sequence number) now and then,
    // and the alarm's flushes of full tables (a row or two each).
    const written = await rows() - before
    expect(written).toBeLessThanOrEqual(39 + 8 * Math.ceil(JSON.stringify(events).length / 8_000))
    expect(written).toBeGreaterThanOrEqual(39)
    await db.flush() // full tables were already flushed by the alarm, at once
    const sizes = (await env.PARQUEDB.list({ prefix: 'buf-rows/wal/TailEvents/' })).objects.map(o => o.size)
    const flushed = sizes.length
    expect(flushed).toBeGreaterThan(1)
    expect(flushed).toBeGreaterThanOrEqual(Math.ceil(sizes.reduce((a, b) => a + b) / 8_000))
    expect(Math.max(...sizes)).toBeLessThanOrEqual(8_000)
    const afterFlush = await rows()
    await runInDurableObject(stub(), o => o.dropStored(Date.now() + RETAIN_MS + 1))
    // Dropping a table is one row (its record), however many batches it held.
    expect(await rows() - afterFlush).toBeLessThanOrEqual(2 * flushed)
    expect(canonical(await db.TailEvents.find())).toEqual(canonical(events))
  })

  it('a batch that cannot be one segment goes straight to the WAL; a bad option is named', async () => {
    const db = open('buf-big', { shards: 1 })
    const r = await db.TailEvents.bulkCreate(makeEvents(40, { start: T0, spanMs: 40 * HOUR }))
    expect(r.shard).toBeUndefined()
    expect(r.segments.length).toBe(2)
    expect((await db.TailEvents.find()).length).toBe(40)
    expect(() => open('x', { shards: 0 })).toThrow(/ingest\.buffer\.shards must be an integer from 1/)
    const unbound = DB({ TailEvents }, { storage: env.PARQUEDB, ingest: { buffer: { binding: 'NOPE' } } })
    await expect(unbound.TailEvents.create(makeEvents(1, { start: T0, spanMs: 1 })[0]!))
      .rejects.toThrow(/no Durable Object binding NOPE/)
  })
})
