import { describe, expect, it } from 'vitest'
import { DB } from '../../src/index.js'
import { DEFAULT_COMPACTION } from '../../src/compactor/index.js'
import { loadManifest, referencedKeys } from '../../src/manifest/index.js'
import {
  type Bucket, type BucketListOptions, type BucketPutOptions, type BucketRange, LatencyBucket, MemoryBucket, createdAtOfKey,
  lastPassKey, listAll, manifestKey,
} from '../../src/storage/index.js'
import { TailEvents, WorkerErrors } from '../../src/tail/index.js'
import { makeEvents } from '../helpers/events.js'
import { FaultyBucket, InjectedFault } from '../helpers/faulty_bucket.js'

/**
 * Storage hygiene (safe-gc, crash-safe, single-winner): whatever sequence of writes, passes,
 * recompacts, crashes and races ran, every object in the bucket is accounted for — referenced by
 * the manifest (a live file, a consumed segment, garbage), under quarantine/, a WAL segment not
 * yet consumed, the manifest and last-pass objects, or the output of a pass that died, younger
 * than the orphan age (only the sweep can know about those). Checked on the bucket itself after
 * every operation, so a step that forgets to send replaced files to garbage, or a losing
 * compactor that forgets to delete its outputs, fails here instead of hiding behind the sweep.
 */

const T0 = Date.parse('2024-01-15T06:00:00Z')
const MINUTE = 60_000
const ORPHAN_AGE = DEFAULT_COMPACTION.orphanAfterMs

const SCHEMA = {
  TailEvents,
  WorkerErrors,
  ColoErrors: {
    $from: 'WorkerErrors', $groupBy: ['colo', { hour: '$timestamp' }],
    $compute: { n: { $count: '*' }, scripts: { $countDistinct: 'scriptName' } },
  },
  Hourly: {
    $from: 'TailEvents', $groupBy: [{ hour: '$eventTimestamp' }], $compute: { n: { $count: '*' } },
    $refresh: { mode: 'scheduled' as const, schedule: '0 * * * *' },
  },
}

/** Records the keys put while `recording`, to know what a pass that died left behind. */
class RecordingBucket implements Bucket {
  recording: Set<string> | null = null
  constructor(readonly inner: Bucket) {}
  get(key: string, options?: { range?: BucketRange }) { return this.inner.get(key, options) }
  head(key: string) { return this.inner.head(key) }
  list(options?: BucketListOptions) { return this.inner.list(options) }
  delete(keys: string | string[]) { return this.inner.delete(keys) }
  put(key: string, value: string | ArrayBuffer | ArrayBufferView, options?: BucketPutOptions) {
    this.recording?.add(key)
    return this.inner.put(key, value, options)
  }
}

function rng(seed: number): () => number {
  let s = seed >>> 0
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32)
}

type Op = 'write' | 'pass' | 'recompact' | 'crash' | 'race' | 'time'
const OPS: Op[] = ['write', 'write', 'write', 'pass', 'recompact', 'crash', 'crash', 'race', 'time', 'time']

/** Every request kind answers in 0–4 ms, completing out of order (a scaled-down R2). */
const jitter = { ms: 2, jitterMs: 2 }
const slowly = (inner: Bucket, seed: number) =>
  new LatencyBucket(inner, { seed, latency: { get: jitter, head: jitter, put: jitter, list: jitter, delete: jitter } })

/**
 * One seeded sequence. With `latency`, each compactor reaches storage through its own
 * LatencyBucket, so requests overlap and complete out of order (the fault still counts requests as
 * they reach storage, whose order the latencies shuffle).
 */
