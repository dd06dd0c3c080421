import {
  type ColumnChunk, type ParquetReadOptions, parquetMetadataAsync, parquetRead, parquetReadObjects, parquetSchema,
} from 'hyparquet'
import type { DataFile, Manifest } from '../../manifest/index.js'
import {
  type CollectionSchema, type FilePromotion, type PromotedColumn, type StoredRow, fromParquetRecord, layoutOf,
  promotedColumnsFor, promotedOf, promotedValue, samePromotion,
} from '../../schema/index.js'
import { type Bucket, CountingBucket } from '../../storage/index.js'
import { R2WalTail, isReadableSegment } from '../../wal/index.js'
import { FOOTER_GUESS, chunkStats, compressorsFor } from '../parquet_reader.js'
import { type Source, inOrder } from '../prefetch.js'
import type { Pruner } from '../pruning.js'
import { openParquet } from '../r2_buffer.js'
import { READ_AHEAD_BYTES, type ScanStats, type WalSource, planScan, recheckLines, walRows } from '../scan.js'
import type { TableColumn } from './table_columns.js'

/** Rows of one Parquet row group or one WAL segment, as one array per requested column (same order). */
export interface ColumnBatch {
  length: number
  columns: ArrayLike<unknown>[]
  /** What the caller's `rowGroup` said for this group (Parquet batches only). */
  plan?: RowGroupPlan
}

/** A row group's min, max and null count of one column, when its statistics have them. */
export interface GroupColumnStats {
  min?: number
  max?: number
  nulls?: number
}

/** Which columns to decode (by position in `columns`), and what else the caller derived from the statistics. */
export interface RowGroupPlan {
  decode: boolean[]
  proven: boolean[]
}

export interface ColumnScanOptions {
  prefix: string
  now: number
  pruner: Pruner
  concurrency: number
  graceMs: number
  manifest?: Promise<Manifest>
  wal?: WalSource | false
  /** The columns to decode; an empty list still yields batches with their row counts (COUNT(*)). */
  columns: readonly TableColumn[]
  /** Decides per row group, from its statistics, which columns to decode (all when absent). */
  rowGroup?: (stats: (column: string) => GroupColumnStats) => RowGroupPlan
}

/**
 * The scan of scanCollection, column by column: every stored row of the plan's files and WAL
 * segments exactly once (one manifest version, its unconsumed segments: invariants
 * read-your-writes, exactly-once), but each Parquet row group comes back as decoded column
 * arrays and no row object is built. WAL rows (re-checked and run through a view's transform,
 * as scanCollection does) are turned into the same arrays, so one code path consumes both.
 * Rows outside the pruner's time range may be included: the caller's WHERE decides.
 */
export async function* scanColumns(
  rawBucket: Bucket, schema: CollectionSchema, options: ColumnScanOptions, stats: ScanStats,
): AsyncGenerator<ColumnBatch> {
  const bucket = new CountingBucket(rawBucket)
  try {
    const { columns: _decoded, ...where } = options
    const plan = await planScan(bucket, schema, where, stats)
    const readAhead = { concurrency: options.concurrency, maxWeight: READ_AHEAD_BYTES }
    const fileSources = plan.files.map((file): Source<ColumnBatch> => ({
      weight: Math.min(file.bytes * 8, 2 << 20),
      open: () => {
        stats.filesRead++
        return fileBatches(bucket, schema, file, options, stats)
      },
    }))
    for await (const batch of inOrder(fileSources, readAhead)) {
      stats.rowsRead += batch.length
      yield batch
    }
    const tail = new R2WalTail(bucket, options.prefix)
    const walSchema = options.wal ? options.wal.schema : schema
    const transform = options.wal ? options.wal.transform : undefined
    const readable = plan.segments.filter(seg => isReadableSegment(seg) || (stats.segmentsSkipped++, false))
    const segmentSources = readable.map((seg): Source<StoredRow[]> => ({
      weight: seg.size, open: () => walRows(tail, seg, walSchema, stats),
    }))
    for await (const rows of inOrder(segmentSources, readAhead)) {
      const batch = rowsToBatch(transform ? transform(rows) : rows, options.columns)
      stats.rowsRead += batch.length
      yield batch
    }
    // Acknowledged but not yet flushed (group commit): read as the segment their flush will write,
    // as the row path does (invariant read-your-writes).
    for (const buffered of plan.buffered) {
      stats.bufferedBatchesRead++
      const rows = recheckLines(buffered.lines, walSchema, stats)
      const batch = rowsToBatch(transform ? transform(rows) : rows, options.columns)
      stats.rowsRead += batch.length
      yield batch
    }
  } finally {
    Object.assign(stats.ops, bucket.ops)
  }
}

