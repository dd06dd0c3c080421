import { type DataFile, type Manifest, loadManifest } from '../manifest/index.js'
import { type CollectionSchema, type StoredRow, recheckStoredRow } from '../schema/index.js'
import {
  type Bucket, CountingBucket, type OpCounts, PARTITION_MS, emptyOpCounts, segmentIdOfKey,
} from '../storage/index.js'
import {
  type BufferSource, type BufferedBatch, MAX_SEGMENT_PARTITIONS, R2WalTail, type SegmentRef, decodeSegment,
  isReadableSegment, pendingSegments, unflushedBatches,
} from '../wal/index.js'
import { type ReadAhead, type Source, inOrder } from './prefetch.js'
import { type RowDecoder, readFileRowGroups } from './parquet_reader.js'
import type { Pruner } from './pruning.js'
import { MissingObjectError } from './r2_buffer.js'

/** A half-open time range [from, to) in epoch ms; either end may be open. */
export interface TimeRange {
  from?: number
  to?: number
}

/** What a read did: what it could have read, what it did read, and what that cost in R2 operations. */
export interface ScanStats {
  manifestVersion: number
  partitionsConsidered: number
  partitionsRead: number
  filesConsidered: number
  filesRead: number
  rowGroupsConsidered: number
  rowGroupsRead: number
  segmentsConsidered: number
  segmentsRead: number
  /**
   * WAL segments a read passed over: larger than the segment limit, or spread over more hour
   * partitions than a segment may hold (only a foreign writer makes either; compaction
   * quarantines them).
   */
  segmentsSkipped: number
  /**
   * WAL lines a read passed over because they are not rows, or rows the schema no longer takes
   * (compaction quarantines both).
   */
  walLinesSkipped: number
  /** Batches read from group-commit buffer shards: acknowledged, not yet in a stored WAL segment. */
  bufferedBatchesRead: number
  rowsRead: number
  ops: OpCounts
}

export function emptyScanStats(): ScanStats {
  return {
    manifestVersion: 0, partitionsConsidered: 0, partitionsRead: 0, filesConsidered: 0, filesRead: 0,
    rowGroupsConsidered: 0, rowGroupsRead: 0, segmentsConsidered: 0, segmentsRead: 0, segmentsSkipped: 0,
    walLinesSkipped: 0, bufferedBatchesRead: 0, rowsRead: 0, ops: emptyOpCounts(),
  }
}

export interface ScanOptions {
  prefix: string
  now: number
  /** File and row-group pruning from a filter, and the time range it reads. */
  pruner: Pruner
  /** Top-level fields to read; rows come back partial. All fields when absent. */
  columns?: readonly string[]
  /** Storage requests the scan keeps in flight: files and WAL segments read ahead (DB `concurrency`). */
  concurrency: number
  /**
   * A find sorted first by the time field: files and segments are read in that order, and those
   * whose whole time range lies beyond `bound()` (the worst row a sorted find with enough rows
   * keeps) are not read at all.
   */
  order?: { dir: 1 | -1; bound: () => number | undefined }
  /** Applied to the rows of each Parquet row group (an aggregating view's state format). */
  decode?: RowDecoder
  /**
   * The compaction grace period (`compaction.graceMs`): consumed segments outlive the manifest
   * that consumed them by this long, so a plan whose manifest read and WAL listing lie further
   * apart than half of it is made again.
   */
  graceMs: number
  /** A manifest already read for this query (several scans of one SQL query share one version). */
  manifest?: Promise<Manifest>
  /**
   * Where the not-yet-compacted rows come from: by default the collection's own WAL. A view
   * reads its root collection's WAL through `transform`; `widen` maps the time range asked of
   * the view to the range of root rows that can feed it. `false`: files only (scheduled views).
   */
  wal?: WalSource | false
  /**
   * The group-commit buffers (src/ingest) whose unflushed batches the WAL source also reads; absent
   * or false: the bucket's WAL only (a find's `{ buffers: false }`).
   */
  buffers?: BufferSource | false
}

export interface WalSource {
  collection: string
  /** The collection's schema: WAL rows are re-checked against it, as compaction does. */
  schema: CollectionSchema
  transform?: (rows: StoredRow[]) => StoredRow[]
  widen?: (range: TimeRange | undefined) => TimeRange | undefined
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
  /** Buffered batches in the range that neither a listed segment nor the manifest holds. */
  buffered: BufferedBatch[]
}

/**
 * Plans a scan: reads the manifest once, keeps files whose time range (and column
 * statistics) can match, then lists the WAL and keeps segments this manifest has not
 * consumed. Each row lives in exactly one of the two sets for a given manifest version,
 * and consumed segments outlive the manifest that replaced them by a grace period, so a
 * scan never counts a row twice or misses one (invariants read-your-writes, exactly-once).
 */
