import { describe, expect, it } from 'vitest'
import { DB } from '../../src/index.js'
import { DEFAULT_COMPACTION } from '../../src/compactor/index.js'
import { loadManifest } from '../../src/manifest/index.js'
import {
  type Bucket, type BucketRange, LatencyBucket, type LatencyLogEntry, type LatencySpec, MemoryBucket, listAll,
} from '../../src/storage/index.js'
import { TailEvents } from '../../src/tail/index.js'
import { makeEvents } from '../helpers/events.js'
import { canonical } from '../helpers/rows.js'

/**
 * Compaction over a bucket that answers like R2 (issue 9): a pass keeps requests in flight (reads
 * ahead, uploads together, deletes in batches), and every invariant still holds with random
 * latencies and out-of-order completion. No timings are asserted here; the bench measures them.
 */

const T0 = Date.parse('2024-01-15T06:00:00Z')
const HOUR = 3_600_000
const MINUTE = 60_000

/** Every kind `spec` (small, so the tests stay fast); completions are reordered by the draws. */
function r2Like(inner: Bucket, seed: number, spec: LatencySpec = { ms: 2, jitterMs: 2 }): LatencyBucket {
  return new LatencyBucket(inner, { seed, latency: { get: spec, head: spec, put: spec, list: spec, delete: spec } })
}

async function backlog(bucket: Bucket, now: number, segments: number, perSegment: number, spanMs: number, seed = 1) {
  const w = DB({ TailEvents }, { storage: bucket, now: () => now })
  const events = makeEvents(segments * perSegment, { start: T0, spanMs, seed })
  for (let i = 0; i < events.length; i += perSegment) await w.TailEvents.bulkCreate(events.slice(i, i + perSegment))
  return events
}

/** What a compaction committed, without the random parts of file names. */
async function shape(bucket: Bucket) {
  const m = (await loadManifest(bucket, '', 0)).manifest
  const c = m.collections.TailEvents!
  return {
    version: m.version,
    consumed: c.consumed.map(s => s.key),
    files: c.files.map(f => `${f.partition} L${f.level} ${f.rows}`).sort(),
  }
}