async function run(seed: number, steps: number, latency = false) {
  const rand = rng(seed)
  const inner = new MemoryBucket()
  const faulty = new FaultyBucket(inner)
  const slowA = latency ? slowly(faulty, seed * 2) : null
  const slowB = latency ? slowly(faulty, seed * 2 + 1) : null
  const recorder = new RecordingBucket(slowA ?? faulty)
  const clock = { now: T0 }
  const options = (storage: Bucket) => ({
    storage, now: () => clock.now, retention: { WorkerErrors: '3 hours' },
    compaction: { maxL0Files: 2, maxSegmentsPerBatch: 2, quietAfterMs: 5 * MINUTE },
  })
  // Two compactors on one bucket, as two overlapping crons would be.
  const a = DB(SCHEMA, options(recorder))
  const b = DB(SCHEMA, options(slowB ?? recorder))
  const writer = latency ? DB(SCHEMA, options(inner)) : a
  const crashOrphans = new Set<string>()
  const done: Op[] = []
  let crashes = 0
  let retries = 0

  const check = async (label: string) => {
    // A pass settles only once none of its requests is still on its way.
    const inFlight = (slowA?.inFlight ?? 0) + (slowB?.inFlight ?? 0)
    expect(inFlight, `seed ${seed}, requests in flight after ${label}`).toBe(0)
    const m = (await loadManifest(inner, '', 0)).manifest
    const referenced = referencedKeys(m)
    const leaks: string[] = []
    for await (const o of listAll(inner, '')) {
      const k = o.key
      if (referenced.has(k) || k === manifestKey('') || k === lastPassKey('') || k.startsWith('quarantine/')) continue
      // Every WAL segment the manifest has not consumed is pending: the next pass ingests it.
      if (k.startsWith('wal/')) continue
      const created = createdAtOfKey(k)
      if (crashOrphans.has(k) && created !== null && created + ORPHAN_AGE > clock.now) continue
      leaks.push(k)
    }
    expect(leaks, `seed ${seed}, after ${label} (ops: ${done.join(' ')})`).toEqual([])
  }

  for (let step = 0; step < steps; step++) {
    const op = OPS[Math.floor(rand() * OPS.length)]!
    done.push(op)
    if (op === 'write') {
      const span = 3 * 60 * MINUTE
      const n = 5 + Math.floor(rand() * 40)
      const events = makeEvents(n, { start: clock.now - span, spanMs: span, seed: seed * 1000 + step })
      await writer.TailEvents.bulkCreate(events)
    } else if (op === 'pass') {
      retries += (await a.compact()).casRetries
    } else if (op === 'recompact') {
      const from = clock.now - Math.floor(rand() * 4) * 60 * MINUTE
      retries += (await a.recompact({ from: from - 60 * MINUTE, to: from })).pass.casRetries
    } else if (op === 'crash') {
      faulty.count = 0
      faulty.failAt = 1 + Math.floor(rand() * 60)
      recorder.recording = new Set()
      const work = rand() < 0.7 ? a.compact() : a.recompact({ from: clock.now - 2 * 60 * MINUTE, to: clock.now })
      const outcome = await work.then(() => 'completed', (e: unknown) => e)
      faulty.failAt = Infinity
      if (outcome instanceof InjectedFault) {
        crashes++
        for (const k of recorder.recording) crashOrphans.add(k)
      } else if (outcome !== 'completed') throw outcome
      recorder.recording = null
    } else if (op === 'race') {
      const [pa, pb] = await Promise.all([a.compact(), b.compact()])
      retries += pa.casRetries + pb.casRetries
    } else {
      clock.now += Math.floor(rand() * 20) * MINUTE
    }
    await check(`${op} (step ${step})`)
  }

  // Past the grace period and the orphan age: the sweep takes the crash orphans, GC the garbage,
  // and the bucket holds exactly what the manifest references (and quarantine, pending WAL).
  clock.now += ORPHAN_AGE + 2 * DEFAULT_COMPACTION.graceMs
  for (let i = 0; i < 3; i++) await a.compact()
  crashOrphans.clear()
  await check('the final collection')
  return { ops: done, crashes, retries, maxInFlight: Math.max(slowA?.maxInFlight ?? 1, slowB?.maxInFlight ?? 1) }
}

describe('storage hygiene', () => {
  it('after seeded random writes, passes, recompacts, crashes and races, every object is accounted for', async () => {
    let crashes = 0
    let retries = 0
    const seen = new Set<Op>()
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      const r = await run(seed, 40)
      crashes += r.crashes
      retries += r.retries
      for (const op of r.ops) seen.add(op)
    }
    // The sequences did what they are meant to: passes died mid-way and compactors lost races.
    expect([...seen].sort()).toEqual([...new Set(OPS)].sort())
    expect(crashes).toBeGreaterThan(5)
    expect(retries).toBeGreaterThan(0)
  }, 240_000)

  it('the same over random latency and out-of-order answers', async () => {
    let crashes = 0
    let retries = 0
    let maxInFlight = 0
    const seen = new Set<Op>()
    for (const seed of [11, 12, 13]) {
      const r = await run(seed, 30, true)
      crashes += r.crashes
      retries += r.retries
      maxInFlight = Math.max(maxInFlight, r.maxInFlight)
      for (const op of r.ops) seen.add(op)
    }
    expect([...seen].sort()).toEqual([...new Set(OPS)].sort())
    expect(crashes).toBeGreaterThan(2)
    expect(retries).toBeGreaterThan(0)
    expect(maxInFlight).toBeGreaterThan(1)
  }, 120_000)
})
