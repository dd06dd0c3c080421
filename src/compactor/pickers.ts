/**
 * What the next step works on, decided from the manifest (and a WAL listing) alone: pure, so each
 * policy is tested without storage (LevelDB's PickCompaction; the steps are its DoCompactionWork).
 */
import type { DataFile, Manifest } from '../manifest/index.js'
import { partitionOf, partitionRange } from '../storage/index.js'
import { type ViewPlan, bucketEnd, bucketStart } from '../mv/index.js'
import { type SegmentRef, MAX_SEGMENT_READ_BYTES, isReadableSegment } from '../wal/index.js'
import type { CompactionOptions } from './options.js'

/**
 * Inputs of one merge at most: memory holds one row group per input (at most rowGroupRows
 * rows and about ROW_GROUP_BYTES), so 16 of them stay inside 128 MB (bounded-work).
 */
export const MAX_MERGE_INPUTS = 16

/** Input files one merge step takes at most, over all its hours (bounded-work: a step's requests). */
export const MAX_MERGE_STEP_INPUTS = 128

/**
 * A merge's output file rolls over to the next at this many bytes (or maxRowsPerFile rows):
 * the file is built in memory before its upload, so it must stay a small part of 128 MB
 * whatever the rows' sizes (a merge of 1 MB rows used to write all of them into one buffer).
 */
export const MERGE_FILE_BYTES = 16 << 20

export type MergePolicy = Pick<CompactionOptions, 'maxMergeRows' | 'maxRowsPerFile' | 'quietAfterMs' | 'maxL0Files'>

/** What to merge next: a partition and which of its files. */
export interface MergePick {
  partition: string
  files: DataFile[]
  /** A queued recompact: rewrite even a single file. */
  forced: boolean
  /** A queued recompact: this step finishes the partition. */
  last: boolean
}

/**
 * Picks the next merge of a collection, if any. Pending recompacts come first (unless `useQueue` is
 * false: a view's queue is rebuilt from its source instead), rewriting the partition's files
 * maxMergeRows at a time. A quiet partition (past its hour plus quietAfterMs) merges its small files
 * (under half of maxMergeRows or maxRowsPerFile), oldest first; an active one merges its small L0
 * files once there are maxL0Files of them (twice that once the hour has ended: its final merge is
 * near). Each step rewrites at most maxMergeRows rows, and a file
 * of half that or more is not merged again, so a busy hour costs bounded steps and each row is
 * rewritten a bounded number of times (tiered, not leveled; bounded-work).
 */
export function pickMerge(
  m: Manifest, collection: string, policy: MergePolicy, now: number, useQueue = true,
): MergePick | null {
  const all = m.collections[collection]?.files ?? []
  const cap = policy.maxMergeRows
  const pending = useQueue && m.recompact.find(r => r.collection === collection && r.partitions.length)
  if (pending) {
    const partition = pending.partitions[0]!
    // A rewrite in several steps skips what it has already written.
    const done = new Set(pending.written ?? [])
    const stale = all.filter(f => f.partition === partition && !f.pending && !done.has(f.key))
    const files = upTo(cap, stale.sort(byMinTime), 1)
    return { partition, files, forced: true, last: files.length === stale.length }
  }
  return mergeCandidates(m, collection, policy, now)[0] ?? null
}

/**
 * The merges of one step: a queued recompact alone (as pickMerge), else the first partitions that
 * have a merge to do, as long as their rows add up to at most maxMergeRows (the step's CPU time) and
 * their inputs to MAX_MERGE_STEP_INPUTS files (its requests: a backfill over a month of hours must
 * not make one step of thousands of GETs that dies the same way every pass). One step and one
 * commit for several hours: on R2 each step costs round trips in a row (inputs, outputs, the
 * manifest), so a backlog spread over a day of hours is merged in one or two steps instead of one
 * per hour. Memory does not grow with the step: its merges run a few at a time, with at most
 * MAX_MERGE_INPUTS inputs open together (merge_step.ts).
 */