export async function planScan(
  bucket: Bucket, schema: CollectionSchema, options: ScanOptions, stats: ScanStats = emptyScanStats(),
): Promise<ScanPlan> {
  for (let attempt = 1; ; attempt++) {
    const started = Date.now()
    const plan = await planOnce(bucket, schema, options, stats)
    // Segments consumed by a newer manifest are kept only for the grace period: a plan whose
    // manifest read and WAL listing lie further apart could miss some (invariant exactly-once).
    const stale = Date.now() - started > options.graceMs / 2 && !options.manifest
    // A buffer drops a flushed batch retainMs after its segment is stored: a listing older than half of
    // that when the buffers answered may miss a segment whose batches are gone (invariant exactly-once).
    const buffers = options.buffers
    const staleBuffers = buffers && Date.now() - started > buffers.retainMs / 2
    if ((!stale && !staleBuffers) || attempt >= 3) {
      if (staleBuffers) {
        throw new MissingObjectError('the WAL listing and the buffer shards answered further apart than ' +
          `${buffers.retainMs / 2} ms three times; retry the query, or read without buffers ({ buffers: false })`)
      }
      return plan
    }
  }
}

async function planOnce(
  bucket: Bucket, schema: CollectionSchema, options: ScanOptions, stats: ScanStats,
): Promise<ScanPlan> {
  // The manifest GET and the WAL LIST go out together: a segment listed but consumed by the
  // manifest read is skipped, and one consumed by a later version is still listed (it outlives that
  // version by the grace period), so their order does not matter (invariant exactly-once).
  const source = options.wal === false ? null : options.wal ?? { collection: schema.name, schema }
  const listedAt = Date.now()
  const listing = source ? new R2WalTail(bucket, options.prefix).segments(source.collection) : null
  listing?.catch(() => {}) // awaited below; a manifest failure must not leave it unhandled
  const manifest = options.manifest
    ? await options.manifest
    : (await loadManifest(bucket, options.prefix, options.now)).manifest
  const range = options.pruner.range
  const state = manifest.collections[schema.name] ?? { files: [], consumed: [] }
  const visible = state.files.filter(f => !f.pending)
  const inRange = visible.filter(f => overlaps(f.minTime, f.maxTime, range))
  const files = inRange
    .filter(f => options.pruner.keepFile(f))
    .sort((a, b) => a.minTime - b.minTime || (a.key < b.key ? -1 : 1))
  let listed: SegmentRef[] = []
  let segments: SegmentRef[] = []
  let buffered: BufferedBatch[] = []
  if (source && listing) {
    const consumed = (manifest.collections[source.collection]?.consumed ?? []).map(c => c.key)
    const walRange = source.widen ? source.widen(range) : range
    const all = await listing
    listed = pendingSegments(all, consumed).pending
    segments = listed.filter(s => overlaps(s.minTime, s.maxTime, walRange))
    if (options.buffers) {
      // Asked only once the listing is in: a batch no flush had taken when its shard answered is in
      // no listed segment, and one whose segment is listed or consumed is read from there (exactly-once).
      const batches = await options.buffers.read({ collection: source.collection, ...walRange, listedAt })
      const consumedIds = new Set(consumed.map(k => segmentIdOfKey(k)).filter((id): id is string => id !== null))
      buffered = unflushedBatches(batches, new Set(all.map(s => s.id)), consumedIds)
    }
  }
  stats.manifestVersion = manifest.version
  stats.partitionsConsidered = new Set(visible.map(f => f.partition)).size
  stats.partitionsRead = new Set(files.map(f => f.partition)).size
  stats.filesConsidered = visible.length
  stats.segmentsConsidered = listed.length
  return { manifest, files, segments, buffered }
}