/** Timestamps decode to epoch ms numbers, not Dates: no object per cell. */
const PARSERS: ParquetReadOptions['parsers'] = {
  timestampFromMilliseconds: v => Number(v),
  timestampFromMicroseconds: v => Number(v / 1000n),
  timestampFromNanoseconds: v => Number(v / 1_000_000n),
}

/** One batch per row group that its statistics do not rule out, holding only that group's columns. */
async function* fileBatches(
  bucket: Bucket, schema: CollectionSchema, fileRef: Pick<DataFile, 'key' | 'bytes'>, options: ColumnScanOptions,
  stats: ScanStats,
): AsyncGenerator<ColumnBatch> {
  const { columns, pruner } = options
  const buffer = await openParquet(bucket, fileRef.key, fileRef.bytes)
  const metadata = await parquetMetadataAsync(buffer, { initialFetchSize: FOOTER_GUESS })
  const compressors = await compressorsFor(metadata)
  // A file written before a column existed lacks it: its cells are null, as the row path reads them.
  const elements = new Map(parquetSchema(metadata).children.map(c => [c.element.name, c.element.type]))
  const present = new Set(elements.keys())
  const kv = metadata.key_value_metadata
  const layout = layoutOf(kv, fileRef.key)
  const filePromoted = promotedOf(kv, schema, layout, fileRef.key)
  // Promoted columns the file does not hold as the schema promotes them now: computed from the VARIANT.
  const derived = new Set(columns.filter(c => c.promoted && !holds(c.promoted, filePromoted, layout, elements))
    .map(c => c.name))
  const keep = pruner.rowGroupFilter(fileRef as DataFile)
  let start = 0
  for (const group of metadata.row_groups) {
    const rows = Number(group.num_rows)
    const end = start + rows
    stats.rowGroupsConsidered++
    // A derived column's statistics (if the file has a column of that name) are not its values'.
    const none = { min: undefined, max: undefined }
    if (!keep(name => (derived.has(name) ? none : chunkStats(group.columns, name)))) {
      start = end
      continue
    }
    stats.rowGroupsRead++
    const plan = options.rowGroup?.(name => (derived.has(name) ? {} : groupStats(group.columns, name)))
    const wanted = columns.filter((c, i) => !plan || plan.decode[i])
    const names = wanted.filter(c => present.has(c.name) && !derived.has(c.name)).map(c => c.name)
    const decoded = new Map<string, unknown[][]>(names.map(n => [n, []]))
    const derivedCells = new Map<string, unknown[]>()
    const toDerive = wanted.filter(c => derived.has(c.name)).map(c => c.promoted!)
    // A fresh ranged buffer per group lets each group's bytes go once decoded (as readFileRowGroups does).
    const reuse = buffer instanceof ArrayBuffer || (!names.length && !toDerive.length)
    const file = reuse ? buffer : await openParquet(bucket, fileRef.key, fileRef.bytes)
    if (toDerive.length) {
      const range = { file, metadata, rowStart: start, rowEnd: end, ...(compressors ? { compressors } : {}) }
      for (const [name, values] of await fromVariants(schema, range, toDerive, filePromoted, present)) {
        derivedCells.set(name, values)
      }
    }
    if (names.length) {
      await parquetRead({
        file, metadata, rowStart: start, rowEnd: end, columns: names, parsers: PARSERS,
        ...(compressors ? { compressors } : {}),
        onChunk: chunk => {
          decoded.get(chunk.columnName)?.push(chunk.columnData as unknown[])
        },
      })
    }
    yield {
      length: rows,
      columns: columns.map((c, i) => (plan && !plan.decode[i] ? []
        : derived.has(c.name) ? derivedCells.get(c.name)!
        : present.has(c.name) ? cells(decoded.get(c.name)!, rows, c) : nulls(rows))),
      ...(plan ? { plan } : {}),
    }
    start = end
  }
}