export function pickMergeBatch(
  m: Manifest, collection: string, policy: MergePolicy, now: number, useQueue = true,
): MergePick[] {
  const first = pickMerge(m, collection, policy, now, useQueue)
  if (!first || first.forced) return first ? [first] : []
  const picks = [first]
  let rows = sumRows(first.files)
  let files = first.files.length
  for (const next of mergeCandidates(m, collection, policy, now).slice(1)) {
    if (rows + sumRows(next.files) > policy.maxMergeRows || files + next.files.length > MAX_MERGE_STEP_INPUTS) break
    picks.push(next)
    rows += sumRows(next.files)
    files += next.files.length
  }
  return picks
}

function sumRows(files: readonly DataFile[]): number {
  return files.reduce((n, f) => n + f.rows, 0)
}

/** Every partition with a merge to do (not a queued recompact), in partition order. */
function mergeCandidates(m: Manifest, collection: string, policy: MergePolicy, now: number): MergePick[] {
  const all = m.collections[collection]?.files ?? []
  const cap = policy.maxMergeRows
  const out: MergePick[] = []
  // A file this big is done: merging it again would only rewrite it (outputs split at maxRowsPerFile).
  const full = Math.min(cap, policy.maxRowsPerFile) / 2
  // Merge outputs roll over at MERGE_FILE_BYTES: a file of half that is done too, or large rows
  // would be rewritten into the same files pass after pass.
  const fullBytes = MERGE_FILE_BYTES / 2
  // Partitions queued for a rebuild are about to be replaced; merging them first is wasted work.
  const queued = new Set(m.recompact.filter(r => r.collection === collection).flatMap(r => r.partitions))
  // A scheduled view's pending deltas wait for its refresh; they are not merged before.
  const candidates = groupByPartition(all.filter(f => !f.pending && !queued.has(f.partition)))
  for (const [partition, files] of [...candidates].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const end = partitionRange(partition)[1]
    const quiet = end + policy.quietAfterMs <= now
    const small = files.filter(f => f.rows < full && f.bytes < fullBytes && (quiet || f.level === 0)).sort(byMinTime)
    // An hour that has ended gets its final merge within quietAfterMs: merging its L0 files before
    // would write their rows twice in minutes. Late rows that pile up are merged still (reads stay
    // bounded: at most twice maxL0Files L0 files).
    const crowded = end <= now ? 2 * policy.maxL0Files : policy.maxL0Files
    if (small.length >= (quiet ? 2 : crowded)) {
      const pick = upTo(cap, small, 2)
      if (pick.length >= 2) out.push({ partition, files: pick, forced: false, last: true })
    }
  }
  return out
}

function byMinTime(a: DataFile, b: DataFile): number {
  return a.minTime - b.minTime
}

/** The leading files whose rows add up to at most `cap`, but at least `min` of them. */
function upTo(cap: number, files: DataFile[], min: number): DataFile[] {
  let rows = 0
  let n = 0
  while (n < files.length && n < MAX_MERGE_INPUTS && (n < min || rows + files[n]!.rows <= cap)) rows += files[n++]!.rows
  return files.slice(0, n)
}

function groupByPartition(files: DataFile[]): Map<string, DataFile[]> {
  const out = new Map<string, DataFile[]>()
  for (const f of files) {
    let list = out.get(f.partition)
    if (!list) out.set(f.partition, (list = []))
    list.push(f)
  }
  return out
}

/** The root-time range [from, to) whose rows feed one partition of a view. */
export function rootRangeOf(view: ViewPlan, partition: string): [number, number] {
  const [start, end] = partitionRange(partition)
  if (!view.aggregate) return [start, end]
  const unit = view.aggregate.keys.find(k => k.bucket)?.bucket
  if (!unit) return [-Infinity, Infinity]
  // Buckets of an hour or less tile the partition; longer ones start at it and run past it.
  const first = bucketStart(unit, start)
  return [Math.min(first, start), Math.max(bucketEnd(unit, first), end)]
}

/**
 * The view partitions to rebuild for root rows in [from, to): those the root's stored
 * files or the view's own files touch in the range (no listing of empty hours).
 */
