import { describe, expect, it } from 'vitest'
import {
  fitsPartitionBudget, holdsWal, MAX_MERGE_INPUTS, MAX_MERGE_STEP_INPUTS, type MergePolicy, pickExpired,
  pickIngestSegments, pickMerge, pickMergeBatch,
  pickViewRebuild,
} from '../../src/compactor/pickers.js'
import { type DataFile, type Manifest, emptyManifest } from '../../src/manifest/index.js'
import { partitionOf } from '../../src/storage/index.js'
import type { ViewPlan } from '../../src/mv/index.js'
import type { SegmentRef } from '../../src/wal/index.js'

const HOUR = 3_600_000
const T = Date.parse('2024-01-15T09:00:00Z')
const P9 = partitionOf(T)
const P10 = partitionOf(T + HOUR)
const POLICY: MergePolicy = { maxMergeRows: 1000, maxRowsPerFile: 2000, quietAfterMs: 10 * 60_000, maxL0Files: 4 }

let n = 0
function file(partition: string, extra: Partial<DataFile> = {}): DataFile {
  const minTime = Date.parse(`${partition.slice(3, 13)}T${partition.slice(-2)}:00:00Z`) + n
  const key = `f${n++}`
  return { key, partition, level: 0, rows: 10, bytes: 1000, minTime, maxTime: minTime, createdAt: T,
    stats: {}, ...extra }
}

function store(files: Record<string, DataFile[]>): Manifest {
  const m = emptyManifest(T)
  for (const [name, list] of Object.entries(files)) m.collections[name] = { files: list, consumed: [] }
  return m
}

/** The parts of a view plan the pickers read: its name, root and time bucket. */
function view(name: string, bucket?: 'day'): ViewPlan {
  const aggregate = bucket ? { keys: [{ name: 'day', value: () => 0, bucket }], computes: [] } : undefined
  return { name, root: 'E', ...(aggregate ? { aggregate } : {}) } as unknown as ViewPlan
}

