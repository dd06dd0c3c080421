import type { RowGroup } from 'hyparquet'
import { ByteWriter, type ColumnSource, ParquetWriter, schemaFromColumnData } from 'hyparquet-writer'
import { compareSame, valuesAt } from '../expr/index.js'
import type { ColumnStats, DataFile } from '../manifest/index.js'
import {
  type CollectionSchema, LAYOUT_KEY, PARQUET_LAYOUT, type StoredRow, parquetColumns, statColumns, toParquetRecord,
} from '../schema/index.js'
import { type Bucket, dataFileKey, mapLimit } from '../storage/index.js'
import { FILES_IN_MEMORY } from './concurrency.js'
import { ROW_GROUP_BYTES, estimateBytes } from './row_bytes.js'
import { STAT_STRING_UNITS, lowerBound, upperBound } from './string_bounds.js'

export interface FileTarget {
  prefix: string
  collection: string
  partition: string
  level: 0 | 1
  createdAt: number
  rowGroupRows: number
  /**
   * Stop taking rows once the file has this many bytes (checked after each row group), so a
   * merge of large rows never builds one huge file in memory. The caller continues the same
   * source in the next file (see `take`); without it every row is written.
   */
  maxFileBytes?: number
  /** More key/value metadata for the file (an aggregating view's state format version). */
  metadata?: { key: string; value: string }[]
}

/**
 * Writes rows (already sorted by time) to one Parquet file and uploads it, gathering the
 * per-file statistics the manifest keeps. A row group is cut at `rowGroupRows` rows or
 * ROW_GROUP_BYTES estimated bytes, whichever comes first, so memory holds one bounded group
 * of the source however large its rows. Returns null for an empty source.
 */
export async function writeDataFile(
  bucket: Bucket, schema: CollectionSchema, rows: AsyncIterable<StoredRow> | Iterable<StoredRow>, target: FileTarget,
): Promise<DataFile | null> {
  const stats = new StatsCollector(schema)
  const columns = parquetColumns(schema)
  const writer = new ByteWriter()
  let pq: ParquetWriter | undefined
  let group: Record<string, unknown>[] = []
  let groupBytes = 0
  const flush = async () => {
    const columnData: ColumnSource[] = columns.map(c => ({ ...c, data: group.map(r => r[c.name]) }))
    // Parquet's own row-group statistics truncate long strings too (min a prefix, max rounded up).
    pq ??= new ParquetWriter({
      writer,
      schema: schemaFromColumnData({ columnData }),
      statisticsTruncateLength: STAT_STRING_UNITS,
      kvMetadata: [
        { key: 'parquedb.collection', value: schema.name },
        { key: 'parquedb.partition', value: target.partition },
        { key: LAYOUT_KEY, value: String(PARQUET_LAYOUT) },
        ...(target.metadata ?? []),
      ],
      createdBy: 'parquedb',
    })
    await pq.write({ columnData, rowGroupSize: group.length })
    boundGroupStats(pq.row_groups.at(-1)!)
    group = []
    groupBytes = 0
  }
  for await (const row of rows) {
    const rec = toParquetRecord(schema, row)
    stats.add(rec)
    stats.addMisfits(row, rec)
    group.push(rec)
    // A promoted value counts twice, as it did when layout 1 stored it twice: reading a group back
    // decodes it from its column apart from its variant, and the writer keeps an encoded copy. Groups
    // stay the size whose memory was measured (row_group_bytes.test.ts: 8 inputs under a 32 MB heap).
    groupBytes += estimateBytes(rec) + promotedBytes(schema, rec)
    if (group.length >= target.rowGroupRows || groupBytes >= ROW_GROUP_BYTES) {
      await flush()
      if (target.maxFileBytes !== undefined && writer.offset >= target.maxFileBytes) break
    }
  }
  if (group.length) await flush()
  if (!pq) return null
  await pq.finish()
  const key = dataFileKey(target)
  const bytes = writer.getBytes()
  await bucket.put(key, bytes)
  return {
    key,
    partition: target.partition,
    level: target.level,
    rows: stats.rows,
    bytes: bytes.byteLength,
    minTime: stats.minTime,
    maxTime: stats.maxTime,
    createdAt: target.createdAt,
    stats: stats.result(),
  }
}

function promotedBytes(schema: CollectionSchema, rec: Record<string, unknown>): number {
  let n = 0
  for (const p of schema.promoted) {
    const v = rec[p.name]
    n += typeof v === 'string' ? v.length : v === null ? 0 : 8
  }
  return n
}

/** One data file a step writes: rows already sorted by time, for `name` (a collection or view). */
export interface FileJob {
  name: string
  schema: CollectionSchema
  rows: StoredRow[]
  target: FileTarget
  /** A scheduled view's delta: stored, and recorded pending until its refresh. */
  pending?: boolean
}