export function viewPartitionsFor(view: ViewPlan, m: Manifest, from: number, to: number): string[] {
  const out = new Set<string>()
  const agg = view.aggregate
  const unit = agg?.keys.find(k => k.bucket)?.bucket
  if (agg && !unit) return [partitionOf(0)]
  const touch = (t0: number, t1: number) => t1 > from && t0 < to
  for (const f of m.collections[view.root]?.files ?? []) {
    const [a, b] = partitionRange(f.partition)
    if (!touch(a, b)) continue
    out.add(unit ? partitionOf(bucketStart(unit, a)) : f.partition)
  }
  for (const f of m.collections[view.name]?.files ?? []) {
    const [a, b] = rootRangeOf(view, f.partition)
    if (touch(a, b)) out.add(f.partition)
  }
  return [...out].sort()
}

/** The stored partitions of a collection that overlap [from, to), for a recompact request. */
export function collectionPartitionsFor(m: Manifest, collection: string, from: number, to: number): string[] {
  return [...new Set((m.collections[collection]?.files ?? []).map(f => f.partition))]
    .filter(p => { const [a, b] = partitionRange(p); return b > from && a < to })
    .sort()
}

/** The next queued view partition to rebuild, and what the rebuild reads and replaces. */
export interface ViewRebuildPick {
  view: ViewPlan
  partition: string
  /** The root-time range the partition is built from. */
  from: number
  to: number
  /** Nothing to build: the partition only leaves the queue (see pickViewRebuild). */
  skip: boolean
  /** The root's files overlapping [from, to). */
  sources: DataFile[]
  /** The view's files in the partition, replaced by the rebuild. */
  replaced: DataFile[]
}

/**
 * The first queued partition of a view. It is skipped rather than rebuilt when it lies past the
 * view's own retention (`cutoffOf(view)`), or when the source no longer keeps its rows (expired)
 * while the view still holds files there: a view kept longer than its source keeps what it stored
 * rather than losing it to a partial rebuild — unless its definition changed, as old rows never pass
 * for new ones.
 */
export function pickViewRebuild(
  m: Manifest, views: readonly ViewPlan[], cutoffOf: (name: string) => number,
): ViewRebuildPick | null {
  const entry = m.recompact.find(r => r.partitions.length && views.some(v => v.name === r.collection))
  if (!entry) return null
  const view = views.find(v => v.name === entry.collection)!
  const partition = entry.partitions[0]!
  const [from, to] = rootRangeOf(view, partition)
  const replaced = (m.collections[view.name]?.files ?? []).filter(f => f.partition === partition)
  const sourceGone = from < (m.collections[view.root]?.expiredBefore ?? -Infinity)
  const skip = (sourceGone && replaced.length > 0 && !entry.redefine) || to <= cutoffOf(view.name)
  const sources = skip ? [] : (m.collections[view.root]?.files ?? [])
    .filter(f => { const [a, b] = partitionRange(f.partition); return b > from && a < to })
  return { view, partition, from, to, skip, sources, replaced }
}

/** Partitions of one collection or view wholly before its retention cutoff. */
export interface ExpiredPick {
  name: string
  partitions: string[]
  files: DataFile[]
  /** The end of the latest expired partition: rows before it may be gone. */
  until: number
}

/**
 * What retention drops: per collection or view with a cutoff, the partitions that end at or before
 * it. A view's partition holds whole time buckets, so it ends when its last bucket does.
 */
export function pickExpired(
  m: Manifest, cutoffs: Readonly<Record<string, number>>, views: readonly ViewPlan[],
): ExpiredPick[] {
  const out: ExpiredPick[] = []
  for (const [name, cutoff] of Object.entries(cutoffs)) {
    const view = views.find(v => v.name === name)
    const end = (partition: string) => (view ? rootRangeOf(view, partition) : partitionRange(partition))[1]
    const files = m.collections[name]?.files ?? []
    const ends = new Map(files.map(f => [f.partition, end(f.partition)]))
    const partitions = [...ends].filter(([, e]) => e <= cutoff).map(([p]) => p).sort()
    if (!partitions.length) continue
    const gone = new Set(partitions)
    const until = Math.max(...partitions.map(p => ends.get(p)!))
    out.push({ name, partitions, files: files.filter(f => gone.has(f.partition)), until })
  }
  return out
}