describe('pickMerge', () => {
  const active = T + 30 * 60_000 // inside hour 09
  const quiet = T + 2 * HOUR

  it('an active partition waits for maxL0Files small L0 files, then merges them oldest first', () => {
    const three = [file(P9), file(P9), file(P9)]
    expect(pickMerge(store({ E: three }), 'E', POLICY, active)).toBeNull()
    const four = [file(P9), ...three]
    const oldestFirst = three.concat(four[0]!).sort((a, b) => a.minTime - b.minTime)
    const pick = pickMerge(store({ E: four }), 'E', POLICY, active)
    expect(pick).toEqual({ partition: P9, files: oldestFirst, forced: false, last: true })
    // L1 files in an active partition are left alone.
    expect(pickMerge(store({ E: three.concat(file(P9, { level: 1 })) }), 'E', POLICY, active)).toBeNull()
  })

  it('an hour that has ended but is not quiet yet waits for its final merge, unless late rows pile up', () => {
    const ended = T + HOUR + 5 * 60_000 // hour 09 is over; quiet at 10:10
    const four = [file(P9), file(P9), file(P9), file(P9)]
    expect(pickMerge(store({ E: four }), 'E', POLICY, ended)).toBeNull()
    const eight = [...four, file(P9), file(P9), file(P9), file(P9)]
    expect(pickMerge(store({ E: eight }), 'E', POLICY, ended)?.files.length).toBe(8)
  })

  it('a quiet partition merges any two small files; full ones (half of maxMergeRows or MERGE_FILE_BYTES) never', () => {
    const small = [file(P9, { level: 1 }), file(P9)]
    expect(pickMerge(store({ E: small }), 'E', POLICY, quiet)?.files).toEqual(small)
    expect(pickMerge(store({ E: [file(P9, { rows: 500 }), file(P9)] }), 'E', POLICY, quiet)).toBeNull()
    expect(pickMerge(store({ E: [file(P9, { bytes: 8 << 20 }), file(P9)] }), 'E', POLICY, quiet)).toBeNull()
    // Pending view deltas wait for the refresh.
    expect(pickMerge(store({ E: [file(P9, { pending: true }), file(P9)] }), 'E', POLICY, quiet)).toBeNull()
  })

  it('one merge takes at most maxMergeRows rows (at least two files) and MAX_MERGE_INPUTS files', () => {
    const rows = [file(P9, { rows: 400 }), file(P9, { rows: 400 }), file(P9, { rows: 400 })]
    expect(pickMerge(store({ E: rows }), 'E', POLICY, quiet)?.files).toEqual(rows.slice(0, 2))
    const many = Array.from({ length: 40 }, () => file(P9, { rows: 1 }))
    expect(pickMerge(store({ E: many }), 'E', POLICY, quiet)?.files.length).toBe(MAX_MERGE_INPUTS)
  })

  it('one step merges every quiet hour while their rows fit maxMergeRows, however many files', () => {
    const hours = Array.from({ length: 12 }, (_, h) => partitionOf(T + h * HOUR))
    const files = hours.flatMap(p => [file(p), file(p)])
    const later = T + 14 * HOUR
    const batch = pickMergeBatch(store({ E: files }), 'E', POLICY, later)
    // 24 inputs in one step: the merges run a few at a time within MAX_MERGE_INPUTS (merge_step.ts).
    expect(batch.map(p => p.partition)).toEqual(hours)
    expect(batch.flatMap(p => p.files).length).toBeGreaterThan(MAX_MERGE_INPUTS)
    // A month of hours with small files each: the step stops at MAX_MERGE_STEP_INPUTS files.
    const month = Array.from({ length: 720 }, (_, h) => partitionOf(T + h * HOUR))
    const spread = month.flatMap(p => [file(p, { rows: 1 }), file(p, { rows: 1 }), file(p, { rows: 1 })])
    const step = pickMergeBatch(store({ E: spread }), 'E', POLICY, T + 800 * HOUR)
    expect(step.flatMap(p => p.files).length).toBeLessThanOrEqual(MAX_MERGE_STEP_INPUTS)
    expect(step.length).toBe(Math.floor(MAX_MERGE_STEP_INPUTS / 3))
    expect(batch[0]).toEqual(pickMerge(store({ E: files }), 'E', POLICY, later))
    // Rows bound the step too: 400 + 400 rows per hour, 1,000 a step, so one hour at a time.
    const heavy = hours.slice(0, 3).flatMap(p => [file(p, { rows: 400 }), file(p, { rows: 400 })])
    expect(pickMergeBatch(store({ E: heavy }), 'E', POLICY, later).map(p => p.partition)).toEqual([hours[0]])
    // A queued recompact is a step of its own.
    const m = store({ E: files })
    m.recompact = [{ collection: 'E', partitions: [hours[5]!], requestedAt: T }]
    expect(pickMergeBatch(m, 'E', POLICY, later)).toEqual([pickMerge(m, 'E', POLICY, later)])
    expect(pickMergeBatch(store({ E: [] }), 'E', POLICY, later)).toEqual([])
  })

  it('a queued recompact comes first, rewrites even one file, skips what it wrote, and says when it is done', () => {
    const a = file(P10)
    const b = file(P10)
    const m = store({ E: [file(P9), file(P9), a, b] })
    m.recompact = [{ collection: 'E', partitions: [P10], requestedAt: T }]
    expect(pickMerge(m, 'E', POLICY, quiet)).toEqual({ partition: P10, files: [a, b], forced: true, last: true })
    m.recompact[0]!.written = [a.key]
    expect(pickMerge(m, 'E', POLICY, quiet)).toEqual({ partition: P10, files: [b], forced: true, last: true })
    // Larger than one step: the first step is not the last.
    const big = store({ E: [file(P10, { rows: 900 }), file(P10, { rows: 900 })] })
    big.recompact = [{ collection: 'E', partitions: [P10], requestedAt: T }]
    const first = [big.collections.E!.files[0]]
    expect(pickMerge(big, 'E', POLICY, quiet)).toMatchObject({ forced: true, last: false, files: first })
    // Without the queue (a view's is a rebuild), the queued partition is not merged either.
    expect(pickMerge(m, 'E', POLICY, quiet, false)).toMatchObject({ partition: P9, forced: false })
  })
})

describe('pickExpired', () => {
  it('takes the partitions that end at or before the cutoff, per collection, and when the rows before are gone', () => {
    const m = store({ E: [file(P9), file(P9), file(P10)], F: [file(P9)] })
    const [e, ...rest] = pickExpired(m, { E: T + HOUR }, [])
    expect(rest).toEqual([])
    expect(e).toEqual({ name: 'E', partitions: [P9], files: m.collections.E!.files.slice(0, 2), until: T + HOUR })
    expect(pickExpired(m, { E: T + HOUR - 1 }, [])).toEqual([])
  })

  it('a view partition of day buckets goes only when its whole day has ended', () => {
    const m = store({ Daily: [file(partitionOf(Date.parse('2024-01-15T00:00:00Z')))] })
    const daily = [view('Daily', 'day')]
    expect(pickExpired(m, { Daily: T + HOUR }, daily)).toEqual([])
    const dayEnd = Date.parse('2024-01-16T00:00:00Z')
    expect(pickExpired(m, { Daily: dayEnd }, daily)[0]?.until).toBe(dayEnd)
  })
})