describe('compaction over R2-like latency', () => {
  it('a pass over a backlog keeps requests in flight, at most `concurrency`, and commits what a sequential pass does', async () => {
    const now = T0 + 8 * HOUR // every hour quiet: the pass ingests, then merges
    const base = new MemoryBucket()
    const events = await backlog(base, now, 120, 10, 6 * HOUR)
    const runs: Record<string, { shape: Awaited<ReturnType<typeof shape>>; ops: number; max: number; rows: string[] }> = {}
    for (const concurrency of [1, 4, 16]) {
      const inner = new MemoryBucket()
      for await (const o of listAll(base, '')) await inner.put(o.key, await (await base.get(o.key))!.arrayBuffer())
      const slow = r2Like(inner, concurrency)
      const db = DB({ TailEvents }, { storage: slow, now: () => now })
      const pass = await db.compact({ concurrency, maxSegmentsPerBatch: 50 })
      expect(pass.rowsCompacted).toBe(events.length)
      expect(slow.inFlight).toBe(0)
      const { get, head, put, list, delete: del } = slow.ops
      runs[concurrency] = {
        shape: await shape(inner), ops: get + head + put + list + del, max: slow.maxInFlight,
        rows: canonical(await DB({ TailEvents }, { storage: inner, now: () => now }).TailEvents.find()),
      }
    }
    expect(runs[1]!.max).toBe(1)
    expect(runs[4]!.max).toBeGreaterThan(1)
    expect(runs[4]!.max).toBeLessThanOrEqual(4)
    expect(runs[16]!.max).toBeGreaterThan(4)
    expect(runs[16]!.max).toBeLessThanOrEqual(16)
    for (const c of ['4', '16']) {
      expect(runs[c]!.shape, `concurrency ${c}`).toEqual(runs[1]!.shape)
      expect(runs[c]!.ops, `concurrency ${c}`).toBe(runs[1]!.ops)
      expect(runs[c]!.rows, `concurrency ${c}`).toEqual(runs[1]!.rows)
    }
    expect(runs[1]!.rows).toHaveLength(events.length)
  })

  it('the partition budget decides in segment order: reading ahead changes no step, even a failed read not taken', async () => {
    // Every segment spans 10 hours: a step of at most 24 partitions takes two or three and stops,
    // with up to 16 more read ahead.
    const now = T0 + 40 * HOUR
    const base = new MemoryBucket()
    await backlog(base, now, 40, 20, 30 * HOUR)
    const opts = { maxPartitionsPerStep: 24, quietAfterMs: 100 * HOUR, maxL0Files: 1_000 }
    const shapes = []
    for (const concurrency of [1, 16]) {
      const inner = new MemoryBucket()
      for await (const o of listAll(base, '')) await inner.put(o.key, await (await base.get(o.key))!.arrayBuffer())
      const slow = r2Like(inner, 7)
      await DB({ TailEvents }, { storage: slow, now: () => now }).compact({ ...opts, concurrency })
      shapes.push(await shape(inner))
      if (concurrency > 1) expect(slow.maxInFlight).toBeGreaterThan(1)
    }
    expect(shapes[1]).toEqual(shapes[0])
    expect(shapes[0]!.version).toBeGreaterThan(5) // many steps, each stopped by the budget

    // A read ahead that fails, past where the first step stops: the step commits as if it never ran.
    const inner = new MemoryBucket()
    for await (const o of listAll(base, '')) await inner.put(o.key, await (await base.get(o.key))!.arrayBuffer())
    const segs = (await inner.list({ prefix: 'wal/' })).objects.map(o => o.key)
    const broken = segs[8]!
    const failing: Bucket = Object.assign(Object.create(inner) as Bucket, {
      get: (key: string, o?: { range?: BucketRange }) =>
        key === broken ? Promise.reject(new Error('read failed')) : inner.get(key, o),
    })
    const slow = r2Like(failing, 3)
    const db = DB({ TailEvents }, { storage: slow, now: () => now })
    await expect(db.compact({ ...opts, concurrency: 16 })).rejects.toThrow('read failed')
    // The failed step waited for its other reads: none of its requests outlives the pass.
    expect(slow.inFlight).toBe(0)
    // The steps before the one that needed the broken segment committed exactly what they do sequentially.
    const partial = await shape(inner)
    expect(partial.consumed.length).toBeGreaterThan(0)
    expect(partial.consumed).not.toContain(broken)
    expect(shapes[0]!.consumed.slice(0, partial.consumed.length)).toEqual(partial.consumed)
  })

  it('two compactors racing on one bucket, each with its own random latencies, end with every row exactly once', async () => {
    for (const seed of [1, 2, 3]) {
      const inner = new MemoryBucket()
      const clock = { now: T0 + 3 * HOUR }
      const options = (s: number) => ({
        storage: r2Like(inner, s, { medianMs: 2, p99Ms: 8 }), now: () => clock.now,
        compaction: { maxSegmentsPerBatch: 3, maxL0Files: 2 },
      })
      const a = DB({ TailEvents }, options(seed * 10))
      const b = DB({ TailEvents }, options(seed * 10 + 1))
      const w = DB({ TailEvents }, { storage: inner, now: () => clock.now })
      const events = makeEvents(400, { start: T0, spanMs: 3 * HOUR, seed })
      for (let i = 0; i < events.length; i += 20) await w.TailEvents.bulkCreate(events.slice(i, i + 20))
      const expected = canonical(await w.TailEvents.find())
      const [pa, pb] = await Promise.all([a.compact(), b.compact()])
      expect(pa.segmentsCompacted + pb.segmentsCompacted, `seed ${seed}`).toBe(20)
      expect(canonical(await w.TailEvents.find()), `seed ${seed}`).toEqual(expected)
      const m = (await loadManifest(inner, '', 0)).manifest
      expect(m.collections.TailEvents!.files.reduce((n, f) => n + f.rows, 0), `seed ${seed}`).toBe(400)
      expect(new Set(m.collections.TailEvents!.consumed.map(c => c.key)).size).toBe(20)
      // Nothing a loser wrote is left: every data object is live (nothing is old enough for GC yet).
      const live = new Set(m.collections.TailEvents!.files.map(f => f.key))
      const garbage = new Set(m.garbage.map(g => g.key))
      const data = (await inner.list({ prefix: 'data/' })).objects.map(o => o.key)
      expect(data.filter(k => !live.has(k) && !garbage.has(k)), `seed ${seed}`).toEqual([])
    }
  })

  it('the next ingest step\'s listing and segments are read while the current one writes and commits', async () => {
    const now = T0 + 8 * HOUR
    const base = new MemoryBucket()
    await backlog(base, now, 60, 10, 6 * HOUR)
    const runs: Record<number, { log: LatencyLogEntry[]; ops: number; shape: Awaited<ReturnType<typeof shape>> }> = {}
    for (const concurrency of [16, 5]) {
      const inner = new MemoryBucket()
      for await (const o of listAll(base, '')) await inner.put(o.key, await (await base.get(o.key))!.arrayBuffer())
      const slow = new LatencyBucket(inner, {
        seed: 9, record: true, latency: { get: { ms: 3 }, head: { ms: 3 }, put: { ms: 3 }, list: { ms: 3 }, delete: { ms: 3 } },
      })
      const pass = await DB({ TailEvents }, { storage: slow, now: () => now }).compact({ concurrency, maxSegmentsPerBatch: 20 })
      expect(pass.segmentsCompacted).toBe(60)
      expect(slow.inFlight).toBe(0)
      expect(slow.maxInFlight).toBeLessThanOrEqual(concurrency)
      const { get, head, put, list, delete: del } = slow.ops
      runs[concurrency] = { log: slow.log, ops: get + head + put + list + del, shape: await shape(inner) }
    }
    // Issued before the first commit: the first batch (20 segments), and with room beside the uploads,
    // the second batch's listing and segments too. Each segment is still read once.
    const before = (log: LatencyLogEntry[]) => {
      const commit = log.find(e => e.kind === 'put' && e.key === '_manifest.json')!.seq
      return log.filter(e => e.seq < commit)
    }
    const walGets = (log: LatencyLogEntry[]) => log.filter(e => e.kind === 'get' && e.key.startsWith('wal/'))
    expect(walGets(before(runs[16]!.log)).length).toBeGreaterThan(20)
    expect(before(runs[16]!.log).filter(e => e.kind === 'list' && e.key.startsWith('wal/')).length).toBe(2)
    expect(walGets(runs[16]!.log)).toHaveLength(60)
    // At concurrency 5 nothing fits beside 4 uploads and a commit: the steps read in turn, as before.
    expect(walGets(before(runs[5]!.log))).toHaveLength(20)
    expect(runs[16]!.shape).toEqual(runs[5]!.shape)
    expect(runs[16]!.ops).toBe(runs[5]!.ops)
  })

  it('concurrency must be a positive integer', async () => {
    const db = DB({ TailEvents }, { storage: new MemoryBucket(), now: () => T0 })
    for (const concurrency of [0, -1, 1.5, Number.NaN]) {
      await expect(db.compact({ concurrency }), String(concurrency)).rejects.toThrow(RangeError)
    }
    expect((await db.compact({ concurrency: 1 })).done).toBe(true)
  })

  it('GC deletes in batches of up to 1,000 keys, several in flight together', async () => {
    const inner = new MemoryBucket()
    const clock = { now: T0 + 3 * HOUR }
    const w = DB({ TailEvents }, { storage: inner, now: () => clock.now })
    const events = makeEvents(2_600, { start: T0, spanMs: 3 * HOUR, seed: 5 })
    for (const e of events) await w.TailEvents.bulkCreate([e]) // 2,600 segments
    await w.compact({ timeBudgetMs: 600_000 })
    clock.now += DEFAULT_COMPACTION.graceMs + MINUTE
    const slow = r2Like(inner, 5)
    const pass = await DB({ TailEvents }, { storage: slow, now: () => clock.now }).compact()
    expect(pass.objectsDeleted).toBeGreaterThanOrEqual(2_600)
    expect(slow.ops.delete).toBe(Math.ceil(pass.objectsDeleted / 1000))
    expect(slow.ops.deletedKeys).toBe(pass.objectsDeleted)
    expect(slow.maxInFlight).toBeGreaterThan(1)
    expect((await inner.list({ prefix: 'wal/' })).objects).toEqual([])
  })
})