/**
 * The level an ingest step writes one partition's rows at. An hour already quiet gets its final
 * file at once, level 1, so it is written once: with a backlog sorted by time, a batch holds whole
 * hours and the merge step never touches them; it merges only an hour whose rows came in more than
 * one batch (or arrive late), as it merges any quiet hour's small files. An hour still receiving
 * events gets a first-level file (0), merged when there are maxL0Files of them or it goes quiet.
 */
export function ingestLevel(partition: string, now: number, quietAfterMs: number): 0 | 1 {
  return partitionRange(partition)[1] + quietAfterMs <= now ? 1 : 0
}

/**
 * Whether this pass leaves the pending WAL where it is: an LSM flushes its memtable by size, not by
 * the clock, and here the WAL is the memtable. Held while the collection's last fold (`lastFold`,
 * the newest consumed segment's commit time) is younger than holdWalMs, every pending segment holds
 * rows of hours still active only, and there are fewer than holdWalSegments of them, under
 * holdWalBytes. So traffic after a quiet spell is folded at once, and steady traffic makes one L0
 * file per collection every holdWalMs or so rather than one a pass: in the bench's steady state each
 * row's bytes are written 2.6× instead of 3.7×. Queries read held segments like any pending one, at
 * most holdWalSegments more (read-your-writes, bounded-work); acknowledgement is unchanged.
 */
export function holdsWal(
  pending: readonly SegmentRef[], lastFold: number | undefined, now: number,
  policy: Pick<CompactionOptions, 'holdWalMs' | 'holdWalSegments' | 'holdWalBytes' | 'quietAfterMs'>,
): boolean {
  if (!pending.length || lastFold === undefined || lastFold <= now - policy.holdWalMs) return false
  if (pending.length >= policy.holdWalSegments) return false
  let bytes = 0
  for (const s of pending) {
    bytes += s.size
    if (bytes >= policy.holdWalBytes) return false
    // Rows of a quiet hour go straight into its final file: no reason to wait.
    if (ingestLevel(partitionOf(s.minTime), now, policy.quietAfterMs) === 1) return false
  }
  return true
}

/** A segment an ingest batch takes: read it, or (too large to load) quarantine it in place for `tooLarge`. */
export interface IngestCandidate {
  ref: SegmentRef
  tooLarge?: string
}

/**
 * The pending segments one ingest batch takes, oldest first: at most maxSegmentsPerBatch, and
 * readable ones adding up to maxBatchBytes (always at least one), so a batch's memory is bounded
 * (bounded-work). A segment over MAX_SEGMENT_READ_BYTES is never loaded: only a foreign writer
 * makes one, and it is quarantined in place (nothing-dropped). The step may stop earlier, at
 * maxPartitionsPerStep (see fitsPartitionBudget), once it has read what the segments hold.
 */
export function pickIngestSegments(
  pending: readonly SegmentRef[],
  limits: Pick<CompactionOptions, 'maxSegmentsPerBatch' | 'maxBatchBytes'>,
): IngestCandidate[] {
  const out: IngestCandidate[] = []
  let bytes = 0
  for (const ref of pending) {
    if (out.length && (out.length >= limits.maxSegmentsPerBatch || bytes + ref.size > limits.maxBatchBytes)) break
    if (!isReadableSegment(ref)) {
      out.push({ ref, tooLarge: `${ref.size} bytes, over the ${MAX_SEGMENT_READ_BYTES}-byte limit for a WAL segment` })
      continue
    }
    out.push({ ref })
    bytes += ref.size
  }
  return out
}

/**
 * Whether a batch that already writes `partitions` can also take a segment holding `own`: the
 * first segment always fits, later ones only while the batch stays within `max` partitions.
 */
export function fitsPartitionBudget(
  partitions: ReadonlySet<string>, own: readonly string[], max: number, taken: number,
): boolean {
  if (!taken) return true
  let n = partitions.size
  for (const p of new Set(own)) if (!partitions.has(p)) n++
  return n <= max
}