describe('pickViewRebuild', () => {
  const keepAll = () => -Infinity

  it('rebuilds the first queued partition from the root files that overlap it, replacing the view files there', () => {
    const m = store({ E: [file(P9), file(P10)], V: [file(P9), file(P10)] })
    m.recompact = [
      { collection: 'E', partitions: [P9], requestedAt: T },
      { collection: 'V', partitions: [P10], requestedAt: T },
    ]
    const pick = pickViewRebuild(m, [view('V')], keepAll)
    expect(pick).toMatchObject({ partition: P10, from: T + HOUR, to: T + 2 * HOUR, skip: false })
    expect(pick?.sources).toEqual([m.collections.E!.files[1]])
    expect(pick?.replaced).toEqual([m.collections.V!.files[1]])
    expect(pickViewRebuild(store({}), [view('V')], keepAll)).toBeNull()
  })

  it('skips a partition past the view retention, or one the source expired the view holds, unless redefined', () => {
    const m = store({ E: [], V: [file(P9)] })
    m.collections.E!.expiredBefore = T + HOUR
    m.recompact = [{ collection: 'V', partitions: [P9], requestedAt: T }]
    expect(pickViewRebuild(m, [view('V')], keepAll)).toMatchObject({ skip: true, sources: [] })
    m.recompact[0]!.redefine = true
    expect(pickViewRebuild(m, [view('V')], keepAll)?.skip).toBe(false)
    expect(pickViewRebuild(m, [view('V')], () => T + HOUR)?.skip).toBe(true)
  })
})

describe('holdsWal', () => {
  const policy = { holdWalMs: 4 * 60_000, holdWalSegments: 3, holdWalBytes: 1000, quietAfterMs: 10 * 60_000 }
  const now = T + 30 * 60_000 // inside hour 09
  const seg = (i: number, extra: Partial<SegmentRef> = {}): SegmentRef =>
    ({ key: `wal/E/${i}`, collection: 'E', ingestedAt: now, minTime: now - 1000, maxTime: now, id: `${i}`, size: 100, ...extra })
  const recent = now - 60_000

  it('holds the rows of active hours while the last fold is younger than holdWalMs', () => {
    expect(holdsWal([seg(1), seg(2)], recent, now, policy)).toBe(true)
    // A fold holdWalMs ago or more, or none known (a first pass, or older than the consumed list): fold.
    expect(holdsWal([seg(1)], now - policy.holdWalMs, now, policy)).toBe(false)
    expect(holdsWal([seg(1)], undefined, now, policy)).toBe(false)
    expect(holdsWal([], recent, now, policy)).toBe(false)
    expect(holdsWal([seg(1)], recent, now, { ...policy, holdWalMs: 0 })).toBe(false)
  })

  it('folds at once at holdWalSegments segments, holdWalBytes bytes, or any row of a quiet hour', () => {
    expect(holdsWal([seg(1), seg(2), seg(3)], recent, now, policy)).toBe(false)
    expect(holdsWal([seg(1), seg(2, { size: 900 })], recent, now, policy)).toBe(false)
    expect(holdsWal([seg(1), seg(2, { minTime: T - HOUR })], recent, now, policy)).toBe(false)
  })
})

describe('pickIngestSegments', () => {
  const seg = (i: number, size = 100): SegmentRef =>
    ({ key: `wal/E/${i}`, collection: 'E', ingestedAt: i, minTime: T, maxTime: T, id: `${i}`, size })
  const limits = { maxSegmentsPerBatch: 3, maxBatchBytes: 250 }

  it('takes segments oldest first up to maxSegmentsPerBatch and maxBatchBytes, always at least one', () => {
    const all = [seg(1), seg(2), seg(3), seg(4)]
    expect(pickIngestSegments(all, limits).map(c => c.ref.key)).toEqual(['wal/E/1', 'wal/E/2'])
    expect(pickIngestSegments(all, { ...limits, maxBatchBytes: 1000 }).length).toBe(3)
    expect(pickIngestSegments([seg(1, 900)], limits)).toEqual([{ ref: seg(1, 900) }])
    expect(pickIngestSegments([], limits)).toEqual([])
  })

  it('a segment too large to load is taken for quarantine in place, with its reason, and costs no batch bytes', () => {
    const huge = seg(1, 1 << 30)
    const picked = pickIngestSegments([huge, seg(2), seg(3)], { maxSegmentsPerBatch: 3, maxBatchBytes: 250 })
    const reason = expect.stringMatching(/1073741824 bytes, over the \d+-byte limit/)
    expect(picked[0]).toEqual({ ref: huge, tooLarge: reason })
    expect(picked.slice(1).map(c => c.tooLarge)).toEqual([undefined, undefined])
  })

  it('fitsPartitionBudget: the first segment always fits; later ones only within the budget', () => {
    expect(fitsPartitionBudget(new Set(), ['a', 'b', 'c'], 2, 0)).toBe(true)
    expect(fitsPartitionBudget(new Set(['a', 'b']), ['b', 'a'], 2, 1)).toBe(true)
    expect(fitsPartitionBudget(new Set(['a', 'b']), ['b', 'c'], 2, 1)).toBe(false)
  })
})
