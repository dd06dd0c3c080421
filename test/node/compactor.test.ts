import { describe, expect, it } from 'vitest'
import { DB } from '../../src/index.js'
import { loadManifest } from '../../src/manifest/index.js'
import {
  type Bucket, type BucketPutOptions, CountingBucket, LatencyBucket, MemoryBucket,
} from '../../src/storage/index.js'
import { TailEvents, WorkerErrors } from '../../src/tail/index.js'
import { makeEvents } from '../helpers/events.js'
import { FaultyBucket, InjectedFault } from '../helpers/faulty_bucket.js'
import { canonical } from '../helpers/rows.js'

const T0 = Date.parse('2024-01-15T09:00:00Z')
const HOUR = 3_600_000

function store(bucket = new MemoryBucket(), start = T0 + 3 * HOUR) {
  const clock = { now: start }
  const db = DB({ TailEvents }, { storage: bucket, now: () => clock.now })
  return { db, bucket, clock }
}

async function ingest(db: ReturnType<typeof store>['db'], n: number, batch: number, seed = 1) {
  const events = makeEvents(n, { start: T0, spanMs: 3 * HOUR, seed })
  for (let i = 0; i < events.length; i += batch) await db.TailEvents.bulkCreate(events.slice(i, i + batch))
  return events
}

/** The crash tests run twice: on the bucket as is, and with the faulted pass behind random latency. */
const CRASH_VARIANTS: [string, boolean][] = [['', false], [' (random latency, out-of-order completion)', true]]

/**
 * The operation counts to fault at: every one on the bucket as is; with latency, to stay within a
 * few seconds, every `stride`-th (the start shifts with the pass's operation count) and always the
 * last. Under latency which request is the Nth to reach storage varies with the seed (N), so the
 * assertions cannot lean on one interleaving.
 */
function faultPoints(opsPerRun: number, latency: boolean, stride = 3): number[] {
  const step = latency ? stride : 1
  const start = latency ? 1 + (opsPerRun % stride) : 1
  const out: number[] = []
  for (let n = start; n <= opsPerRun; n += step) out.push(n)
  if (out.at(-1) !== opsPerRun) out.push(opsPerRun)
  return out
}

/** The faulty bucket behind a seeded LatencyBucket (0–4 ms a request, reordered), or none. */
function slowed(faulty: FaultyBucket, latency: boolean, seed: number): LatencyBucket | null {
  if (!latency) return null
  const ms = { ms: 2, jitterMs: 2 }
  return new LatencyBucket(faulty, { seed: seed + 1, latency: { get: ms, head: ms, put: ms, list: ms, delete: ms } })
}

/** Any schema with TailEvents (the views test's too); only compact() is called. */
type VIEWS_OR_EVENTS = { TailEvents: typeof TailEvents }

/**
 * Runs one pass on `db`, or, when `slow` is given, on a second DB of the same schema over it (same
 * clock), so only this pass pays the latency.
 */
async function compactOn(
  slow: LatencyBucket | null, clock: { now: number }, options: Record<string, number>,
  db?: { compact: (o?: Record<string, number>) => Promise<unknown> }, schema: object = { TailEvents },
): Promise<unknown> {
  if (!slow) return db!.compact(options)
  const other = DB(schema as VIEWS_OR_EVENTS, { storage: slow, now: () => clock.now })
  return other.compact(options)
}