const PHYSICAL: Record<FilePromotion['type'], string> = { string: 'BYTE_ARRAY', int: 'INT64', double: 'DOUBLE' }

/**
 * Whether a file's column named as promoted column `p` holds p's values: its type matches and, in
 * layout 2, the file recorded the same path (promotedOf). Not when the promotion was added after the
 * file was written, or re-pointed or retyped since: the row path computes those from the VARIANT.
 */
function holds(
  p: PromotedColumn, filePromoted: readonly FilePromotion[], layout: number,
  elements: ReadonlyMap<string, string | undefined>,
): boolean {
  const mine = layout >= 2 ? filePromoted.find(f => f.name === p.name) : p
  return samePromotion(p, mine) && elements.get(p.name) === PHYSICAL[p.type]
}

/**
 * Promoted columns computed for one row group as the row path computes them: the VARIANT roots
 * read with the file's own promoted values put back (fromParquetRecord), then each path taken.
 */
async function fromVariants(
  schema: CollectionSchema, range: Omit<Parameters<typeof parquetReadObjects>[0], 'columns'>,
  promoted: readonly PromotedColumn[], filePromoted: readonly FilePromotion[], present: ReadonlySet<string>,
): Promise<Map<string, unknown[]>> {
  const roots = [...new Set(promoted.map(p => p.path[0]!))].filter(r => present.has(r))
  const restore = promotedColumnsFor(filePromoted, roots).filter(c => present.has(c) && !roots.includes(c))
  const rows = Number(range.rowEnd) - Number(range.rowStart)
  const records = roots.length ? await parquetReadObjects({ ...range, columns: [...roots, ...restore] }) : []
  const stored = records.map(r => fromParquetRecord(schema, r, roots, filePromoted))
  return new Map(promoted.map(p => [p.name, roots.includes(p.path[0]!)
    ? stored.map(r => promotedValue(r, p.path, p.type)) : nulls(rows)]))
}

/** A column's decoded pages as one array of plain cells: numbers for INT64, null for missing. */
function cells(pages: unknown[][], rows: number, column: TableColumn): ArrayLike<unknown> {
  const only = pages.length === 1 && pages[0]!.length === rows ? pages[0]! : null
  // Typed arrays other than BigInt64 hold no nulls and no BigInts: usable as they are.
  if (only && ArrayBuffer.isView(only) && !(only instanceof BigInt64Array)) return only
  // So is a single page of plain values (strings, numbers, booleans, null): no copy.
  if (only && Array.isArray(only) && only.every(v => v !== undefined && typeof v !== 'bigint')) return only
  const out = new Array<unknown>(rows)
  let i = 0
  for (const page of pages) {
    for (let j = 0; j < page.length && i < rows; j++) {
      const v = page[j]
      out[i++] = v === undefined || v === null ? null : typeof v === 'bigint' ? Number(v) : v
    }
  }
  if (i !== rows) {
    throw new Error(`column ${column.name}: decoded ${i} values for a row group of ${rows} rows`)
  }
  return out
}

/** Exact numeric statistics only (strings may be truncated; they are not used). */
function groupStats(chunks: ColumnChunk[], column: string): GroupColumnStats {
  const chunk = chunks.find(c => c.meta_data?.path_in_schema.length === 1 && c.meta_data.path_in_schema[0] === column)
  const s = chunk?.meta_data?.statistics
  if (!s) return {}
  const num = (v: unknown) => (v instanceof Date ? v.getTime() : typeof v === 'bigint' ? Number(v)
    : typeof v === 'number' ? v : undefined)
  const min = num(s.min_value)
  const max = num(s.max_value)
  return {
    ...(min !== undefined ? { min } : {}), ...(max !== undefined ? { max } : {}),
    ...(s.null_count !== undefined ? { nulls: Number(s.null_count) } : {}),
  }
}

function nulls(rows: number): unknown[] {
  return new Array<unknown>(rows).fill(null)
}

/** WAL rows (timestamps already epoch ms) as column arrays; promoted columns computed as compaction does. */
export function rowsToBatch(rows: readonly StoredRow[], columns: readonly TableColumn[]): ColumnBatch {
  return {
    length: rows.length,
    columns: columns.map(c => {
      const p = c.promoted
      return rows.map(r => {
        const v = p ? promotedValue(r, p.path, p.type) : r[c.name]
        return v === undefined ? null : v
      })
    }),
  }
}
