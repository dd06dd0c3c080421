import type { RowGroup, SchemaElement, Statistics } from 'hyparquet'
import { ByteWriter, type ColumnSource, ParquetWriter, schemaFromColumnData } from 'hyparquet-writer'
import { compareSame, compareStrings, valuesAt } from '../expr/index.js'
import type { ColumnStats, DataFile } from '../manifest/index.js'
import {
  type CollectionSchema, ColumnBuilder, LAYOUT_KEY, PARQUET_LAYOUT, type StoredRow, parquetColumns, promotedMetadata,
  promotionDigest, statColumns,
} from '../schema/index.js'
import { type Bucket, dataFileKey, mapLimit } from '../storage/index.js'
import { FILES_IN_MEMORY } from './concurrency.js'
import { ROW_GROUP_BYTES, RowMeter } from './row_bytes.js'
import { STAT_STRING_UNITS, lowerBound, upperBound } from './string_bounds.js'
import { VariantEncoder } from './variant_encoder.js'

/** A column chunk's statistics as hyparquet-writer writes them (its ChunkStatistics). */
type ChunkStatistics = Statistics & { nan_count?: bigint }
type MinMax = Statistics['min_value']

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
  const columns = new ColumnBuilder(schema)
  const meter = new RowMeter(schema.fields)
  const writer = new ByteWriter()
  let pq: ParquetWriter | undefined
  let elements: SchemaElement[] | undefined
  let group: StoredRow[] = []
  let groupBytes = 0
  const variants = new VariantEncoder()
  let variantGroups: SchemaElement[] = []
  const flush = async () => {
    const columnData = columns.take()
    // The typed columns' Parquet statistics are computed here (groupStatistics), not by the writer.
    const chunkStats = groupStatistics(columnData)
    stats.addGroup(columnData, chunkStats, group)
    for (const c of columnData) c.statistics = false
    const keys = meter.take()
    if (!pq) {
      elements = schemaFromColumnData({ columnData })
      // The VARIANT columns arrive encoded (VariantEncoder): the writer sees plain groups of two
      // binary columns, and the footer says VARIANT again before finish().
      variantGroups = elements.filter(e => e.logical_type?.type === 'VARIANT')
      for (const e of variantGroups) delete e.logical_type
    }
    variants.reset()
    for (const [i, c] of columnData.entries()) {
      if (c.type === 'VARIANT') c.data = variants.encodeColumn(c.data as unknown[], columns.masks[i], keys[i])
    }
    // Parquet's own row-group statistics truncate long strings too (min a prefix, max rounded up).
    pq ??= new ParquetWriter({
      writer,
      schema: elements!,
      statisticsTruncateLength: STAT_STRING_UNITS,
      kvMetadata: [
        { key: 'parquedb.collection', value: schema.name },
        { key: 'parquedb.partition', value: target.partition },
        { key: LAYOUT_KEY, value: String(PARQUET_LAYOUT) },
        // Which paths this file took out of their VARIANT: reads put them back from this, not the schema.
        promotedMetadata(schema),
        ...(target.metadata ?? []),
      ],
      createdBy: 'parquedb',
    })
    await pq.write({ columnData, rowGroupSize: group.length })
    const written = pq.row_groups.at(-1)!
    for (const chunk of written.columns) {
      const path = chunk.meta_data?.path_in_schema
      const s = path?.length === 1 ? chunkStats.get(path[0]!) : undefined
      if (s) chunk.meta_data!.statistics = s
    }
    boundGroupStats(written)
    group = []
    groupBytes = 0
  }
  /** Adds a row to the group; true when the group is full. */
  const take = (row: StoredRow): boolean => {
    // A promoted value counts twice, as it did when layout 1 stored it twice: reading a group back
    // decodes it from its column apart from its variant, and the writer keeps an encoded copy. Groups
    // stay the size whose memory was measured (row_group_bytes.test.ts: 8 inputs under a 32 MB heap).
    groupBytes += meter.measure(row) + columns.add(row)
    group.push(row)
    return group.length >= target.rowGroupRows || groupBytes >= ROW_GROUP_BYTES
  }
  // Past maxFileBytes the caller continues the same source in its next file.
  const fileFull = () => target.maxFileBytes !== undefined && writer.offset >= target.maxFileBytes
  if (Array.isArray(rows)) {
    // No await per row: `for await` over an array costs a promise per row.
    for (const row of rows as StoredRow[]) if (take(row)) { await flush(); if (fileFull()) break }
  } else {
    for await (const row of rows) if (take(row)) { await flush(); if (fileFull()) break }
  }
  if (group.length) await flush()
  if (!pq) return null
  for (const e of variantGroups) e.logical_type = { type: 'VARIANT' }
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
    ...(schema.promoted.length ? { promoted: promotionDigest(schema.promoted) } : {}),
  }
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
  private cols: { name: string; index: number; time: boolean; promoted?: string[]; stats: ColumnStats }[]
  private misfits = new Map<string, number>()

  constructor(private readonly schema: CollectionSchema) {
    const names = parquetColumns(schema).map(c => c.name)
    this.cols = statColumns(schema).map(c => {
      const promoted = schema.promoted.find(p => p.name === c.name)?.path
      return {
        name: c.name, index: names.indexOf(c.name), time: c.name === schema.timeField,
        ...(promoted ? { promoted } : {}), stats: { min: null, max: null, nulls: 0 },
      }
    })
  }

  /**
   * Takes one row group as built for the writer (`data`, ColumnBuilder's columns: timestamps as
   * epoch ms, INT64 as BigInt, promoted columns filled), its Parquet statistics (groupStatistics)
   * and its rows: the file's min/max and null counts fold the groups', misfits look at the rows.
   */
  addGroup(
    data: readonly ColumnSource[], chunks: ReadonlyMap<string, ChunkStatistics>, rows: readonly StoredRow[],
  ): void {
    this.rows += rows.length
    for (const c of this.cols) {
      const g = chunks.get(c.name)!
      const s = c.stats
      s.nulls += Number(g.null_count)
      if (g.min_value !== undefined) {
        const min = typeof g.min_value === 'bigint' ? Number(g.min_value) : g.min_value as string | number
        const max = typeof g.max_value === 'bigint' ? Number(g.max_value) : g.max_value as string | number
        if (s.min === null || (compareSame(min, s.min) ?? 0) < 0) s.min = min === 0 ? 0 : min
        if (s.max === null || (compareSame(max, s.max) ?? 0) > 0) s.max = max
        if (c.time) {
          if ((min as number) < this.minTime) this.minTime = min as number
          if ((max as number) > this.maxTime) this.maxTime = max as number
        }
      }
      if (c.promoted) this.addMisfits(c.name, c.promoted, data[c.index]!.data as unknown[], rows)
    }
  }

  /**
   * Counts rows whose nested value the promoted column does not hold: another type (a string
   * where an int is promoted), an array at the leaf, or values reached through an array on
   * the path (`event.request` being `[{ url }]`), which a filter matches MongoDB-style.
   * Pruning does not trust a column in a file where this is not 0.
   */
  private addMisfits(
    column: string, path: readonly string[], values: readonly unknown[], rows: readonly StoredRow[],
  ): void {
    for (let i = 0; i < values.length; i++) {
      // A value in the column came by plain property steps, so it is the only one a filter sees.
      if (values[i] !== null) continue
      // Most rows have nothing under the root (no request, no exceptions): nothing to look for.
      const root = rows[i]![path[0]!]
      const empty = root === null || typeof root !== 'object' || (Array.isArray(root) && !root.length)
      if (empty && path.length > 1) continue
      if (!valuesAt(rows[i]!, path).some(v => v !== null && v !== undefined)) continue
      this.misfits.set(column, (this.misfits.get(column) ?? 0) + 1)
    }
  }

  /**
   * The manifest's statistics, strings truncated to STAT_STRING_UNITS. A column whose max
   * has no short upper bound is left out: pruning keeps a file without statistics.
   */
  result(): Record<string, ColumnStats> {
    const out: Record<string, ColumnStats> = {}
    for (const c of this.cols) {
      const { min, max } = c.stats
      const upper = typeof max === 'string' ? upperBound(max) : max
      if (upper === null && max !== null) continue
      const s: ColumnStats = { ...c.stats, min: typeof min === 'string' ? lowerBound(min) : min, max: upper }
      out[c.name] = c.promoted ? { ...s, misfits: this.misfits.get(c.name) ?? 0 } : s
    }
    return out
  }
}