/**
 * Writes a step's files, at most `min(limit, FILES_IN_MEMORY)` built or uploading at once: each is
 * whole in memory until its PUT is answered (bounded-work), and the uploads overlap. Results in the
 * order of `jobs` (null for an empty one). A failure is thrown once the files in flight have
 * settled; what was uploaded is referenced by nothing, an orphan for the sweep (crash-safe).
 */
export async function writeFiles(
  bucket: Bucket, jobs: readonly FileJob[], limit: number,
): Promise<(DataFile | null)[]> {
  return mapLimit(jobs, Math.min(limit, FILES_IN_MEMORY), async job => {
    const file = await writeDataFile(bucket, job.schema, job.rows, job.target)
    return file && job.pending ? { ...file, pending: true } : file
  })
}

/**
 * hyparquet-writer keeps each row group's min/max values whole until it writes the footer, so
 * a file of 1 MB strings held two of them per group to the end: truncate them as soon as the
 * group is written (marked inexact, as the writer marks its own truncation). Without a short
 * upper bound the group keeps no min/max, and readers keep it.
 */
function boundGroupStats(group: RowGroup): void {
  for (const chunk of group.columns) {
    const s = chunk.meta_data?.statistics
    if (!s) continue
    if (typeof s.min_value === 'string' && s.min_value.length > STAT_STRING_UNITS) {
      s.min_value = lowerBound(s.min_value)
      s.is_min_value_exact = false
    }
    if (typeof s.max_value === 'string' && s.max_value.length > STAT_STRING_UNITS) {
      const upper = upperBound(s.max_value)
      if (upper === null) {
        delete s.min_value
        delete s.max_value
        delete s.is_min_value_exact
      } else {
        s.max_value = upper
        s.is_max_value_exact = false
      }
    }
  }
}

class StatsCollector {
  rows = 0
  minTime = Infinity
  maxTime = -Infinity
  private cols: { name: string; stats: ColumnStats }[]
  private misfits = new Map<string, number>()

  constructor(private readonly schema: CollectionSchema) {
    this.cols = statColumns(schema).map(c => ({ name: c.name, stats: { min: null, max: null, nulls: 0 } }))
  }

  /** Takes the Parquet record (timestamps as Dates, promoted columns filled). */
  add(rec: Record<string, unknown>): void {
    this.rows++
    const t = (rec[this.schema.timeField] as Date).getTime()
    if (t < this.minTime) this.minTime = t
    if (t > this.maxTime) this.maxTime = t
    for (const c of this.cols) {
      let v = rec[c.name]
      if (v instanceof Date) v = v.getTime()
      else if (typeof v === 'bigint') v = Number(v)
      if (v === null || v === undefined || (typeof v !== 'string' && typeof v !== 'number')) {
        c.stats.nulls++
        continue
      }
      if (c.stats.min === null || (compareSame(v, c.stats.min) ?? 0) < 0) c.stats.min = v
      if (c.stats.max === null || (compareSame(v, c.stats.max) ?? 0) > 0) c.stats.max = v
    }
  }

  /**
   * Counts rows whose nested value the promoted column does not hold: another type (a string
   * where an int is promoted), an array at the leaf, or values reached through an array on
   * the path (`event.request` being `[{ url }]`), which a filter matches MongoDB-style.
   * Pruning does not trust a column in a file where this is not 0.
   */
  addMisfits(row: StoredRow, rec: Record<string, unknown>): void {
    for (const p of this.schema.promoted) {
      // A value in the column came by plain property steps, so it is the only one a filter sees.
      if (rec[p.name] !== null) continue
      if (!valuesAt(row, p.path).some(v => v !== null && v !== undefined)) continue
      this.misfits.set(p.name, (this.misfits.get(p.name) ?? 0) + 1)
    }
  }

  /**
   * The manifest's statistics, strings truncated to STAT_STRING_UNITS. A column whose max
   * has no short upper bound is left out: pruning keeps a file without statistics.
   */
  result(): Record<string, ColumnStats> {
    const promoted = new Set(this.schema.promoted.map(p => p.name))
    const out: Record<string, ColumnStats> = {}
    for (const c of this.cols) {
      const { min, max } = c.stats
      const upper = typeof max === 'string' ? upperBound(max) : max
      if (upper === null && max !== null) continue
      const s: ColumnStats = { ...c.stats, min: typeof min === 'string' ? lowerBound(min) : min, max: upper }
      out[c.name] = promoted.has(c.name) ? { ...s, misfits: this.misfits.get(c.name) ?? 0 } : s
    }
    return out
  }
}