/** Streams every stored row of a collection in the range, compacted or not, each exactly once. */
export async function* scanCollection(
  rawBucket: Bucket, schema: CollectionSchema, options: ScanOptions, stats: ScanStats = emptyScanStats(),
): AsyncGenerator<StoredRow> {
  const bucket = new CountingBucket(rawBucket)
  try {
    const plan = await planScan(bucket, schema, options, stats)
    const tail = new R2WalTail(bucket, options.prefix)
    const range = options.pruner.range
    const tf = schema.timeField
    const inRange = (row: StoredRow) => {
      const t = row[tf] as number
      return (range.from === undefined || t >= range.from) && (range.to === undefined || t < range.to)
    }
    const columns = options.columns && !options.columns.includes(tf) ? [...options.columns, tf] : options.columns
    const pruner = options.pruner
    const walSchema = options.wal ? options.wal.schema : schema
    const transform = options.wal ? options.wal.transform : undefined
    const readAhead: ReadAhead = { concurrency: options.concurrency, maxWeight: READ_AHEAD_BYTES }
    const order = options.order
    if (order) readAhead.rampUp = true
    const beyond = (r: { minTime: number; maxTime: number }) => {
      const b = order?.bound()
      return b !== undefined && (order!.dir === 1 ? r.minTime > b : r.maxTime < b)
    }
    const byOrder = <R extends { minTime: number; maxTime: number }>(list: R[]) =>
      !order ? list : [...list].sort((a, b) => (order.dir === 1 ? a.minTime - b.minTime : b.maxTime - a.maxTime))
    const fileSources = byOrder(plan.files).map((file): Source<StoredRow[]> => ({
      ...(order ? { skip: () => beyond(file) } : {}),
      // A file open ahead holds one decoded row group (at most ROW_GROUP_BYTES of record data).
      weight: Math.min(file.bytes * 8, 2 << 20),
      open: () => {
        stats.filesRead++
        const keep = pruner.rowGroupFilter(file)
        return readFileRowGroups(bucket, schema, file, {
          ...(columns ? { columns } : {}),
          // Sorted: a file's rows are in time order, so its groups are read from the end the find
          // wants first, and a group wholly beyond the bound is skipped like a file.
          keepRowGroup: !order ? keep : group => {
            const t = group(tf)
            return keep(group) && (typeof t.min !== 'number' || typeof t.max !== 'number'
              || !beyond({ minTime: t.min, maxTime: t.max }))
          },
          ...(order?.dir === -1 ? { reverse: true } : {}),
          ...(options.decode ? { decode: options.decode } : {}),
          counters: stats,
        })
      },
    }))
    for await (const group of inOrder(fileSources, readAhead)) {
      for (const row of group) if (inRange(row)) { stats.rowsRead++; yield row }
    }
    const readable = plan.segments.filter(seg => isReadableSegment(seg) || (stats.segmentsSkipped++, false))
    const segmentSources = byOrder(readable).map((seg): Source<StoredRow[]> => ({
      ...(order ? { skip: () => beyond(seg) } : {}),
      weight: seg.size,
      open: () => walRows(tail, seg, walSchema, stats),
    }))
    for await (const rows of inOrder(segmentSources, readAhead)) {
      for (const row of transform ? transform(rows) : rows) if (inRange(row)) { stats.rowsRead++; yield row }
    }
    for (const batch of plan.buffered) {
      stats.bufferedBatchesRead++
      const rows = recheckLines(batch.lines, walSchema, stats)
      for (const row of transform ? transform(rows) : rows) if (inRange(row)) { stats.rowsRead++; yield row }
    }
  } finally {
    Object.assign(stats.ops, bucket.ops)
  }
}

/** WAL lines as rows, each re-checked as compaction does; what is not a row is counted, not fatal. */
function recheckRows(decoded: ReturnType<typeof decodeSegment>, schema: CollectionSchema, stats: ScanStats) {
  stats.walLinesSkipped += decoded.bad.length
  const rows: StoredRow[] = []
  for (const raw of decoded.rows) {
    const n = recheckStoredRow(schema, raw)
    if (n.ok) rows.push(n.row)
    else stats.walLinesSkipped++
  }
  return rows
}

/** A buffered batch's rows, read as the segment its flush writes will be (invariant read-your-writes). */
export function recheckLines(lines: string, schema: CollectionSchema, stats: ScanStats): StoredRow[] {
  return recheckRows(decodeSegment(lines), schema, stats)
}

/** Bytes of files and segments a scan reads ahead of the one it is consuming. */
export const READ_AHEAD_BYTES = 16 << 20

/**
 * One WAL segment's rows, re-checked as compaction does (ingest_step), so a row reads the same
 * before and after: one written under an older schema is read as compaction will store it, or not
 * at all (invariant read-your-writes).
 */
export async function* walRows(
  tail: R2WalTail, seg: SegmentRef, schema: CollectionSchema, stats: ScanStats,
): AsyncGenerator<StoredRow[]> {
  const decoded = await tail.read(seg)
  // Gone means a compaction consumed it after our manifest read and the grace period
  // passed mid-query; the result can no longer be exact, so say so.
  if (decoded === null) {
    throw new MissingObjectError(`WAL segment ${seg.key} vanished during the scan; ` +
      'the query ran longer than the garbage-collection grace period — retry it')
  }
  stats.segmentsRead++
  const rows = recheckRows(decoded, schema, stats)
  // Compaction quarantines a (foreign) segment spread over more hours than a segment may hold;
  // a read leaves it out too, so its rows are not there before compaction and gone after.
  const hourOf = (r: StoredRow) => Math.floor((r[schema.timeField] as number) / PARTITION_MS)
  if (Math.floor(seg.maxTime / PARTITION_MS) - Math.floor(seg.minTime / PARTITION_MS) >= MAX_SEGMENT_PARTITIONS
    && new Set(rows.map(hourOf)).size > MAX_SEGMENT_PARTITIONS) {
    stats.segmentsSkipped++
    return
  }
  yield rows
}
