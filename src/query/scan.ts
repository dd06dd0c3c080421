import { type DataFile, type Manifest, loadManifest } from '../manifest/index.js'
import type { CollectionSchema, StoredRow } from '../schema/index.js'
import { type Bucket, CountingBucket, type OpCounts, emptyOpCounts } from '../storage/index.js'
import { R2WalTail, type SegmentRef, type WalTail } from '../wal/index.js'
import { readFileRowGroups } from './parquet_reader.js'

/** A half-open time range [from, to) in epoch ms; either end may be open. */
export interface TimeRange {
  from?: number
  to?: number
}

export interface ScanStats {
  manifestVersion: number
  filesConsidered: number
  filesRead: number
  segmentsConsidered: number
  segmentsRead: number
  rowsRead: number
  ops: OpCounts
}

export interface ScanOptions {
  prefix: string
  now: number
  range?: TimeRange
  /** Override the WAL reader (a buffer of unflushed events can add its own). */
  walTail?: (bucket: Bucket) => WalTail
}

function overlaps(min: number, max: number, range: TimeRange | undefined): boolean {
  if (!range) return true
  if (range.from !== undefined && max < range.from) return false
  if (range.to !== undefined && min >= range.to) return false
  return true
}

/** The files and WAL segments one scan will read, fixed against one manifest version. */
export interface ScanPlan {
  manifest: Manifest
  files: DataFile[]
  segments: SegmentRef[]
}

/**
 * Plans a scan: reads the manifest once, keeps files whose time range overlaps,
 * then lists the WAL and keeps segments this manifest has not consumed. Each row
 * lives in exactly one of the two sets for a given manifest version, and consumed
 * segments outlive the manifest that replaced them by a grace period, so a scan
 * never counts a row twice or misses one.
 */
export async function planScan(bucket: Bucket, schema: CollectionSchema, options: ScanOptions): Promise<ScanPlan> {
  const { manifest } = await loadManifest(bucket, options.prefix, options.now)
  const state = manifest.collections[schema.name] ?? { files: [], consumed: [] }
  const files = state.files.filter(f => overlaps(f.minTime, f.maxTime, options.range)).sort((a, b) => a.minTime - b.minTime)
  const consumed = new Set(state.consumed.map(c => c.key))
  const tail = options.walTail?.(bucket) ?? new R2WalTail(bucket, options.prefix)
  const segments = (await tail.segments(schema.name)).filter(s => !consumed.has(s.key) && overlaps(s.minTime, s.maxTime, options.range))
  return { manifest, files, segments }
}

/** Streams every stored row of a collection in the range, compacted or not, each exactly once. */
export async function* scanCollection(rawBucket: Bucket, schema: CollectionSchema, options: ScanOptions, stats?: ScanStats): AsyncGenerator<StoredRow> {
  const bucket = new CountingBucket(rawBucket)
  const plan = await planScan(bucket, schema, options)
  const tail = options.walTail?.(bucket) ?? new R2WalTail(bucket, options.prefix)
  const st: ScanStats = stats ?? emptyScanStats()
  st.manifestVersion = plan.manifest.version
  st.filesConsidered = plan.manifest.collections[schema.name]?.files.length ?? 0
  st.segmentsConsidered = plan.segments.length
  const inRange = (row: StoredRow) => {
    const t = row[schema.timeField] as number
    return (options.range?.from === undefined || t >= options.range.from) && (options.range?.to === undefined || t < options.range.to)
  }
  try {
    for (const file of plan.files) {
      st.filesRead++
      for await (const group of readFileRowGroups(bucket, schema, file)) {
        for (const row of group) if (inRange(row)) { st.rowsRead++; yield row }
      }
    }
    for (const seg of plan.segments) {
      const rows = await tail.read(seg)
      // Gone means a compaction consumed it after our manifest read and the grace period
      // passed mid-query; the scan cannot be made exact any more, so say so.
      if (rows === null) throw new Error(`WAL segment ${seg.key} vanished during the scan; the query ran longer than the garbage-collection grace period — retry it`)
      st.segmentsRead++
      for (const row of rows) if (inRange(row)) { st.rowsRead++; yield row }
    }
  } finally {
    Object.assign(st.ops, bucket.ops)
  }
}

export function emptyScanStats(): ScanStats {
  return { manifestVersion: 0, filesConsidered: 0, filesRead: 0, segmentsConsidered: 0, segmentsRead: 0, rowsRead: 0, ops: emptyOpCounts() }
}