/**
 * The Parquet statistics of a row group's typed columns, as hyparquet-writer computes them (so the
 * footer is the same): min and max in its order (numbers and BigInt by value, strings by code point,
 * false before true; a min of 0 is -0), nulls counted, and NaNs for DOUBLE (counted, not bounds).
 * Computed here with a plain loop: the writer's own iterated with an allocation per value, and the
 * file's statistics (StatsCollector) fold these instead of looking at every value again.
 */
function groupStatistics(columns: readonly ColumnSource[]): Map<string, ChunkStatistics> {
  const out = new Map<string, ChunkStatistics>()
  for (const c of columns) {
    if (c.type === 'VARIANT') continue
    const values = c.data as readonly unknown[]
    let min: unknown
    let max: unknown
    let nulls = 0
    let nans = 0
    const strings = c.type === 'STRING'
    for (let i = 0; i < values.length; i++) {
      const v = values[i]
      if (v === null || v === undefined) { nulls++; continue }
      if (v !== v) { nans++; continue } // NaN
      if (min === undefined) { min = max = v; continue }
      if (strings ? compareStrings(v as string, min as string) < 0 : (v as number) < (min as number)) min = v
      if (strings ? compareStrings(v as string, max as string) > 0 : (v as number) > (max as number)) max = v
    }
    if (min === 0) min = -0
    if (max === 0) max = 0
    const s: ChunkStatistics = { min_value: min as MinMax, max_value: max as MinMax, null_count: BigInt(nulls) }
    if (c.type === 'DOUBLE') s.nan_count = BigInt(nans)
    out.set(c.name, s)
  }
  return out
}