describe('compaction', () => {
  it('moves every WAL row into hour partitions sorted by time, losing and duplicating nothing', async () => {
    const { db, bucket } = store()
    await ingest(db, 600, 40)
    const before = canonical(await db.TailEvents.find())
    const pass = await db.compact()
    expect(pass.segmentsCompacted).toBe(15)
    expect(pass.rowsCompacted).toBe(600)
    const { manifest } = await loadManifest(bucket, '', 0)
    const files = manifest.collections.TailEvents!.files
    expect(new Set(files.map(f => f.partition))).toEqual(new Set(['dt=2024-01-15/hour=09', 'dt=2024-01-15/hour=10', 'dt=2024-01-15/hour=11']))
    for (const f of files) {
      const [, hh] = /hour=(\d\d)/.exec(f.partition)!
      expect(new Date(f.minTime).getUTCHours()).toBe(Number(hh))
      expect(new Date(f.maxTime).getUTCHours()).toBe(Number(hh))
      expect(f.stats.scriptName!.min! <= f.stats.scriptName!.max!).toBe(true)
    }
    expect(files.reduce((n, f) => n + f.rows, 0)).toBe(600)
    expect(canonical(await db.TailEvents.find())).toEqual(before)
    const status = await db.status()
    expect(status.collections.TailEvents!.wal.segments).toBe(0)
    expect(status.collections.TailEvents!.rows).toBe(600)
    expect(status.manifestBytes).toBe((await (await bucket.get('_manifest.json'))!.arrayBuffer()).byteLength)
    // One commit (the ingest batch): the pass summary is its own object, not a manifest rewrite.
    expect(manifest.version).toBe(1)
    expect(manifest.lastPass).toBeUndefined()
    expect(status.lastPass).toMatchObject({ segmentsCompacted: 15, rowsCompacted: 600 })
  })

  it('bulkCreate is one PUT per batch and the rows are readable at once (read your writes)', async () => {
    const raw = new MemoryBucket()
    const counting = new CountingBucket(raw)
    const { db } = store(counting as never)
    const events = makeEvents(25, { start: T0, spanMs: HOUR })
    const r = await db.TailEvents.bulkCreate(events)
    expect(r).toMatchObject({ written: 25, rejected: [], quarantine: null })
    expect(counting.ops.put).toBe(1)
    expect(counting.ops.get + counting.ops.list + counting.ops.head).toBe(0)
    expect((await db.TailEvents.find()).length).toBe(25)
  })

  it('a bad event is rejected with its reason and quarantined; the rest of the batch is stored', async () => {
    const { db, bucket } = store()
    const events: unknown[] = makeEvents(3, { start: T0, spanMs: HOUR })
    events.splice(1, 0, { scriptName: 'x', outcome: 'ok' }, { scriptName: 'y', outcome: 'ok', eventTimestamp: 'not a date' }, { ...(events[0] as object), surprise: 1 })
    const r = await db.TailEvents.bulkCreate(events as never)
    expect(r.written).toBe(3)
    expect(r.rejected).toEqual([
      { index: 1, reason: 'eventTimestamp: is required (timestamp!) but missing' },
      { index: 2, reason: expect.stringContaining('eventTimestamp: expected a Date') },
      { index: 3, reason: expect.stringContaining('unknown field "surprise"') },
    ])
    const q = await (await bucket.get(r.quarantine!))!.text()
    const lines = q.trim().split('\n').map(l => JSON.parse(l))
    expect(lines.map(l => l.index)).toEqual([1, 2, 3])
    expect(lines[1].event.eventTimestamp).toBe('not a date')
    expect((await db.TailEvents.find()).length).toBe(3)
  })

  it('tiered merges: an active hour merges only its L0 files at maxL0Files; a quiet hour becomes one file', async () => {
    const bucket = new MemoryBucket()
    const clock = { now: T0 + 30 * 60_000 }
    // Each pass folds the WAL (holdWalMs 0): this is about the merge tiers, not the WAL hold.
    const db = DB({ TailEvents }, { storage: bucket, now: () => clock.now, compaction: { maxL0Files: 4, holdWalMs: 0 } })
    const files = async () => (await loadManifest(bucket, '', 0)).manifest.collections.TailEvents!.files
    const batch = async (seed: number) => { await db.TailEvents.bulkCreate(makeEvents(50, { start: T0, spanMs: HOUR, seed })); await db.compact() }
    for (let i = 0; i < 3; i++) await batch(i)
    expect((await files()).map(f => f.level)).toEqual([0, 0, 0])
    await batch(3) // the fourth L0 file triggers a merge of the still-active hour
    expect((await files()).map(f => f.level)).toEqual([1])
    for (let i = 4; i < 7; i++) await batch(i)
    expect((await files()).map(f => f.level).sort()).toEqual([0, 0, 0, 1])
    const firstL1 = (await files()).find(f => f.level === 1)!.key
    await batch(7) // merges the four new L0 files only; the first L1 file is left as it is
    const active = await files()
    expect(active.map(f => f.level)).toEqual([1, 1])
    expect(active.map(f => f.key)).toContain(firstL1)
    expect(active.map(f => f.rows)).toEqual([200, 200])
    const expected = canonical(await db.TailEvents.find())
    clock.now = T0 + HOUR + 11 * 60_000 // the hour is now quiet
    const pass = await db.compact()
    expect(pass.partitionsMerged).toBe(1)
    const quiet = await files()
    expect(quiet.map(f => [f.level, f.rows])).toEqual([[1, 400]])
    expect(canonical(await db.TailEvents.find())).toEqual(expected)
  })

  it('a quiet hour larger than maxRowsPerFile is split once and then left alone', async () => {
    const { db, bucket, clock } = store()
    const opts = { maxRowsPerFile: 24, maxL0Files: 100 }
    for (let round = 0; round < 6; round++) {
      await ingest(db, 30, 30, round + 1)
      await db.compact(opts)
    }
    clock.now += 11 * 60_000 // every hour is quiet now
    const merged = await db.compact(opts)
    expect(merged).toMatchObject({ partitionsMerged: 1, done: true }) // hour 11; 9 and 10 went quiet earlier
    const files = (await loadManifest(bucket, '', 0)).manifest.collections.TailEvents!.files
    expect(files.every(f => f.rows <= 24)).toBe(true)
    // Split into full files plus at most one remainder per hour: nothing left worth merging.
    for (const p of new Set(files.map(f => f.partition))) expect(files.filter(f => f.partition === p && f.rows < 12).length).toBeLessThanOrEqual(1)
    expect(files.length).toBeGreaterThanOrEqual(180 / 24)
    const again = await db.compact(opts)
    expect(again).toMatchObject({ partitionsMerged: 0, done: true })
    expect((await db.TailEvents.find()).length).toBe(180)
  })

  it('a merge takes at most 16 input files (one row group of each is in memory)', async () => {
    const { db, bucket, clock } = store()
    for (let round = 0; round < 20; round++) {
      await ingest(db, 9, 9, round + 1)
      await db.compact({ maxL0Files: 100 })
    }
    const hour11 = async () => (await loadManifest(bucket, '', 0)).manifest.collections.TailEvents!.files.filter(f => f.partition === 'dt=2024-01-15/hour=11')
    const n = (await hour11()).length
    expect(n).toBeGreaterThan(16)
    clock.now += 11 * 60_000
    const pass = await db.compact({ maxL0Files: 100 })
    expect(pass.partitionsMerged).toBe(2) // 16 files, then their output with the rest
    expect((await hour11()).length).toBe(1)
  })

  it('a busy hour is merged maxMergeRows at a time, oldest files first, each step bounded', async () => {
    const { db, bucket, clock } = store()
    const opts = { maxMergeRows: 100, maxL0Files: 100 }
    for (let round = 0; round < 8; round++) {
      await ingest(db, 90, 90, round + 1)
      await db.compact(opts)
    }
    const before = canonical(await db.TailEvents.find())
    const hour11 = async () => (await loadManifest(bucket, '', 0)).manifest.collections.TailEvents!.files.filter(f => f.partition === 'dt=2024-01-15/hour=11')
    expect((await hour11()).length).toBe(8)

    clock.now += 11 * 60_000
    const counting = new CountingBucket(bucket)
    const probe = DB({ TailEvents }, { storage: counting, now: () => clock.now })
    const pass = await probe.compact(opts)
    expect(pass.partitionsMerged).toBeGreaterThan(1) // ~240 rows of hour 11 take several steps
    const files = (await loadManifest(bucket, '', 0)).manifest.collections.TailEvents!.files
    for (const p of new Set(files.map(f => f.partition))) expect(files.filter(f => f.partition === p && f.rows < 50).length).toBeLessThanOrEqual(1)
    expect(canonical(await db.TailEvents.find())).toEqual(before)
    expect((await db.compact(opts)).partitionsMerged).toBe(0)

    // A recompact of the busy hour runs in bounded steps too, rewriting every file exactly once.
    const oldKeys = new Set((await hour11()).map(f => f.key))
    const rc = await DB({ TailEvents }, { storage: bucket, now: () => clock.now, compaction: opts }).recompact({ from: T0 + 2 * HOUR })
    expect(rc).toMatchObject({ partitions: { TailEvents: ['dt=2024-01-15/hour=11'] }, remaining: 0 })
    expect(rc.pass.partitionsRecompacted).toBe(1)
    const rewritten = await hour11()
    expect(rewritten.filter(f => oldKeys.has(f.key))).toEqual([])
    expect(rewritten.length).toBe(3) // 90, 90, 60 rows: one file a step, as two exceed 100
    expect(canonical(await db.TailEvents.find())).toEqual(before)
  })

  it('keeps replaced files and consumed segments for the grace period, then deletes them', async () => {
    const { db, bucket, clock } = store()
    await ingest(db, 100, 25)
    await db.compact()
    const segments = (await bucket.list({ prefix: 'wal/' })).objects.length
    expect(segments).toBe(4) // consumed, still readable by queries holding the older manifest
    clock.now += 9 * 60_000
    await db.compact()
    expect((await bucket.list({ prefix: 'wal/' })).objects.length).toBe(4)
    clock.now += 2 * 60_000
    const pass = await db.compact()
    expect(pass.objectsDeleted).toBeGreaterThanOrEqual(4)
    expect((await bucket.list({ prefix: 'wal/' })).objects.length).toBe(0)
    const m = (await loadManifest(bucket, '', 0)).manifest
    expect(m.collections.TailEvents!.consumed).toEqual([])
    // Only live files remain under data/.
    const live = new Set(m.collections.TailEvents!.files.map(f => f.key))
    const stored = (await bucket.list({ prefix: 'data/' })).objects.map(o => o.key)
    expect(stored.every(k => live.has(k))).toBe(true)
    expect((await db.TailEvents.find()).length).toBe(100)
  })

  it('a query planned on the older manifest still reads correctly while a compaction commits', async () => {
    const { db } = store()
    await ingest(db, 200, 20)
    const expected = canonical(await db.TailEvents.find())
    const it = db.TailEvents.find()[Symbol.asyncIterator]()
    const first = await it.next() // plan fixed: manifest read, WAL listed
    await db.compact()
    const rest: object[] = [first.value]
    for (let r = await it.next(); !r.done; r = await it.next()) rest.push(r.value)
    expect(canonical(rest)).toEqual(expected)
    expect(canonical(await db.TailEvents.find())).toEqual(expected)
  })

  // Over a LatencyBucket the faulted pass runs with random latencies and out-of-order completion:
  // its requests overlap and the fault hits whichever reaches storage Nth, so no assertion may
  // depend on one interleaving (see faultPoints for the counts faulted).
  it.each(CRASH_VARIANTS)('survives a crash at every storage operation of a pass%s: the next pass finishes and no row is lost or doubled', async (_, latency) => {
    async function setup() {
      const inner = new MemoryBucket()
      const faulty = new FaultyBucket(inner)
      const s = store(faulty as never)
      await ingest(s.db, 300, 30)
      s.clock.now += 2 * HOUR // quiet partitions: the pass below ingests, merges and collects
      await s.db.compact({ maxL0Files: 2 })
      await ingest(s.db, 60, 30, 2)
      s.clock.now += 11 * 60_000 // the first pass's segments are past their grace: this pass deletes them too
      faulty.count = 0
      return { ...s, inner, faulty }
    }
    // Count the operations of the clean pass, then fail at each one in turn.
    const probe = await setup()
    const probeSlow = slowed(probe.faulty, latency, 0)
    await compactOn(probeSlow, probe.clock, { maxL0Files: 2 }, probe.db)
    const opsPerRun = probe.faulty.count
    if (probeSlow) expect(probeSlow.maxInFlight).toBeGreaterThan(1)
    const clean = (await probe.db.status()).lastPass!
    expect(clean).toMatchObject({ segmentsCompacted: 2, partitionsMerged: 3 })
    expect(clean.objectsDeleted).toBe(10) // the first batch's segments; the replaced L0 files wait out their grace
    expect(opsPerRun).toBeGreaterThan(15)

    for (const n of faultPoints(opsPerRun, latency)) {
      const { db, clock, inner, faulty } = await setup()
      const expected = canonical(await db.TailEvents.find())
      faulty.count = 0
      faulty.failAt = n
      const slow = slowed(faulty, latency, n)
      const outcome = await compactOn(slow, clock, { maxL0Files: 2 }, db).then(() => 'completed', (e: unknown) => e)
      // The pass settles only once none of its requests is still on its way to storage.
      if (slow) expect(slow.inFlight, `requests left in flight after a fault at op ${n}`).toBe(0)
      // Every step's fault fails the pass; the last operation, the summary's PUT, is only reported.
      if (n < opsPerRun) expect(outcome, `fault at op ${n}`).toBeInstanceOf(InjectedFault)
      else expect(outcome).toBe('completed')
      faulty.failAt = Infinity
      expect(canonical(await db.TailEvents.find()), `reads right after a fault at op ${n}`).toEqual(expected)
      await db.compact({ maxL0Files: 2 })
      expect(canonical(await db.TailEvents.find()), `fault at op ${n}`).toEqual(expected)
      clock.now += 7 * HOUR // past the grace period and the orphan age
      await db.compact({ maxL0Files: 2 })
      await db.compact({ maxL0Files: 2 })
      expect(canonical(await db.TailEvents.find()), `fault at op ${n}, after GC`).toEqual(expected)
      // Orphans of the crashed pass are swept once past the grace period.
      const m = (await loadManifest(inner, '', 0)).manifest
      const live = new Set(m.collections.TailEvents!.files.map(f => f.key))
      const data = (await inner.list({ prefix: 'data/' })).objects.map(o => o.key)
      expect(data.filter(k => !live.has(k)), `orphans after fault at op ${n}`).toEqual([])
    }
  })

  it.each(CRASH_VARIANTS)('with views%s: a crash at every operation leaves collection and views exact after the next pass', async (_, latency) => {
    const VIEWS = {
      TailEvents,
      WorkerErrors,
      ColoErrors: { $from: 'WorkerErrors', $groupBy: ['colo', { hour: '$timestamp' }], $compute: { n: { $count: '*' }, scripts: { $countDistinct: 'scriptName' } } },
      Hourly: { $from: 'TailEvents', $groupBy: [{ hour: '$eventTimestamp' }], $compute: { n: { $count: '*' } }, $refresh: { mode: 'scheduled' as const, schedule: '0 * * * *' } },
    }
    async function setup() {
      const inner = new MemoryBucket()
      const faulty = new FaultyBucket(inner)
      const clock = { now: T0 + 3 * HOUR + 30 * 60_000 }
      const db = DB(VIEWS, { storage: faulty, now: () => clock.now, compaction: { maxL0Files: 2 } })
      await ingest(db as never, 200, 40)
      await db.compact()
      await ingest(db as never, 80, 40, 2)
      clock.now = T0 + 4 * HOUR + 11 * 60_000 // Hourly is due, the first batch's segments past grace
      faulty.count = 0
      return { db, clock, inner, faulty }
    }
    const snapshot = async (db: Awaited<ReturnType<typeof setup>>['db']) => ({
      events: canonical(await db.TailEvents.find()),
      errors: canonical(await db.WorkerErrors.find()),
      colo: canonical(await db.ColoErrors.find()),
    })
    const probe = await setup()
    const probeSlow = slowed(probe.faulty, latency, 0)
    await compactOn(probeSlow, probe.clock, { maxL0Files: 2 }, probe.db, VIEWS)
    const opsPerRun = probe.faulty.count
    if (probeSlow) expect(probeSlow.maxInFlight).toBeGreaterThan(1)
    expect((await probe.db.status()).lastPass).toMatchObject({ segmentsCompacted: 2, viewsRefreshed: 1 })
    const hourlyAfterClean = canonical(await probe.db.Hourly.find())

    for (const n of faultPoints(opsPerRun, latency, 5)) {
      const { db, clock, inner, faulty } = await setup()
      const expected = await snapshot(db)
      faulty.count = 0
      faulty.failAt = n
      const slow = slowed(faulty, latency, n)
      const outcome = await compactOn(slow, clock, { maxL0Files: 2 }, db, VIEWS).then(() => 'completed', (e: unknown) => e)
      if (slow) expect(slow.inFlight, `requests left in flight after a fault at op ${n}`).toBe(0)
      // Every step's fault fails the pass; the last operation, the summary's PUT, is only reported.
      if (n < opsPerRun) expect(outcome, `fault at op ${n}`).toBeInstanceOf(InjectedFault)
      else expect(outcome).toBe('completed')
      faulty.failAt = Infinity
      expect(await snapshot(db), `reads right after a fault at op ${n}`).toEqual(expected)
      await db.compact()
      expect(await snapshot(db), `fault at op ${n}`).toEqual(expected)
      expect(canonical(await db.Hourly.find()), `scheduled view after a fault at op ${n}`).toEqual(hourlyAfterClean)
      clock.now += 7 * HOUR // past the grace period and the orphan age
      await db.compact()
      await db.compact()
      expect(await snapshot(db), `fault at op ${n}, after GC`).toEqual(expected)
      const m = (await loadManifest(inner, '', 0)).manifest
      const live = new Set(Object.values(m.collections).flatMap(c => c.files.map(f => f.key)))
      const data = (await inner.list({ prefix: 'data/' })).objects.map(o => o.key)
      expect(data.filter(k => !live.has(k)), `orphans after fault at op ${n}`).toEqual([])
    }
  })

  it('a step that outlives half the orphan age discards its outputs instead of committing them', async () => {
    const inner = new MemoryBucket()
    const clock = { now: T0 + 3 * HOUR }
    // The first data file upload takes "4 hours": the step must not commit what a sweep may already treat as an orphan.
    let slow = true
    const bucket: Bucket = Object.assign(Object.create(inner) as Bucket, {
      put: async (key: string, value: string | ArrayBuffer | ArrayBufferView, options?: BucketPutOptions) => {
        if (slow && key.startsWith('data/')) { slow = false; clock.now += 4 * HOUR }
        return inner.put(key, value, options)
      },
    })
    const db = DB({ TailEvents }, { storage: bucket, now: () => clock.now })
    await ingest(db, 50, 50)
    const stalled = await db.compact()
    expect(stalled).toMatchObject({ segmentsCompacted: 0, done: false })
    expect((await inner.list({ prefix: 'data/' })).objects).toEqual([])
    const next = await db.compact()
    expect(next).toMatchObject({ segmentsCompacted: 1, done: true })
    expect((await db.TailEvents.find()).length).toBe(50)
  })

  it('garbage is collected even by a pass whose budget is already spent', async () => {
    const { db, bucket, clock } = store()
    await ingest(db, 40, 10)
    await db.compact()
    clock.now += 11 * 60_000
    await ingest(db, 40, 10, 2)
    const spent = await db.compact({ timeBudgetMs: 0 })
    expect(spent).toMatchObject({ segmentsCompacted: 0, objectsDeleted: 4, done: false })
    expect((await bucket.list({ prefix: 'wal/' })).objects.length).toBe(4) // the new, uncompacted batch
  })

  it('the sweep deletes unreferenced files only once they are orphanAfterMs old', async () => {
    const { db, bucket, clock } = store()
    await ingest(db, 20, 20)
    await db.compact()
    const young = `data/TailEvents/dt=2024-01-15/hour=09/${String(clock.now - 60 * 60_000).padStart(15, '0')}-L1-young.parquet`
    const old = `data/TailEvents/dt=2024-01-15/hour=09/${String(clock.now - 7 * HOUR).padStart(15, '0')}-L1-old.parquet`
    await bucket.put(young, 'x')
    await bucket.put(old, 'x')
    await db.compact()
    const keys = (await bucket.list({ prefix: 'data/' })).objects.map(o => o.key)
    expect(keys).toContain(young) // older than the grace period, younger than the orphan age: kept
    expect(keys).not.toContain(old)
  })

  it('rows written under an older schema that no longer fit are quarantined at compaction; the rest go on', async () => {
    const bucket = new MemoryBucket()
    const clock = { now: T0 + 2 * HOUR }
    const v1 = DB({ E: { t: 'timestamp!', code: 'int?', note: 'string?' } }, { storage: bucket, now: () => clock.now })
    await v1.E.bulkCreate([{ t: T0, code: 1, note: 'a' }, { t: T0 + 1, note: 'b' }, { t: T0 + 2, code: 3 }])
    // v2 makes code a string and drops note.
    const v2 = DB({ E: { t: 'timestamp!', code: 'string?' } }, { storage: bucket, now: () => clock.now })
    const pass = await v2.compact()
    expect(pass).toMatchObject({ segmentsCompacted: 1, rowsCompacted: 1, done: true })
    expect(await v2.E.find({}, { project: { t: 1, code: 1 } })).toEqual([{ t: new Date(T0 + 1), code: null }])
    const q = (await bucket.list({ prefix: 'quarantine/E/' })).objects
    expect(q.length).toBe(1)
    const lines = (await (await bucket.get(q[0]!.key))!.text()).trim().split('\n').map(l => JSON.parse(l) as { reason: string; event: { code: number } })
    expect(lines.map(l => l.event.code)).toEqual([1, 3])
    expect(lines[0]!.reason).toMatch(/code: expected a string, got the number 1/)
    expect((await v2.compact()).segmentsCompacted).toBe(0) // consumed, not retried forever
  })

  it('two compactors racing on one bucket end with every row exactly once', async () => {
    const bucket = new MemoryBucket()
    const clock = { now: T0 + 3 * HOUR }
    const a = DB({ TailEvents }, { storage: bucket, now: () => clock.now, compaction: { maxSegmentsPerBatch: 3 } })
    const b = DB({ TailEvents }, { storage: bucket, now: () => clock.now, compaction: { maxSegmentsPerBatch: 3 } })
    await ingest(a, 400, 20)
    const expected = canonical(await a.TailEvents.find())
    const [pa, pb] = await Promise.all([a.compact(), b.compact()])
    expect(pa.segmentsCompacted + pb.segmentsCompacted).toBe(20)
    expect(canonical(await b.TailEvents.find())).toEqual(expected)
    const m = (await loadManifest(bucket, '', 0)).manifest
    expect(m.collections.TailEvents!.files.reduce((n, f) => n + f.rows, 0)).toBe(400)
    expect(new Set(m.collections.TailEvents!.consumed.map(c => c.key)).size).toBe(20)
  })

  it('recompact rewrites the partitions in range into L1 and leaves the rest', async () => {
    const { db, bucket } = store()
    await ingest(db, 300, 100)
    await db.compact()
    const expected = canonical(await db.TailEvents.find())
    const hour10 = 'dt=2024-01-15/hour=10'
    const before = (await loadManifest(bucket, '', 0)).manifest.collections.TailEvents!.files
    const r = await db.recompact({ from: new Date('2024-01-15T10:00:00Z'), to: new Date('2024-01-15T11:00:00Z') })
    expect(r.partitions.TailEvents).toEqual([hour10])
    expect(r.remaining).toBe(0)
    expect(r.pass.partitionsRecompacted).toBe(1)
    const files = (await loadManifest(bucket, '', 0)).manifest.collections.TailEvents!.files
    // Hour 10 is rewritten into new L1 files; every other file is left as it was.
    const rewritten = files.filter(f => !before.some(b => b.key === f.key))
    expect(rewritten.length).toBeGreaterThan(0)
    expect(rewritten.every(f => f.partition === hour10 && f.level === 1)).toBe(true)
    expect(files.filter(f => f.partition !== hour10)).toEqual(before.filter(f => f.partition !== hour10))
    expect(canonical(await db.TailEvents.find())).toEqual(expected)
    await expect(db.recompact({ from: 5, to: 1 })).rejects.toThrow(/need from < to/)
    await expect(db.recompact({ collections: ['Nope'] })).rejects.toThrow(/unknown collection or view "Nope"/)
  })

  it('an idle pass costs one manifest GET and two LISTs (WAL, orphan sweep), and writes nothing', async () => {
    const raw = new MemoryBucket()
    const { db } = store(raw)
    await ingest(db, 100, 50)
    await db.compact()
    const counting = new CountingBucket(raw)
    const idle = DB({ TailEvents }, { storage: counting, now: () => T0 + 3 * HOUR })
    const pass = await idle.compact()
    expect(pass.segmentsCompacted + pass.filesWritten + pass.objectsDeleted).toBe(0)
    expect(counting.ops).toMatchObject({ get: 1, list: 2, put: 0, head: 0, delete: 0 })
  })

  it('a pass stops at its time budget and the next pass resumes the backlog', async () => {
    const { db } = store()
    await ingest(db, 200, 10)
    const first = await db.compact({ timeBudgetMs: 0, maxSegmentsPerBatch: 5 })
    expect(first.segmentsCompacted).toBe(0)
    let passes = 0
    let total = 0
    for (;;) {
      const p = await db.compact({ timeBudgetMs: 1, maxSegmentsPerBatch: 5 })
      passes++
      total += p.segmentsCompacted
      if ((await db.status()).collections.TailEvents!.wal.segments === 0) break
      expect(passes).toBeLessThan(50)
    }
    expect(total).toBe(20)
    expect((await db.TailEvents.find()).length).toBe(200)
  })
})
