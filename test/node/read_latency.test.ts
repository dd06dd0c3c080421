import { describe, expect, it } from 'vitest'
import { DB } from '../../src/index.js'
import { LatencyBucket, MemoryBucket } from '../../src/storage/index.js'
import { TailEvents } from '../../src/tail/index.js'
import { makeEvents } from '../helpers/events.js'

const T0 = Date.parse('2024-01-15T09:00:00Z')
const HOUR = 3_600_000
const jittery = { ms: 2, jitterMs: 2 }
const allKinds = { get: jittery, head: jittery, put: jittery, list: jittery, delete: jittery }

/** A store with `batches` unflushed WAL segments over two hours, and optionally some compacted first. */
async function store(batches: number, compactedFirst: boolean) {
  const bucket = new MemoryBucket()
  let now = T0 + 3 * HOUR
  const db = DB({ TailEvents }, { storage: bucket, now: () => now })
  const events = makeEvents(batches * 5, { start: T0, spanMs: 2 * HOUR, seed: 7 })
  for (let i = 0; i < events.length; i += 5) {
    await db.TailEvents.bulkCreate(events.slice(i, i + 5))
    if (compactedFirst && i === events.length / 2) { await db.compact(); now += 1_000 }
  }
  return { bucket, now }
}

const ids = (rows: readonly { eventTimestamp: Date; event?: unknown }[]) =>
  rows.map(r => `${r.eventTimestamp.getTime()} ${JSON.stringify(r.event)}`).sort()

describe('reads keep requests in flight (R2 latency)', () => {
  it('a one-hour find over hundreds of unflushed segments reads them concurrently, each row once', async () => {
    const { bucket, now } = await store(300, false)
    const hour = { eventTimestamp: { $gte: new Date(T0), $lt: new Date(T0 + HOUR) } }
    const expected = ids(await DB({ TailEvents }, { storage: bucket, now: () => now }).TailEvents.find(hour))
    const slow = new LatencyBucket(bucket, { latency: allKinds, seed: 3 })
    const db = DB({ TailEvents }, { storage: slow, now: () => now })
    const q = db.TailEvents.find(hour)
    expect(ids(await q)).toEqual(expected)
    expect(expected.length).toBeGreaterThan(500)
    expect(slow.maxInFlight).toBeGreaterThan(4)
    expect(slow.maxInFlight).toBeLessThanOrEqual(16 + 1)
    expect(q.stats!.segmentsRead).toBeGreaterThan(100)
  })

  it('Parquet files and WAL segments under random latency and out-of-order answers: the same rows as without', async () => {
    const { bucket, now } = await store(200, true)
    const plain = DB({ TailEvents }, { storage: bucket, now: () => now })
    const filters = [{}, { outcome: 'exception' }, { eventTimestamp: { $gte: new Date(T0 + HOUR / 2) } }]
    for (const [seed, f] of filters.entries()) {
      const expected = ids(await plain.TailEvents.find(f))
      const slow = new LatencyBucket(bucket, { latency: allKinds, seed: seed + 10, reorder: true })
      const rows = await DB({ TailEvents }, { storage: slow, now: () => now }).TailEvents.find(f)
      expect(ids(rows)).toEqual(expected)
      expect(slow.maxInFlight).toBeGreaterThan(1)
    }
  })

  it('a slow consumer does not make the reader fetch ahead more than its read-ahead', async () => {
    const { bucket, now } = await store(100, false)
    const slow = new LatencyBucket(bucket, { latency: allKinds, seed: 8 })
    const q = DB({ TailEvents }, { storage: slow, now: () => now }).TailEvents.find()
    const it = q[Symbol.asyncIterator]()
    await it.next()
    await new Promise(resolve => setTimeout(resolve, 100)) // the consumer is busy elsewhere
    await slow.idle()
    // The manifest and the WAL LIST, then at most 16 segments open ahead (and the current one's next).
    expect(slow.ops.get).toBeLessThanOrEqual(1 + 16 + 1)
    await it.return?.(undefined)
  })

  it('concurrency is configurable per DB and per query', async () => {
    const { bucket, now } = await store(60, false)
    const slow = new LatencyBucket(bucket, { latency: allKinds, seed: 5 })
    const db = DB({ TailEvents }, { storage: slow, now: () => now, concurrency: 4 })
    await db.TailEvents.find()
    expect(slow.maxInFlight).toBeLessThanOrEqual(4)
    expect(slow.maxInFlight).toBeGreaterThan(1)
    const one = new LatencyBucket(bucket, { latency: allKinds, seed: 6 })
    const rows = await DB({ TailEvents }, { storage: one, now: () => now }).TailEvents.find({}, { concurrency: 1 })
    expect(rows).toHaveLength(300)
    // The manifest GET and the WAL LIST still go out together; segments one at a time.
    expect(one.maxInFlight).toBeLessThanOrEqual(2)
    expect(() => db.TailEvents.find({}, { concurrency: 0 })).toThrow(/concurrency must be a positive integer/)
  })
})
